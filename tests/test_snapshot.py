"""The in-memory snapshot stays equal to a fresh full load after every kind of change, by any path: this process,
another connection, plain SQL (inserts, updates, deletes, ids out of order, new custom fields), big changes that
fall back to a full reload, and a start from the columnar cache file."""
from __future__ import annotations

import datetime as dt
import sqlite3

import numpy as np
import pytest

import segmenter
from segmenter import snapshot_cache
from segmenter.evaluate import MemoryBackend
from segmenter.rules import validate_rules
from segmenter.snapshot import Snapshot

NOW = dt.datetime(2026, 11, 26, 12, tzinfo=dt.timezone.utc)
RULES = [
    [{"field": "status", "operator": "equals", "value": "active"},
     {"field": "company", "operator": "contains", "value": "Inc"}],
    [{"field": "email", "operator": "starts_with", "value": "a"}],
    [{"field": "name", "operator": "contains", "value": "MÜLLER"}],
    [{"field": "company", "operator": "not_contains", "value": "llc"}],
    [{"field": "created_at", "operator": "after", "value": "2025-01-01"}],
]


def _db_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def _people(n: int, start: int = 0, **extra) -> list[dict]:
    statuses = ["active", "inactive", "Active", None]
    companies = ["Acme Inc", "Müller GmbH", "Blue LLC", None, ""]
    return [{"email": f"p{i}@example.com", "name": ["Ana Müller", "İlker Öz", "Bo Li"][i % 3],
             "company": companies[i % 5], "status": statuses[i % 4],
             "created_at": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(days=i), **extra}
            for i in range(start, start + n)]


def _fresh(seg) -> Snapshot:
    snap = Snapshot(seg.engine)
    snap.cache_min_rows = 10**12  # read the table itself, never the cache file
    snap.refresh()
    return snap


def _state(snap: Snapshot) -> tuple[list[dict], list[int]]:
    """Every live contact, and the count of each rule set, as the snapshot answers them."""
    snap.refresh()
    backend = MemoryBackend(snap)
    counts = [backend.count(validate_rules(r, snap.catalogue), NOW) for r in RULES if _fields_known(r, snap)]
    return snap.records(np.flatnonzero(snap.alive)), counts


def _fields_known(rules: list, snap: Snapshot) -> bool:
    return all(r["field"] in snap.catalogue for r in rules)


def _assert_same_as_fresh(seg) -> None:
    kept = seg.snapshot
    assert _state(kept) == _state(_fresh(seg))


@pytest.fixture
def warm(seg):
    seg.add_contacts(_people(40))
    seg.count([])  # loads the snapshot; every test then changes the data behind its back
    assert seg.snapshot.alive_count == 40
    return seg


def test_insert_by_another_connection_is_seen(warm, sqlite_url):
    with segmenter.connect(sqlite_url, backend="memory") as other:
        other.add_contacts(_people(3, start=100))
    assert warm.count([]) == 43
    _assert_same_as_fresh(warm)


def test_update_and_delete_by_plain_sql_are_seen(warm, sqlite_url):
    before = warm.count(RULES[0])
    con = sqlite3.connect(_db_path(sqlite_url))
    with con:
        con.execute("UPDATE contacts SET status = 'ACTIVE', company = 'Zeta Inc' WHERE id IN (2, 3, 4)")
        con.execute("UPDATE contacts SET company = NULL WHERE id = 1")
        con.execute("DELETE FROM contacts WHERE id IN (5, 6)")
    con.close()
    assert warm.count([]) == 38
    assert warm.count(RULES[0]) != before
    _assert_same_as_fresh(warm)


def test_ids_out_of_order_and_a_deleted_id_written_again(warm, sqlite_url):
    con = sqlite3.connect(_db_path(sqlite_url))
    with con:
        con.execute("DELETE FROM contacts WHERE id IN (7, 20)")
    warm.snapshot.seq = -1
    warm.count([])  # a full reload: 7 and 20 are no rows of it at all
    with con:
        con.execute("DELETE FROM contacts WHERE id = 30")
    warm.count([])  # 30 is now a deleted row of the snapshot
    with con:  # explicit ids below the largest, and a deleted id written again, by hand
        con.execute("INSERT INTO contacts (id, email, status) VALUES (20, 'twenty@example.com', 'active')")
        con.execute("INSERT INTO contacts (id, email, company) VALUES (7, 'seven@example.com', 'Gap Inc')")
        con.execute("UPDATE contacts SET id = 1000 WHERE id = 8")
    warm.count([])
    with con:
        con.execute("INSERT INTO contacts (id, email) VALUES (30, 'thirty@example.com')")
    con.close()
    snap = warm.snapshot
    assert warm.count([]) == 40
    assert list(snap.ids) == sorted(snap.ids)
    emails = {c["id"]: c["email"] for c in warm.contacts([])}
    assert (emails[7], emails[20], emails[30], emails[1000]) == \
        ("seven@example.com", "twenty@example.com", "thirty@example.com", "p7@example.com")
    assert 8 not in emails
    _assert_same_as_fresh(warm)


