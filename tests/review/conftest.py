"""Fixtures for the review app's tests.

The browser harness (Debian's Chromium through Playwright, the app served by uvicorn on a
loopback port) lives in :mod:`tests.review.conftest_browser`; its fixtures are imported here.
"""

from __future__ import annotations

from tests.review.conftest_browser import browser, chromium, live_server, page

__all__ = ["browser", "chromium", "live_server", "page"]
