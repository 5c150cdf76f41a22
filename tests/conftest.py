"""Shared fixtures: a real SQLite file per test, and a fresh real PostgreSQL database when the server runs.
In CI (CI=true) an unreachable PostgreSQL is a failure, never a silent skip."""
from __future__ import annotations

from pathlib import Path

import pytest

import segmenter
from helpers import fresh_pg_database

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CSV = ROOT / "tests" / "data" / "customers-10000.csv"  # source and licence: tests/data/README.md


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'segmenter.db'}"


@pytest.fixture
def seg(sqlite_url: str):
    with segmenter.connect(sqlite_url) as s:
        yield s


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
