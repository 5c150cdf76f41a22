"""The SQL back end, operator by operator: one table of hand-worked cases run on SQLite-SQL, PostgreSQL-SQL and
DuckDB (through duckdb-engine), then pages, funnels, exports and the choice between the back ends."""
from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pytest
from sqlalchemy import create_engine, insert

import segmenter
from helpers import fresh_pg_database
from operator_cases import ACTIVE_SEGMENT, CASES, CONTACTS, CUSTOM, GROUPS, NOW, fill_with_api, rule
from segmenter.models import CustomField, contacts_table
from segmenter.compose import Graph, Resolver
from segmenter.rules import validate_rules
from segmenter.backend import AutoBackend
from segmenter.sql import SqlBackend, like_escape
from segmenter.evaluate import MemoryBackend


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlb') / 'sql.db'}"
    fill_with_api(url)
    return url


@pytest.fixture(scope="module")
def pg_db():
    """One PostgreSQL database for the module (a fresh one per case would re-migrate 80 times)."""
    with fresh_pg_database("seg_sqlb") as url:
        fill_with_api(url)
        yield url


@pytest.fixture(scope="module")
def duckdb_engine():
    """The same rows in DuckDB, to show the back end runs on another engine's SQLAlchemy dialect unchanged."""
    from segmenter.values import coerce_datetime

    engine = create_engine("duckdb:///:memory:")
    with engine.begin() as conn:  # DuckDB has no SERIAL, so the schema is written by hand rather than migrated
        conn.exec_driver_sql("CREATE TABLE custom_fields (name TEXT PRIMARY KEY, type TEXT, created_at TIMESTAMPTZ)")
        conn.exec_driver_sql("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, name TEXT, "
                             "company TEXT, status TEXT, created_at TIMESTAMPTZ, mrr DOUBLE, vip BOOLEAN, plan TEXT, "
                             "seen_at TIMESTAMPTZ)")
        conn.execute(insert(CustomField.__table__), [
            {"name": n, "type": t, "created_at": NOW + dt.timedelta(seconds=i)} for i, (n, t) in enumerate(CUSTOM)])
        rows = []
        for i, (k, c) in enumerate(CONTACTS.items(), 1):
            row = {"id": i, "email": f"{k}@x.com", **{n: None for n, _ in CUSTOM}, **c}
            for f in ("created_at", "seen_at"):
                row[f] = None if row[f] is None else coerce_datetime(row[f])
            rows.append(row)
        conn.execute(insert(contacts_table(CUSTOM)), rows)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "duckdb"], scope="module")
def backend(request):
    if request.param == "duckdb":
        return SqlBackend(request.getfixturevalue("duckdb_engine"))
    url = request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")
    return SqlBackend(segmenter.connect(url, backend="sql").engine)


def letters(backend, raw) -> str:
    catalogue = backend.catalogue()
    rules = validate_rules(raw, catalogue, Resolver(Graph({1: ACTIVE_SEGMENT}), catalogue))
    rows = backend.page(rules, NOW, None, 0)
    assert backend.count(rules, NOW) == len(rows)
    return "".join(sorted(r["email"][0] for r in rows))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]} {c[1]} {c[2]!r}")
def test_operator(backend, case):
    field, operator, value, expected = case[:4]
    expected = (case[4] if len(case) > 4 else {}).get(backend.dialect, expected)
    assert letters(backend, [rule(field, operator, value)]) == expected


@pytest.mark.parametrize("raw, expected", GROUPS)
def test_groups(backend, raw, expected):
    assert letters(backend, raw) == expected


def test_every_operator_has_a_case():
    from segmenter.operators import OPERATORS
    assert {c[1] for c in CASES} >= set(OPERATORS)


def test_values_are_bound_never_formatted(backend):
    # A value that would break or change the query if it were pasted into the SQL text.
    nasty = "x' OR '1'='1"
    assert letters(backend, [rule("company", "contains", nasty)]) == ""
    assert letters(backend, [rule("company", "not_equals", nasty)]) == "abcdefghi"


def test_like_escape():
    assert like_escape("a%b_c/d") == "a/%b/_c//d"