def test_new_custom_field_from_another_connection_reloads(warm, sqlite_url):
    with segmenter.connect(sqlite_url, backend="memory") as other:
        other.add_contacts([{"email": "p1@example.com", "plan": "pro", "mrr": 99.5, "vip": True}])
    assert warm.count([{"field": "plan", "operator": "equals", "value": "PRO"}]) == 1
    assert warm.count([{"field": "vip", "operator": "is_true"}]) == 1
    _assert_same_as_fresh(warm)


def test_many_changes_fall_back_to_a_full_reload(warm):
    warm.snapshot.FULL_RELOAD_FRACTION = 0.0  # any change past the floor of 1,000 rows reloads
    warm.add_contacts(_people(1_500, start=1_000))
    assert warm.count([]) == 1_540
    assert warm.snapshot.last_load["source"] == "database"
    _assert_same_as_fresh(warm)


def test_small_changes_are_applied_in_place(warm):
    warm.add_contacts(_people(2, start=500))
    loads = dict(warm.snapshot.last_load)
    warm.add_contacts([{"email": "p3@example.com", "status": "bounced"}])
    assert warm.count([{"field": "status", "operator": "equals", "value": "bounced"}]) == 1
    assert warm.snapshot.last_load == loads  # no full load happened
    _assert_same_as_fresh(warm)


def test_repeated_updates_of_a_unique_text_column_stay_correct(warm, sqlite_url):
    con = sqlite3.connect(_db_path(sqlite_url))
    for round_ in range(60):  # each round gives every email a new value: the dictionary compacts itself
        with con:
            con.execute("UPDATE contacts SET email = 'r' || ? || '-' || id || '@example.com'", (round_,))
        warm.count([])
    con.close()
    assert warm.snapshot.columns["email"].size < 3 * 40 + 4_096 + 40
    assert warm.count([{"field": "email", "operator": "starts_with", "value": "R59-"}]) == 40
    assert warm.explain([], "R59-1@example.com")["contact"]["id"] == 1
    _assert_same_as_fresh(warm)


def test_unicode_lowering_is_pythons(warm):
    warm.add_contacts([{"email": "ist@example.com", "company": "İSTANBUL Ltd"},
                       {"email": "sz@example.com", "company": "Straße GmbH"}])
    # Python: 'İ'.lower() is 'i̇' (i + combining dot), so plain 'istanbul' is not contained
    assert warm.count([{"field": "company", "operator": "contains", "value": "i̇stanbul"}]) == 1
    assert warm.count([{"field": "company", "operator": "contains", "value": "istanbul"}]) == 0
    assert warm.count([{"field": "company", "operator": "contains", "value": "STRASSE"}]) == 0
    assert warm.count([{"field": "company", "operator": "contains", "value": "straße"}]) == 1
    _assert_same_as_fresh(warm)


def test_suggestions_add_up_values_stored_under_several_codes(warm, sqlite_url):
    con = sqlite3.connect(_db_path(sqlite_url))
    with con:
        con.execute("UPDATE contacts SET email = 'x' || email")  # appended again to the unique dictionary
    con.close()
    assert warm.suggestions("status", 2) == ["active", "inactive"]
    assert len(warm.suggestions("email", 100)) == 40
    assert warm.suggestions("email", 1)[0].startswith("xp")


# ---- the cache file ------------------------------------------------------------------------------------------

def _cached(seg) -> Snapshot:
    snap = Snapshot(seg.engine)
    snap.cache_min_rows = 0
    snap.refresh()
    return snap


def test_a_new_snapshot_starts_from_the_cache_and_applies_later_changes(seg, sqlite_url):
    seg.add_contacts(_people(30))
    first = _cached(seg)
    assert first.last_load["source"] == "database" and first.last_load["cache_written"]
    assert snapshot_cache.path_for(seg.engine).exists()
    con = sqlite3.connect(_db_path(sqlite_url))
    with con:
        con.execute("UPDATE contacts SET status = 'gone' WHERE id = 3")
        con.execute("DELETE FROM contacts WHERE id = 4")
        con.execute("INSERT INTO contacts (email, company) VALUES ('new@example.com', 'New Inc')")
    con.close()
    second = _cached(seg)
    assert second.last_load == {"source": "cache", "rows": 30, "changes_applied": 3,
                                "seconds": second.last_load["seconds"]}
    assert _state(second) == _state(_fresh(seg))


