"""SPEC §9, watching segments over time: records on create, on every change of rules and by `record_counts` /
`python -m segmenter record`; `history` (entered/left since the previous record) and `changes` (ids now vs a record),
the compact membership encoding, `SEGMENTER_HISTORY_DAYS` pruning; on SQLite and PostgreSQL, both back ends."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import func, select, text, update

import segmenter
from segmenter import SegmenterError
from segmenter.cli import main
from segmenter.errors import NoRecord
from segmenter.history import decode_ids, encode_ids
from segmenter.models import SegmentRecord

ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]


@pytest.fixture(params=["memory", "sql"])
def seg(request, any_url):
    with segmenter.connect(any_url, backend=request.param) as s:
        s.add_contacts([{"email": f"p{i}@x.com", "status": "active" if i % 2 else "new"} for i in range(10)])
        yield s


def _ids(seg, emails):
    return sorted(c["id"] for c in seg.contacts([{"field": "email", "operator": "in", "value": emails}]))


def test_a_record_on_create_and_on_every_change_of_rules(seg):
    s = seg.create_segment("Active", ACTIVE)
    first = seg.history(s["id"])
    assert len(first) == 1 and first[0]["contacts_count"] == 5 and (first[0]["entered"], first[0]["left"]) == (0, 0)
    assert first[0]["at"].endswith("Z")
    seg.update_segment(s["id"], name="Renamed")  # a name alone records nothing
    assert len(seg.history(s["id"])) == 1
    seg.update_segment(s["id"], rules=[{"field": "status", "operator": "equals", "value": "new"}])
    second = seg.history(s["id"])[1]
    assert (second["contacts_count"], second["entered"], second["left"]) == (5, 5, 5)
    seg.update_segment(s["id"], rules=[{"field": "status", "operator": "equals", "value": "new"}])
    assert seg.history(s["id"])[2]["entered"] == 0  # the same rules again: a change, recorded, nobody moved


def test_record_counts_history_and_changes(seg):
    s = seg.create_segment("Active", ACTIVE)
    broken = seg.create_segment("Broken later", [{"field": "status", "operator": "is_not_empty"}])
    with seg.engine.begin() as conn:  # a stored segment naming a field that no longer exists: skipped, not fatal
        conn.execute(text("UPDATE segments SET rules = :r WHERE id = :i"),
                     {"r": '[{"field": "gone", "operator": "is_empty"}]', "i": broken["id"]})
    seg.add_contacts([{"email": "p0@x.com", "status": "active"}, {"email": "p1@x.com", "status": "gone"},
                      {"email": "new@x.com", "status": "active"}])
    assert seg.record_counts() == 1
    hist = seg.history(s["id"])
    assert [(h["contacts_count"], h["entered"], h["left"]) for h in hist] == [(5, 0, 0), (6, 2, 1)]
    assert hist[0]["at"] < hist[1]["at"]
    seg.add_contacts([{"email": "p3@x.com", "status": "left"}, {"email": "p2@x.com", "status": "active"}])
    latest = seg.changes(s["id"])
    assert latest == {"since": hist[1]["at"], "entered": _ids(seg, ["p2@x.com"]), "left": _ids(seg, ["p3@x.com"])}
    since_first = seg.changes(s["id"], since=dt.datetime.fromisoformat(hist[0]["at"].replace("Z", "+00:00")))
    assert since_first["since"] == hist[0]["at"]
    assert since_first["entered"] == _ids(seg, ["p0@x.com", "new@x.com", "p2@x.com"])
    assert since_first["left"] == _ids(seg, ["p1@x.com", "p3@x.com"])
    assert seg.changes(s["id"], since=hist[1]["at"])["since"] == hist[1]["at"]  # ISO text works too
    with pytest.raises(NoRecord, match=f"segment {s['id']} has no membership record at or before 2000-01-01T00:00:00Z"):
        seg.changes(s["id"], since="2000-01-01")
    for bad in ("yesterday", "9999-12-31T23:59:59-10:00", 5):
        with pytest.raises(SegmenterError, match="since must be a date or an ISO 8601 datetime"):
            seg.changes(s["id"], since=bad)
    with pytest.raises(segmenter.SegmentNotFound):
        seg.history(999)


def test_changes_before_any_record_say_so(seg):
    s = seg.create_segment("Active", ACTIVE)
    with seg.engine.begin() as conn:  # a segment saved before history existed has no record
        conn.execute(text("DELETE FROM segment_records"))
    assert seg.history(s["id"]) == []
    with pytest.raises(NoRecord, match=f"segment {s['id']} has no membership record;"):
        seg.changes(s["id"])


def test_old_records_are_pruned_by_record(seg, monkeypatch):
    s = seg.create_segment("Active", ACTIVE)
    with seg.engine.begin() as conn:
        conn.execute(update(SegmentRecord).values(at=dt.datetime.now(dt.UTC) - dt.timedelta(days=11)))
    monkeypatch.setattr(seg, "history_days", "30")
    seg.record_counts()
    assert len(seg.history(s["id"])) == 2
    monkeypatch.setattr(seg, "history_days", "10")
    seg.record_counts()
    assert [h["entered"] for h in seg.history(s["id"])] == [0, 0]  # the oldest is gone; the first shows 0 and 0
    assert len(seg.history(s["id"])) == 2
    monkeypatch.setattr(seg, "history_days", "0")
    with pytest.raises(SegmenterError, match="SEGMENTER_HISTORY_DAYS must be a whole number of days >= 1, got '0'"):
        seg.record_counts()


def test_deleting_a_segment_deletes_its_records(seg):
    s = seg.create_segment("Active", ACTIVE)
    seg.delete_segment(s["id"])
    with seg.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SegmentRecord)).scalar_one() == 0


@pytest.mark.parametrize("density", [1.0, 0.5, 0.1, 0.02])
def test_membership_is_stored_in_at_most_a_byte_a_member(density):
    ids = np.flatnonzero(np.random.default_rng(7).random(1_000_000) < density) + 1
    blob = encode_ids(ids)
    assert np.array_equal(decode_ids(blob), ids)
    assert len(blob) <= len(ids)


def test_encoding_round_trips_the_edges():
    for ids in ([], [1], [1, 2, 3], [5, 2**31 - 1], list(range(1, 300, 7)) + [10**9, 10**9 + 1]):
        assert decode_ids(encode_ids(np.array(ids, dtype=np.int64))).tolist() == ids


def test_the_record_command(sqlite_url, capsys, monkeypatch):
    with segmenter.connect(sqlite_url) as s:
        s.add_contacts([{"email": "a@x.com", "status": "active"}])
        made = s.create_segment("Active", ACTIVE)
    assert main(["record", "--database", sqlite_url]) == 0
    assert capsys.readouterr().out == "recorded 1 segment\n"
    with segmenter.connect(sqlite_url) as s:
        assert len(s.history(made["id"])) == 2
    monkeypatch.setenv("SEGMENTER_HISTORY_DAYS", "soon")
    assert main(["record", "--database", sqlite_url]) == 1
    assert "SEGMENTER_HISTORY_DAYS must be a whole number of days >= 1, got 'soon'" in capsys.readouterr().err
