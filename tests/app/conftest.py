"""Fixtures of the web app's browser tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def playwright():
    """Playwright, driving Debian's Chromium (see fixtures.app_harness.launch_chromium)."""
    api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")
    with api.sync_playwright() as running:
        yield running
