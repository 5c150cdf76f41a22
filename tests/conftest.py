"""Shared fixtures: a real SQLite file per test, and a fresh real PostgreSQL database when the server runs.
In CI (CI=true) an unreachable PostgreSQL is a failure, never a silent skip."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

import segmenter

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CSV = ROOT / "tests" / "data" / "customers-10000.csv"  # source and licence: tests/data/README.md
PG_ADMIN_URL = os.environ.get("SEGMENTER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'segmenter.db'}"


@pytest.fixture
def seg(sqlite_url: str):
    with segmenter.connect(sqlite_url) as s:
        yield s


@contextmanager
def fresh_pg_database(prefix: str = "seg_test"):
    """A new, empty PostgreSQL database (its URL), dropped afterwards. In CI an unreachable server fails the
    test; elsewhere it skips."""
    from sqlalchemy import create_engine

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        conn = admin.connect()
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"no PostgreSQL at {PG_ADMIN_URL}")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
        admin.dispose()


@pytest.fixture
def pg_url():
    """A new, empty PostgreSQL database, dropped afterwards."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def sample_csv() -> Path:
    assert SAMPLE_CSV.exists(), f"the sample data is missing: {SAMPLE_CSV}"
    return SAMPLE_CSV
