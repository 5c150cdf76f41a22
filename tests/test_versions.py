"""Segment versions (SPEC §3 *Versions*) through the Python API, on SQLite and PostgreSQL, and the revision that
adds them to an existing database."""
from __future__ import annotations

import re

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

import segmenter
from segmenter import SegmentConflict, SegmenterError, SegmentNotFound, store

HEAD = ScriptDirectory(str(store.MIGRATIONS)).get_current_head()  # the newest revision
ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]


@pytest.fixture
def any_seg(any_url):
    with segmenter.connect(any_url, user="ana@team.example") as s:
        yield s


def test_a_new_segment_is_at_version_1_and_each_change_adds_one(any_seg):
    made = any_seg.create_segment("Active", ACTIVE)
    assert made["version"] == 1
    assert list(made)[:4] == ["id", "name", "rules", "contacts_count"]  # SPEC's shape first, version after
    assert any_seg.update_segment(made["id"], name="Active")["version"] == 2  # the same value is still a change
    assert any_seg.update_segment(made["id"], rules=ACTIVE)["version"] == 3
    assert any_seg.update_segment(made["id"], name="x", rules=[])["version"] == 4  # one change, one step
    assert any_seg.update_segment(made["id"])["version"] == 4  # neither: nothing changes
    assert any_seg.get_segment(made["id"])["version"] == 4
    assert [s["version"] for s in any_seg.list_segments()] == [4]


def test_a_stale_expected_version_changes_nothing_and_names_who_changed_it(any_seg):
    made = any_seg.create_segment("Active", ACTIVE)
    any_seg.update_segment(made["id"], name="Renamed", expected_version=1, user="ana@team.example")
    with pytest.raises(SegmentConflict) as caught:
        any_seg.update_segment(made["id"], name="Mine", rules=[], expected_version=1, user="bo@team.example")
    message = str(caught.value)
    assert re.fullmatch(rf"segment {made['id']} is at version 2, last changed by ana@team\.example at "
                        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", message), message
    assert isinstance(caught.value, SegmenterError) and caught.value.version == 2
    kept = any_seg.get_segment(made["id"])
    assert (kept["name"], kept["rules"], kept["version"], kept["updated_by"]) == ("Renamed", ACTIVE, 2,
                                                                                  "ana@team.example")
    with pytest.raises(SegmentConflict):  # a stale version is said even when nothing would change
        any_seg.update_segment(made["id"], expected_version=1)
    with pytest.raises(SegmentConflict):
        any_seg.delete_segment(made["id"], expected_version=1)
    with pytest.raises(SegmentConflict):  # no version is that high (and PostgreSQL's INTEGER would refuse it)
        any_seg.update_segment(made["id"], name="n", expected_version=2**40)
    assert any_seg.get_segment(made["id"])["version"] == 2
    any_seg.delete_segment(made["id"], expected_version=2)
    with pytest.raises(SegmentNotFound):
        any_seg.get_segment(made["id"])


def test_without_expected_version_the_last_write_wins(any_seg):
    made = any_seg.create_segment("Active", ACTIVE)
    any_seg.update_segment(made["id"], name="first")
    assert any_seg.update_segment(made["id"], name="second")["name"] == "second"
    any_seg.delete_segment(made["id"])
    assert any_seg.list_segments() == []


@pytest.mark.parametrize("bad", [0, -1, "x", 1.5, True])
def test_a_malformed_expected_version_is_a_segmenter_error(seg, bad):
    made = seg.create_segment("Active", ACTIVE)
    with pytest.raises(SegmenterError, match="expected_version must be a whole number >= 1"):
        seg.update_segment(made["id"], name="n", expected_version=bad)
    assert seg.get_segment(made["id"])["version"] == 1


def test_an_unknown_segment_is_not_found_with_or_without_a_version(seg):
    with pytest.raises(SegmentNotFound):
        seg.update_segment(99, name="n", expected_version=1)
    with pytest.raises(SegmentNotFound):
        seg.delete_segment(99, expected_version=1)


def test_an_older_database_gets_version_1_on_every_segment(any_url):
    """Upgrade with data: a database at revision 0002 with segments in it is brought to the head on connect."""
    from alembic import command

    engine = store.make_engine(any_url)
    with store.writing(engine) as conn:
        command.upgrade(store._alembic_config(conn), "0002")
        conn.execute(text("INSERT INTO contacts (email, status) VALUES ('old@x.com', 'active')"))
        for name in ("Kept", "Also kept"):
            conn.execute(text("INSERT INTO segments (name, rules, created_by) VALUES (:n, :r, 'ana')"),
                         {"n": name, "r": '[{"field": "status", "operator": "equals", "value": "active"}]'})
    engine.dispose()
    with segmenter.connect(any_url) as s:
        assert [(g["name"], g["version"], g["contacts_count"]) for g in s.list_segments()] == [
            ("Kept", 1, 1), ("Also kept", 1, 1)]
        first = s.list_segments()[0]["id"]
        assert s.update_segment(first, name="Changed", expected_version=1)["version"] == 2
        with s.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD
