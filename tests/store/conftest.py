"""The database every storage test runs on: a real SQLite file and a real PostgreSQL
(CLASSMOOD_TEST_POSTGRES_URL, set by .ci/run)."""

from __future__ import annotations

import os

import pytest

from classmood.store import Store

POSTGRES_URL = os.environ.get("CLASSMOOD_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'class.db'}")
    else:
        if not POSTGRES_URL:
            pytest.skip("CLASSMOOD_TEST_POSTGRES_URL not set (scripts/ci_postgres.sh starts PostgreSQL)")
        s = Store(POSTGRES_URL)
    yield s
    s.close()