def test_the_cache_is_ignored_after_a_schema_change(seg):
    seg.add_contacts(_people(10))
    _cached(seg)
    seg.add_contacts([{"email": "p1@example.com", "score": 3}])
    again = _cached(seg)
    assert again.last_load["source"] == "database"
    assert _state(again) == _state(_fresh(seg))


def test_the_cache_of_another_database_file_is_ignored(seg, sqlite_url, tmp_path):
    seg.add_contacts(_people(10))
    _cached(seg)
    path = snapshot_cache.path_for(seg.engine)
    stale = path.read_bytes()
    seg.close()
    for p in tmp_path.glob("segmenter.db*"):
        p.unlink()
    with segmenter.connect(sqlite_url, backend="memory") as other:  # a new file at the same path
        other.add_contacts(_people(10, start=50))
        path.write_bytes(stale)
        snap = _cached(other)
        assert snap.last_load["source"] == "database"
        assert [r["email"] for r in snap.records(np.arange(3))] == ["p50@example.com", "p51@example.com",
                                                                     "p52@example.com"]


def test_no_cache_file_below_the_size_threshold(seg):
    seg.add_contacts(_people(10))
    seg.count([])
    assert not snapshot_cache.path_for(seg.engine).exists()


def test_empty_datetimes_and_numbers_never_match_a_comparison(warm, sqlite_url):
    warm.add_contacts([{"email": "m1@example.com", "mrr": 5.0}, {"email": "m2@example.com", "mrr": 50.0}])
    con = sqlite3.connect(_db_path(sqlite_url))
    with con:
        con.execute("UPDATE contacts SET created_at = NULL WHERE id <= 10")
    con.close()
    assert warm.count([{"field": "created_at", "operator": "before", "value": "2100-01-01"}]) == 32
    assert warm.count([{"field": "created_at", "operator": "more_than_days_ago", "value": 1}]) == 30
    assert warm.count([{"field": "created_at", "operator": "after", "value": "1900-01-01"}]) == 32
    assert warm.count([{"field": "mrr", "operator": "less_than", "value": 10}]) == 1
    assert warm.count([{"field": "mrr", "operator": "not_equals", "value": 5}]) == 41
    _assert_same_as_fresh(warm)


def test_batched_ingest_keeps_upsert_semantics(seg):
    ids = seg.add_contacts([{"email": "a@x.com", "name": "A", "company": "C1"}, {"email": "b@x.com", "status": "s"},
                            {"email": "a@x.com", "company": None}, {"email": "c@x.com", "name": "C"}])
    assert ids == [1, 2, 1, 3]
    ids = seg.add_contacts([{"email": "b@x.com", "name": "B"}, {"email": "c@x.com", "status": "t"},
                            {"email": "d@x.com"}, {"email": "b@x.com", "status": "u"}])
    assert ids == [2, 3, 4, 2]
    got = {c["email"]: (c["name"], c["company"], c["status"]) for c in seg.contacts([])}
    assert got == {"a@x.com": ("A", None, None), "b@x.com": ("B", None, "u"), "c@x.com": ("C", None, "t"),
                   "d@x.com": (None, None, None)}
    _assert_same_as_fresh(seg)


def test_big_dictionaries_and_masks_split_over_threads_give_the_same_answers(warm, sqlite_url, monkeypatch):
    from segmenter import evaluate

    con = sqlite3.connect(_db_path(sqlite_url))
    with con:
        con.execute("UPDATE contacts SET created_at = NULL WHERE id IN (3, 4, 5)")
    con.close()
    rules = [[{"field": f, "operator": op, "value": v}] for f in ("email", "name", "company")
             for op, v in (("contains", "1"), ("starts_with", "p1"), ("ends_with", "r"), ("equals", "Bo Li"),
                           ("in", ["p3@example.com", "acme inc"]), ("not_contains", "ü"))]
    rules += [[{"field": "created_at", "operator": op, "value": v}] for op, v in (
        ("before", "2024-01-20"), ("after", "2024-01-20"), ("between", ["2024-01-05", "2024-01-25"]),
        ("more_than_days_ago", 30), ("on", "2024-01-07"))]
    rules += [[{"field": "id", "operator": "between", "value": [5, 30]}]]
    one_by_one = [warm.count(r) for r in rules]
    # every dictionary is "big" and every mask is filled in slices by the threads
    monkeypatch.setattr(evaluate, "_PARALLEL_FROM", 2)
    monkeypatch.setattr(evaluate, "_PARALLEL_ROWS", 2)
    warm.snapshot.version += 1  # no cached masks: every rule is evaluated again
    assert [warm.count(r) for r in rules] == one_by_one
    assert sum(one_by_one) > 0
