"""Browser-test harness: Debian's Chromium driven by Playwright against the app on loopback.

Fixtures (imported by ``tests/review/conftest.py``); ``chromium``, ``browser`` and ``page``
come from :mod:`tests.chromium`, registered once for the whole suite:
- ``live_server`` (session): the review app from ``create_app()`` served by uvicorn on a free
  127.0.0.1 port in a background thread; yields its base URL. Tests that need an app of their
  own (a workspace, a database) use :func:`serve` directly.

Tests that use them are marked ``browser`` (and ``slow``).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
import uvicorn

from risk_model.review.app import create_app
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, ensure_chromium

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "ensure_chromium", "live_server", "serve"]

_START_TIMEOUT_S = 20.0


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
def live_server() -> Iterator[str]:
    """The review app on a loopback port; yields its base URL."""
    with serve(create_app()) as url:
        yield url
