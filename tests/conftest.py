"""Shared pytest hooks and fixtures. pytest puts this folder (tests/) on sys.path, so every test imports
its helpers as ``from fixtures.x import ...``."""

from __future__ import annotations

import contextlib
import os

import pytest

# The deployer's confirmation of the notice (classmood consent) is given for the whole test suite, in
# the environment every command and server started by a test inherits; tests/project/test_consent.py
# and the app's consent test take it away to check that classmood asks for it.
os.environ.setdefault("CLASSMOOD_CONFIRMED_BY", "classmood test suite")

from classmood.classify import EmotionClassifier
from classmood.detect import YuNetDetector

SERVER_LOG_TAIL_CHARS = 8000
PAGE_TEXT_CHARS = 3000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that used the web app's ``server`` fixture reports the tail of that server's log
    (and the browser console since the last Start), one with a ``page`` the text the page showed, so
    a failure seen only in CI can be understood from CI's output alone."""
    report = yield
    server = getattr(item, "funcargs", {}).get("server")
    log = getattr(server, "log", None)
    if report.failed and log is not None and log.exists():
        report.sections.append(("classmood app server log (tail)", log.read_text(errors="replace")[-SERVER_LOG_TAIL_CHARS:]))
        from fixtures.app_harness import BROWSER_CONSOLE

        if BROWSER_CONSOLE:
            report.sections.append(("browser console since the last Start (tail)", "\n".join(list(BROWSER_CONSOLE)[-60:])))
    page = getattr(item, "funcargs", {}).get("page")
    if report.failed and report.when == "call" and page is not None:
        with contextlib.suppress(Exception):  # the page may be gone; the failure itself is what counts
            report.sections.append(("what the page showed (text)", page.inner_text("body", timeout=5_000)[-PAGE_TEXT_CHARS:]))
    return report


@pytest.fixture(scope="module")
def classifier():
    """The default bundled emotion model (ONNX), loaded once per test module."""
    return EmotionClassifier("realtime")


@pytest.fixture(scope="module")
def detector():
    """The default face detector (YuNet on ONNX Runtime), loaded once per test module."""
    return YuNetDetector()