# ---- pages, funnels and exports agree with the in-memory back end -------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def pair(request):
    url = request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")
    memory, sql = segmenter.connect(url, backend="memory"), segmenter.connect(url, backend="sql")
    yield memory, sql
    memory.close()
    sql.close()


SEED = [rule("status", "equals", "active"), rule("company", "contains", "inc")]
WIDE = [rule("email", "contains", "@"), {"match": "any", "rules": [rule("mrr", "is_empty"), rule("vip", "is_true")]}]


def test_page_and_records_match_memory(pair):
    memory, sql = pair
    assert isinstance(sql.backend, SqlBackend) and isinstance(memory.backend, MemoryBackend)
    for raw in (SEED, WIDE, []):
        assert sql.count(raw) == memory.count(raw)
        for limit, offset in ((None, 0), (3, 0), (3, 2), (0, 0), (5, 100)):
            assert sql.contacts(raw, limit=limit, offset=offset) == memory.contacts(raw, limit=limit, offset=offset)
    assert sql.explain(SEED, "A@X.com") == memory.explain(SEED, "A@X.com")
    assert sql.backend.record(4) == memory.backend.record(4)
    assert sql.backend.record(999) is None


def test_funnel_matches_memory(pair):
    memory, sql = pair
    empties = [rule("status", "is_empty"), rule("company", "is_empty"), rule("name", "contains", "z")]
    for raw in (SEED, WIDE, [], empties):
        assert sql.funnel(raw) == memory.funnel(raw)


def test_frames_and_export_match_memory(pair, tmp_path):
    memory, sql = pair
    for raw in (SEED, WIDE, [rule("name", "equals", "nobody")]):
        pd.testing.assert_frame_equal(sql.match(raw), memory.match(raw))
        parts = list(sql.export_frames(raw, batch=2))
        assert all(len(p) <= 2 for p in parts) and sum(map(len, parts)) == memory.count(raw)
        a, b = tmp_path / "sql.csv", tmp_path / "mem.csv"
        assert sql.export_csv(raw, a) == memory.export_csv(raw, b)
        assert a.read_bytes() == b.read_bytes()


def test_suggestions_and_fields(pair):
    memory, sql = pair
    assert sql.fields() == memory.fields()
    # Most common first, ties in order of first appearance: the order is the feature, so it is asserted.
    statuses = [c["status"] for c in CONTACTS.values() if c.get("status") not in (None, "")]
    by_count = sorted(dict.fromkeys(statuses), key=lambda v: (-statuses.count(v), statuses.index(v)))
    assert sql.suggestions("status") == memory.suggestions("status") == by_count
    assert sql.suggestions("status", 2) == memory.suggestions("status", 2) == by_count[:2]
    assert sql.suggestions("mrr") == [] and sql.suggestions("nope") == []


@pytest.mark.parametrize("field", ["status", "company", "created_at", "seen_at", "mrr", "vip", "id", "plan"])
def test_breakdown_matches_memory(pair, field):
    memory, sql = pair
    for raw in ([], WIDE, [rule("name", "equals", "nobody")]):
        for limit in (3, 10):
            assert same_breakdown(sql.breakdown(raw, field, limit=limit), memory.breakdown(raw, field, limit=limit))


def test_breakdown_of_many_numbers_and_months_matches_memory(pg_url):
    with segmenter.connect(pg_url, backend="sql") as sql, segmenter.connect(pg_url, backend="memory") as memory:
        sql.load_demo(2_000)
        for field in ("mrr", "created_at", "country", "vip"):
            assert same_breakdown(sql.breakdown(SEED, field), memory.breakdown(SEED, field))


def same_breakdown(a: list[dict], b: list[dict]) -> bool:
    """Equal, except that text values with the same count may come in another order (ties are not ordered)."""
    def key(rows):
        return [r["count"] for r in rows], sorted((r["count"], r["value"]) for r in rows)
    return key(a) == key(b)


# ---- choosing the back end ------------------------------------------------------------------------------------------

