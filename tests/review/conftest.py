"""Fixtures for the review app's tests.

The browser harness (Debian's Chromium through Playwright, the app served by uvicorn on a
loopback port) lives in :mod:`tests.review.conftest_browser`; its ``live_server`` is imported
here. ``chromium``, ``browser`` and ``page`` come from :mod:`tests.chromium`, registered once
for the whole suite by ``tests/conftest.py``.
"""

from __future__ import annotations

from tests.review.conftest_browser import live_server

__all__ = ["live_server"]
