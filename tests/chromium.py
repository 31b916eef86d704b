"""Debian's Chromium driven by Playwright: the browser harness every browser test shares.

Fixtures, registered once for the whole suite by ``pytest_plugins`` in ``tests/conftest.py``
(importing them into two folders' conftests made two session-wide browsers, and Playwright's
sync API refuses a second one while the first runs):

- ``chromium`` (session): the path of Debian's Chromium, ``/usr/bin/chromium``, installed with
  ``apt-get install -y chromium`` when it is missing (the tests run as root, in CI too). Never
  ``playwright install``: browsers come from Debian, not from Playwright's downloads.
- ``browser`` (session): Playwright's Chromium launched from that executable, headless.
- ``page`` (function): a fresh context and page per test, closed afterwards.

Tests that use them are marked ``browser`` (and ``slow``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
_APT_TIMEOUT_S = 900


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
