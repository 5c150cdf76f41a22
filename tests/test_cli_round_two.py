"""CLI additions (SPEC §5, §3, §7): ``forget EMAIL…``, ``export --order-by --desc --columns``, and a segment that can
no longer be evaluated listed with its reason — run as ``python -m segmenter`` on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import sqlite3

import segmenter
from test_cli import assert_one_line_error, run

PEOPLE = [{"email": "b@x.io", "name": "bob", "score": 2}, {"email": "a@x.io", "name": "Alice", "score": 10},
          {"email": "c@x.io", "score": 5}, {"email": "d@x.io", "name": "alice"}]


def test_forget_erases_by_email_and_says_how_many(any_url):
    with segmenter.connect(any_url) as seg:
        seg.add_contacts(PEOPLE)
    result = run("forget", "A@x.io", "b@x.io", "nobody@x.io", "--database", any_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "erased 2 contacts (1 of the 3 emails matched no contact)"
    with segmenter.connect(any_url) as seg:
        assert sorted(c["email"] for c in seg.contacts([])) == ["c@x.io", "d@x.io"]
    assert_one_line_error(run("forget", "--database", any_url), "the following arguments are required: EMAIL")


def test_export_in_order_with_chosen_columns(any_url, tmp_path):
    with segmenter.connect(any_url) as seg:
        seg.add_contacts(PEOPLE)
        seg_id = seg.create_segment("everyone", [])["id"]
    out = tmp_path / "out.csv"
    result = run("export", str(seg_id), "-o", str(out), "--order-by", "name", "--columns", "name,email",
                 "--database", any_url)
    assert result.returncode == 0, result.stderr
    assert list(csv.reader(out.open(encoding="utf-8"))) == [
        ["name", "email"], ["Alice", "a@x.io"], ["alice", "d@x.io"], ["bob", "b@x.io"], ["", "c@x.io"]]
    result = run("export", str(seg_id), "-o", "-", "--order-by", "score", "--desc", "--database", any_url)
    assert [r["email"] for r in csv.DictReader(result.stdout.splitlines())] == ["a@x.io", "c@x.io", "b@x.io", "d@x.io"]
    never = tmp_path / "never.csv"
    assert_one_line_error(run("export", str(seg_id), "-o", str(never), "--order-by", "nope", "--database", any_url),
                          "unknown field 'nope'; expected one of: id, email")
    assert_one_line_error(run("export", str(seg_id), "-o", str(never), "--columns", "email,zip", "--database",
                              any_url), "unknown column 'zip'")
    assert not never.exists()


def test_segments_lists_a_broken_segment_with_its_reason(sqlite_url):
    with segmenter.connect(sqlite_url) as seg:
        seg.add_contacts([{"email": "a@x.io", "vip": True}])
        seg.create_segment("VIP", [{"field": "vip", "operator": "is_true"}])
        seg.create_segment("all", [])
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as con:
        con.execute("DELETE FROM custom_fields WHERE name = 'vip'")
    result = run("segments", "--database", sqlite_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["1", "VIP", "-"] and lines[2].split() == ["2", "all", "1"]
    assert lines[3].startswith("segment 1 cannot be evaluated: rule 1: unknown field 'vip'")
