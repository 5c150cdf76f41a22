"""Data integrity (issue 11): plain SQL the triggers cannot see (SQLite's REPLACE), an emptied or rewound change
log, a custom field dropped by hand, a damaged cache file, concurrent imports that disagree on a new field's type.
Each test failed on the code before the fix."""
from __future__ import annotations

import logging
import random
import sqlite3
import zlib

import pytest
from sqlalchemy import create_engine, text

import segmenter
from segmenter import snapshot_cache
from segmenter.errors import ContactError, RuleError
from segmenter.snapshot import Snapshot


def _people(n: int, start: int = 0, **extra) -> list[dict]:
    return [{"email": f"p{i}@example.com", "name": f"P {i}", "status": ["active", "inactive"][i % 2], **extra}
            for i in range(start, start + n)]


def _plain_sql(url: str, *statements: str) -> None:
    """Statements as an analyst would run them: a plain connection with no pragmas of ours."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        with con:
            for s in statements:
                con.execute(s)
        con.close()
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        for s in statements:
            conn.execute(text(s))
    engine.dispose()


def _sql_count(url: str, where: str = "1=1") -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM contacts WHERE {where}")).scalar_one()
    engine.dispose()
    return n


ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]


# ---- 1. ghost contacts after SQLite's REPLACE ------------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "INSERT OR REPLACE INTO contacts (email, status) VALUES ('p1@example.com', 'inactive')",
    "REPLACE INTO contacts (email, status) VALUES ('p3@example.com', 'active')",
    "UPDATE OR REPLACE contacts SET email = 'p5@example.com' WHERE email = 'p6@example.com'",
    "INSERT OR REPLACE INTO contacts (id, email, status) VALUES (2, 'p7@example.com', 'gone')",
])
def test_sqlite_replace_leaves_no_ghost_contacts(sqlite_url, statement):
    with segmenter.connect(sqlite_url, backend="memory") as seg:
        seg.add_contacts(_people(10))
        assert seg.count([]) == 10 and seg.count(ACTIVE) == 5
        _plain_sql(sqlite_url, statement)
        assert seg.count([]) == _sql_count(sqlite_url)
        assert seg.count(ACTIVE) == _sql_count(sqlite_url, "status = 'active'")
        ids = sorted(c["id"] for c in seg.contacts([]))
        con = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
        assert ids == [r[0] for r in con.execute("SELECT id FROM contacts ORDER BY id")]
        con.close()


# ---- 2. an emptied or rewound change log -----------------------------------------------------------------------

def _empty_log(url: str, rewind: bool) -> list[str]:
    if url.startswith("sqlite"):
        return ["DELETE FROM contact_changes"] + (["DELETE FROM sqlite_sequence WHERE name = 'contact_changes'"]
                                                  if rewind else [])
    return ["TRUNCATE contact_changes" + (" RESTART IDENTITY" if rewind else "")]


@pytest.mark.parametrize("rewind", [False, True], ids=["emptied", "rewound"])
def test_changes_just_before_the_log_is_emptied_are_not_lost(any_url, rewind):
    with segmenter.connect(any_url, backend="memory") as seg:
        seg.add_contacts(_people(10))
        assert seg.count(ACTIVE) == 5
        _plain_sql(any_url, "UPDATE contacts SET status = 'active' WHERE email IN ('p1@example.com', 'p3@example.com')",
                   "DELETE FROM contacts WHERE email = 'p0@example.com'",
                   *_empty_log(any_url, rewind))
        assert seg.count(ACTIVE) == _sql_count(any_url, "status = 'active'") == 6
        assert seg.count([]) == 9
        # and the log keeps working afterwards
        seg.add_contacts(_people(2, start=20))
        _plain_sql(any_url, "UPDATE contacts SET status = 'inactive' WHERE email = 'p2@example.com'")
        assert seg.count(ACTIVE) == _sql_count(any_url, "status = 'active'")
        assert seg.count([]) == 11


def test_the_newest_log_entries_deleted_before_they_were_seen(sqlite_url):
    with segmenter.connect(sqlite_url, backend="memory") as seg:
        seg.add_contacts(_people(10))
        assert seg.count(ACTIVE) == 5
        _plain_sql(sqlite_url, "UPDATE contacts SET status = 'active' WHERE email = 'p1@example.com'",
                   "DELETE FROM contact_changes WHERE seq = (SELECT max(seq) FROM contact_changes)")
        assert seg.count(ACTIVE) == 6


# ---- 3. a custom field dropped by hand --------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["memory", "sql"])
def test_a_custom_field_dropped_by_hand(any_url, backend):
    with segmenter.connect(any_url, backend=backend) as seg:
        seg.add_contacts(_people(6, plan="pro"))
        on_plan = [{"field": "plan", "operator": "equals", "value": "pro"}]
        saved = seg.create_segment("Pro", on_plan)
        assert saved["contacts_count"] == 6
        _plain_sql(any_url, "ALTER TABLE contacts DROP COLUMN plan")
        # the field is gone for every reader at once
        assert "plan" not in [f["name"] for f in seg.fields()]
        listed = {s["id"]: s for s in seg.list_segments()}
        assert listed[saved["id"]]["contacts_count"] is None
        with pytest.raises(RuleError, match="plan"):
            seg.count(on_plan)
        with pytest.raises(RuleError, match="plan"):
            seg.create_segment("Pro again", on_plan)
        # later rows never read the column's name as a value
        seg.add_contacts(_people(2, start=10))
        assert all("plan" not in c for c in seg.contacts([]))
        assert seg.count([]) == 8
        # and the field can be made again, as new
        seg.add_contacts([{"email": "p0@example.com", "plan": 3}])
        assert {"name": "plan", "type": "number", "custom": True} in seg.fields()
        assert seg.count([{"field": "plan", "operator": "equals", "value": 3}]) == 1


# ---- 5. a damaged cache file --------------------------------------------------------------------------------------

def _cached(seg) -> Snapshot:
    snap = Snapshot(seg.engine)
    snap.cache_min_rows = 0
    snap.refresh()
    return snap


def _active(snap: Snapshot) -> int:
    pos = snap.columns["status"].codes_equal_to("active")
    return int((snap.alive & __import__("numpy").isin(snap.columns["status"].codes, pos)).sum())


def _damage(path, how: str, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    if how == "bit":
        i = rng.randrange(len(data) - snapshot_cache.TRAILER.size)
        data[i] ^= 1 << rng.randrange(8)
    elif how == "truncate":
        data = data[: rng.randrange(len(data))]
    elif how == "garbage":
        i = rng.randrange(len(data) // 2)
        data[i:i + 64] = bytes(rng.randrange(256) for _ in range(64))
    elif how == "rewritten":  # a buffer rewritten with a fresh checksum of the old content: the metadata kept
        body = data[: -snapshot_cache.TRAILER.size]
        body = body.replace(b"inactive", b"active\x00\x00")
        data = body + snapshot_cache.TRAILER.pack(zlib.crc32(bytes(data[: -snapshot_cache.TRAILER.size])),
                                                  len(body), snapshot_cache.MAGIC)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["bit", "truncate", "garbage", "rewritten"])
def test_a_damaged_cache_file_is_rebuilt_from_the_table(seg, how, caplog):
    seg.add_contacts(_people(400))
    first = _cached(seg)
    assert first.last_load["cache_written"]
    path = snapshot_cache.path_for(seg.engine)
    rng = random.Random(how)
    for _ in range(8):
        _damage(path, how, rng)
        with caplog.at_level(logging.WARNING, logger="segmenter"):
            snap = _cached(seg)
        assert snap.last_load["source"] == "database"
        assert snap.alive_count == 400 and _active(snap) == 200
        assert "rebuilding it from the table" in caplog.text
        caplog.clear()
        assert _cached(seg).last_load["source"] == "cache"  # the rebuilt file is good again


def test_a_cache_truncated_while_in_use_does_not_kill_the_process(seg):
    seg.add_contacts(_people(400))
    _cached(seg)
    snap = _cached(seg)
    assert snap.last_load["source"] == "cache"
    path = snapshot_cache.path_for(seg.engine)
    with open(path, "r+b") as f:
        f.truncate(10)  # a mapped file would now raise SIGBUS on the next read of its pages
    assert snap.alive_count == 400 and _active(snap) == 200
    assert snap.records(snap.positions_of(snap.ids[-3:]))[0]["email"].endswith("@example.com")


# ---- 8. two imports adding the same field with different types ------------------------------------------------------

def test_a_field_made_meanwhile_with_another_type_is_a_clear_error(any_url):
    with segmenter.connect(any_url) as first, segmenter.connect(any_url) as second:
        first.add_contacts(_people(1))
        second.catalogue()  # the second has read the fields before the first adds 'plan'
        parsed_as_text = "email,plan\np1@example.com,gold\n"
        first.import_csv("email,plan\np2@example.com,3\n")
        # The second's plan was made for a catalogue without 'plan' (text); it now exists as number.
        from segmenter import csv_import
        parsed = csv_import.parse_csv(parsed_as_text, {"email": "text"})
        with pytest.raises(ContactError, match=r"'plan'.*number.*text"):
            second._write([r for _l, r in parsed.rows], dict(parsed.plan.new_fields))
        assert _sql_count(any_url) == 2  # nothing written