def test_auto_goes_to_sql_above_the_budget_without_loading_the_snapshot(sqlite_db):
    with segmenter.connect(sqlite_db, memory_budget="1KB") as s:
        assert isinstance(s.backend, AutoBackend)
        assert s.count(SEED) == 1
        assert s.backend.in_sql and s.snapshot.seq == -1 and not s.snapshot.columns
        status = s.backend_status()
        assert status["backend"] == "sql" and status["mode"] == "auto" and status["budget_bytes"] == 1000
        assert "over the memory budget of 1.0 KB (SEGMENTER_MEMORY_BUDGET=1KB)" in status["reason"]


def test_auto_stays_in_memory_within_the_budget_then_moves_when_data_grows(sqlite_url):
    from segmenter.backend import estimate_bytes
    with segmenter.connect(sqlite_url) as s:
        s.add_contacts([{"email": f"{i}@y.com", "status": "active"} for i in range(3)])
        budget = estimate_bytes(s.catalogue(), 3)  # exactly three contacts' worth
    with segmenter.connect(sqlite_url, memory_budget=budget) as s:
        assert s.count([rule("status", "equals", "active")]) == 3
        assert not s.backend.in_sql and s.snapshot.alive_count == 3
        assert s.backend_status()["backend"] == "memory" and "within the memory budget" in s.backend_status()["reason"]
        s.add_contacts([{"email": "4@y.com", "status": "active"}])
        assert s.count([rule("status", "equals", "active")]) == 4
        assert s.backend.in_sql and not s.snapshot.columns  # the snapshot's memory was given back


def test_the_deprecated_contact_limit_still_works_and_warns(sqlite_db, sqlite_url, monkeypatch):
    with pytest.warns(DeprecationWarning, match="memory_limit= .* deprecated.*SEGMENTER_MEMORY_BUDGET"):
        s = segmenter.connect(sqlite_db, memory_limit=0)
    with s:
        assert s.count(SEED) == 1 and s.backend.in_sql
        assert "above the in-memory limit of 0 contacts (deprecated" in s.backend_status()["reason"]
    monkeypatch.setenv("SEGMENTER_MEMORY_LIMIT", "1_000")
    with pytest.warns(DeprecationWarning, match="SEGMENTER_MEMORY_LIMIT .* deprecated"):
        s = segmenter.connect(sqlite_url)
    with s:
        assert s.backend.limit == 1000


def test_backend_and_budget_from_environment(sqlite_url, monkeypatch):
    monkeypatch.setenv("SEGMENTER_BACKEND", "sql")
    with segmenter.connect(sqlite_url) as s:
        assert isinstance(s.backend, SqlBackend)
        assert s.backend_status() | {"reason": ""} == {
            "backend": "sql", "mode": "sql", "reason": "", "estimate_bytes": None, "budget_bytes": None,
            "budget": None, "snapshot_bytes": 0, "snapshot": "0 B", "loading": None}
    monkeypatch.setenv("SEGMENTER_BACKEND", "auto")
    monkeypatch.setenv("SEGMENTER_MEMORY_BUDGET", "1.5GB")
    with segmenter.connect(sqlite_url) as s:
        assert s.backend.budget.bytes == 1_500_000_000 and s.backend.limit is None


@pytest.mark.parametrize("text, expected", [
    ("2GB", 2 * 10**9), ("500MB", 500 * 10**6), ("500 mb", 500 * 10**6), ("1.5GiB", int(1.5 * 2**30)),
    ("800000000", 800_000_000), ("64KiB", 65536), (1000, 1000),
])
def test_budget_sizes(text, expected):
    from segmenter.backend import parse_size
    assert parse_size(text) == expected


