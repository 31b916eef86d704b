"""Browser-test harness: Debian's Chromium driven by Playwright against the app on loopback.

Fixtures (imported by ``tests/review/conftest.py``):

- ``chromium`` (session): the path of Debian's Chromium, ``/usr/bin/chromium``, installed with
  ``apt-get install -y chromium`` when it is missing (the tests run as root, in CI too). Never
  ``playwright install``: browsers come from Debian, not from Playwright's downloads.
- ``live_server`` (session): the review app from ``create_app()`` served by uvicorn on a free
  127.0.0.1 port in a background thread; yields its base URL. Tests that need an app of their
  own (a workspace, a database) use :func:`serve` directly.
- ``browser`` (session): Playwright's Chromium launched from that executable, headless.
- ``page`` (function): a fresh context and page per test, closed afterwards.

Tests that use them are marked ``browser`` (and ``slow``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn

from risk_model.review.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from starlette.types import ASGIApp

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
_APT_TIMEOUT_S = 900
_START_TIMEOUT_S = 20.0


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        ["apt-get", "-q", *args], env=env, capture_output=True, text=True,
        timeout=_APT_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
    )


def ensure_chromium() -> Path:
    """Debian's Chromium, installed with apt-get if it is not there yet.

    Returns
    -------
    pathlib.Path
        ``/usr/bin/chromium``.

    Raises
    ------
    RuntimeError
        If it is missing and cannot be installed (not root, no apt-get, or apt-get failed).
    """
    if CHROMIUM.exists():
        return CHROMIUM
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise RuntimeError(
            f"{CHROMIUM} is missing and only root with apt-get can install it here: "
            "run `apt-get install -y chromium` (never `playwright install`)"
        )
    install = _apt_get("install", "-y", "--no-install-recommends", "chromium")
    if install.returncode != 0:  # a stale or missing package list: refresh it once and retry
        _apt_get("update")
        install = _apt_get("install", "-y", "--no-install-recommends", "chromium")
    if install.returncode != 0 or not CHROMIUM.exists():
        raise RuntimeError(
            f"apt-get install chromium failed ({install.returncode}): {install.stderr[-2000:]}"
        )
    return CHROMIUM


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a background thread.

    Parameters
    ----------
    app : ASGI application
        Usually ``create_app(...)``.

    Yields
    ------
    str
        The base URL, ``http://127.0.0.1:<port>``; the server stops when the block ends.
    """
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the review app did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium (installed on first use)."""
    started = time.monotonic()
    try:
        path = ensure_chromium()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    took = time.monotonic() - started
    if took > 1:
        print(f"installed Debian's chromium in {took:.0f} s")
    return path


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """The review app on a loopback port; yields its base URL."""
    with serve(create_app()) as url:
        yield url


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Browser]:
    """Playwright's Chromium: Debian's executable, headless, no sandbox (root), no GPU."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page for one test."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()