def test_budget_default_is_a_quarter_of_the_cgroup_limit_else_of_ram(tmp_path):
    from segmenter.backend import cgroup_limit, memory_budget
    assert memory_budget("", cgroup=4 * 10**9, ram=16 * 10**9).bytes == 10**9
    assert "cgroup" in memory_budget("", cgroup=4 * 10**9, ram=16 * 10**9).source
    assert memory_budget("", cgroup=None, ram=16 * 10**9).bytes == 4 * 10**9
    assert "RAM" in memory_budget("", cgroup=None, ram=16 * 10**9).source
    assert memory_budget("", cgroup=32 * 10**9, ram=16 * 10**9).bytes == 4 * 10**9  # a limit above RAM is none
    v2, v1 = tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes"
    v2.write_text("max\n")
    v1.write_text("9223372036854771712\n")
    assert cgroup_limit([v2, v1]) is None  # both say "no limit"
    v1.write_text("2147483648\n")
    assert cgroup_limit([v2, v1]) == 2147483648  # v1
    v2.write_text("1073741824\n")
    assert cgroup_limit([v2, v1]) == 1073741824  # v2 first
    assert cgroup_limit([tmp_path / "missing"]) is None


def test_cgroup_files_follow_the_process_cgroup(tmp_path):
    from segmenter.backend import _cgroup_files
    proc = tmp_path / "cgroup"
    proc.write_text("4:memory:/box/a\n0::/box/b\n")
    root = tmp_path / "fs"
    assert _cgroup_files(proc, root)[:2] == [root / "memory" / "box/a" / "memory.limit_in_bytes",
                                             root / "box/b" / "memory.max"]


def test_the_cli_status_says_which_back_end_and_why(sqlite_db, capsys, monkeypatch):
    from segmenter.cli import main
    monkeypatch.setenv("SEGMENTER_MEMORY_BUDGET", "500MB")
    assert main(["status", "--database", sqlite_db]) == 0
    out = capsys.readouterr().out
    assert "back end: memory (auto): snapshot of" in out
    assert "memory budget: 500.0 MB (SEGMENTER_MEMORY_BUDGET=500MB)" in out


@pytest.mark.parametrize("kwargs, env, message", [
    ({"backend": "fast"}, {}, "backend must be one of auto, memory, sql"),
    ({}, {"SEGMENTER_BACKEND": "postgres"}, "got 'postgres'"),
    ({"memory_limit": -1}, {}, "must be a whole number of contacts"),
    ({}, {"SEGMENTER_MEMORY_LIMIT": "lots"}, "got 'lots'"),
    ({"memory_budget": "lots"}, {}, "must be a size such as 2GB, 500MB or a number of bytes, got 'lots'"),
    ({}, {"SEGMENTER_MEMORY_BUDGET": "-2GB"}, "got '-2GB'"),
])
def test_bad_backend_settings_say_what_is_wrong(sqlite_url, monkeypatch, kwargs, env, message):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(segmenter.SegmenterError, match=message), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        segmenter.connect(sqlite_url, **kwargs)


def test_a_large_snapshot_loads_in_the_background_while_sql_answers(sqlite_url, monkeypatch):
    """Above AutoBackend.BACKGROUND_FROM contacts the first count starts the load in a thread and is answered in
    SQL; the status shows the load's progress; once loaded, memory answers, and a write meanwhile is not lost."""
    import threading

    from segmenter.snapshot import Snapshot
    with segmenter.connect(sqlite_url) as s:
        s.add_contacts([{"email": f"{i}@y.com", "status": "active", "company": "Inc"} for i in range(30)])
    release = threading.Event()
    original = Snapshot._load_all

    def slow_load(self, conn):
        self._progressed(0)
        assert release.wait(60), "the test never let the load finish"
        original(self, conn)

    monkeypatch.setattr(Snapshot, "_load_all", slow_load)
    monkeypatch.setattr(AutoBackend, "BACKGROUND_FROM", 10)
    with segmenter.connect(sqlite_url) as s:
        assert s.count(SEED) == 30  # answered while the snapshot is not there: through SQL
        status = s.backend_status()
        assert status["backend"] == "sql" and status["loading"] == {"rows": 0, "total": 30}
        assert "loading it into memory meanwhile" in status["reason"]
        s.add_contacts([{"email": "late@y.com", "status": "active", "company": "Inc"}])
        assert s.count(SEED) == 31
        release.set()
        assert s.backend.wait_loaded(60)
        assert s.count(SEED) == 31 and s.backend_status()["backend"] == "memory"
        assert s.backend_status()["loading"] is None and s.snapshot.alive_count == 31
