"""The Python API of SPEC §4: segments, contacts (upsert, validation, custom fields), freshness (§8) and export."""
from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest

import segmenter

SEED_RULES = [{"field": "status", "operator": "equals", "value": "active"},
              {"field": "company", "operator": "contains", "value": "Inc"}]
PEOPLE = [
    {"email": "alice@acme-inc.com", "name": "Alice Chen", "company": "Acme Inc", "status": "active",
     "created_at": "2026-01-05T10:00:00Z"},
    {"email": "bob@globex.com", "name": "Bob", "company": "Globex LLC", "status": "active"},
    {"email": "carol@initech.com", "name": "Carol", "company": "Initech Inc", "status": "inactive"},
]


def test_seed_examples(seg):
    seg.add_contacts(PEOPLE)
    first = seg.create_segment("Active Enterprise", SEED_RULES)
    second = seg.create_segment("Active Enterprise", SEED_RULES)  # duplicate names are allowed
    assert list(first)[:4] == ["id", "name", "rules", "contacts_count"]
    assert first["contacts_count"] == 1 and second["id"] > first["id"]
    assert [s["id"] for s in seg.list_segments()] == [first["id"], second["id"]]
    contacts = seg.get_segment_contacts(first["id"])
    assert contacts == [{"id": 1, "email": "alice@acme-inc.com", "name": "Alice Chen", "company": "Acme Inc",
                         "status": "active", "created_at": "2026-01-05T10:00:00Z"}]


def test_module_level_functions_use_the_default_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'default.db'}"
    code = f"""
import json, segmenter
seg = segmenter.connect()
seg.add_contacts({PEOPLE!r})
made = segmenter.create_segment("Active Enterprise", {SEED_RULES!r})
print(json.dumps([made["contacts_count"], len(segmenter.list_segments()),
                  [c["email"] for c in segmenter.get_segment_contacts(made["id"])]]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"SEGMENTER_DATABASE_URL": url, "PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[1])})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[1, 1, ["alice@acme-inc.com"]]'


def test_default_url_is_a_sqlite_file_in_the_working_directory(tmp_path):
    code = "import segmenter; s = segmenter.connect(); print(s.url)"
    env = {"PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.stdout.strip() == "sqlite:///segmenter.db" and (tmp_path / "segmenter.db").exists()


def test_update_get_delete(seg):
    seg.add_contacts(PEOPLE)
    made = seg.create_segment("Active", SEED_RULES[:1])
    assert made["contacts_count"] == 2
    renamed = seg.update_segment(made["id"], name="Active Inc", rules=SEED_RULES)
    assert (renamed["name"], renamed["contacts_count"]) == ("Active Inc", 1)
    assert renamed["updated_at"] >= made["updated_at"]
    seg.delete_segment(made["id"])
    for call in (lambda: seg.get_segment(made["id"]), lambda: seg.delete_segment(made["id"]),
                 lambda: seg.update_segment(made["id"], name="x"), lambda: seg.get_segment_contacts(made["id"]),
                 lambda: seg.get_segment("abc")):
        with pytest.raises(segmenter.SegmentNotFound) as info:
            call()
        assert isinstance(info.value, LookupError) and "not found" in str(info.value)


def test_who_created_and_changed_a_segment(sqlite_url):
    with segmenter.connect(sqlite_url, user="ana@team") as ana:
        made = ana.create_segment("Mine", [])
    with segmenter.connect(sqlite_url) as other:
        changed = other.update_segment(made["id"], name="Ours", user="ben@team")
    assert (made["created_by"], changed["created_by"], changed["updated_by"]) == ("ana@team", "ana@team", "ben@team")


def test_add_contacts_upserts_by_email_and_returns_ids_in_order(seg):
    ids = seg.add_contacts(PEOPLE)
    assert ids == [1, 2, 3]
    again = seg.add_contacts([{"email": " CAROL@Initech.com ", "status": "active"}, {"email": "dan@x.io"}])
    assert again == [3, 4]
    carol = seg.contacts([{"field": "email", "operator": "equals", "value": "carol@initech.com"}])[0]
    assert (carol["status"], carol["company"], carol["name"]) == ("active", "Initech Inc", "Carol")


def test_ids_are_never_reused(seg, sqlite_url):
    seg.add_contacts(PEOPLE)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("DELETE FROM contacts WHERE id = 3")
    assert seg.add_contacts([{"email": "new@x.com"}]) == [4]


def test_created_at_defaults_to_insert_time_and_accepts_offsets(seg):
    before = dt.datetime.now(dt.timezone.utc)
    seg.add_contacts([{"email": "a@x.com"}, {"email": "b@x.com", "created_at": "2026-01-05T12:00:00+02:00"},
                      {"email": "c@x.com", "created_at": dt.date(2026, 1, 5)},
                      {"email": "d@x.com", "created_at": dt.datetime(2026, 1, 5, 9, 30)}])
    rows = {c["email"]: c["created_at"] for c in seg.contacts([])}
    assert rows["a@x.com"] >= before.strftime("%Y-%m-%dT%H:%M:%S")
    assert rows["b@x.com"] == "2026-01-05T10:00:00Z"
    assert rows["c@x.com"] == "2026-01-05T00:00:00Z"
    assert rows["d@x.com"] == "2026-01-05T09:30:00Z"


def test_custom_fields_are_typed_from_python_values(seg):
    seg.add_contacts([{"email": "a@x.com", "plan": "pro", "mrr": 12, "vip": True, "renewal": dt.date(2027, 1, 1),
                       "score": 1.5}])
    types = {f["name"]: (f["type"], f["custom"]) for f in seg.fields()}
    assert types["plan"] == ("text", True) and types["mrr"] == ("number", True)
    assert types["vip"] == ("boolean", True) and types["renewal"] == ("datetime", True)
    assert types["status"] == ("text", False) and types["created_at"] == ("datetime", False)
    assert seg.count([{"field": "renewal", "operator": "after", "value": "2026-12-31"},
                      {"field": "mrr", "operator": "greater_than", "value": 11}]) == 1
    contact = seg.contacts([])[0]
    assert list(contact)[:6] == ["id", "email", "name", "company", "status", "created_at"]
    assert contact["renewal"] == "2027-01-01T00:00:00Z" and contact["vip"] is True and contact["mrr"] == 12


@pytest.mark.parametrize("records,expected", [
    ([{"name": "No Email"}], "record 1: field 'email' is required"),
    ([{"email": "not-an-address"}], "record 1 (not-an-address): field 'email' 'not-an-address' does not look like an address"),
    ([{"email": "ok@x.com"}, {"email": "b@x.com", "mrr": 1}, {"email": "c@x.com", "mrr": "lots"}],
     "record 3 (c@x.com): field 'mrr' expects a number, got 'lots'"),
    ([{"email": "a@x.com", "created_at": "yesterday"}], "record 1 (a@x.com): field 'created_at' expects a datetime"),
    ([{"email": "a@x.com", "status": 5}], "record 1 (a@x.com): field 'status' expects text, got 5"),
    ([{"email": "a@x.com", "status": "active"}, "oops"], "record 2: must be a dict"),
    ([{"email": "a@x.com", "created_at": "x"}, {"email": "b@x.com", "name": ["x"]}], "record 2 (b@x.com): field 'name'"),
])
def test_invalid_records_reject_the_whole_call(seg, records, expected):
    seg.add_contacts([{"email": "keep@x.com", "mrr": 5}])
    with pytest.raises(segmenter.ContactError) as info:
        seg.add_contacts(records)
    assert isinstance(info.value, ValueError)
    assert any(expected in p for p in info.value.problems), info.value.problems
    assert [c["email"] for c in seg.contacts([])] == ["keep@x.com"]
    assert {f["name"] for f in seg.fields() if f["custom"]} == {"mrr"}  # no field created half-way


def test_freshness_across_connections_and_plain_sql(sqlite_url):
    first, second = segmenter.connect(sqlite_url), segmenter.connect(sqlite_url)
    first.add_contacts(PEOPLE)
    made = first.create_segment("Active Enterprise", SEED_RULES)
    assert second.get_segment(made["id"])["contacts_count"] == 1
    second.add_contacts([{"email": "zed@zed-inc.com", "company": "Zed Inc", "status": "Active"}])
    assert first.get_segment(made["id"])["contacts_count"] == 2
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE contacts SET status = 'inactive' WHERE email = 'alice@acme-inc.com'")
    assert first.count(SEED_RULES) == 1
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("INSERT INTO contacts (email, company, status) VALUES ('sql@x.com', 'SQL Inc', 'ACTIVE')")
        conn.execute("DELETE FROM contacts WHERE email = 'zed@zed-inc.com'")
    assert [c["email"] for c in first.get_segment_contacts(made["id"])] == ["sql@x.com"]
    second.update_segment(made["id"], rules=SEED_RULES[:1])
    assert first.get_segment(made["id"])["contacts_count"] == 2  # bob, sql
    second.add_contacts([{"email": "new@x.com", "tier": "gold"}])  # a new custom field from another connection
    assert first.count([{"field": "tier", "operator": "equals", "value": "GOLD"}]) == 1
    first.close(), second.close()


def test_freshness_from_another_process(sqlite_url):
    seg = segmenter.connect(sqlite_url)
    seg.add_contacts(PEOPLE)
    assert seg.count(SEED_RULES) == 1
    code = ("import segmenter; s = segmenter.connect(%r); "
            "s.add_contacts([{'email': 'p@x.com', 'company': 'P Inc', 'status': 'active'}])") % sqlite_url
    subprocess.run([sys.executable, "-c", code], check=True, cwd=__import__("pathlib").Path(__file__).parents[1])
    assert seg.count(SEED_RULES) == 2


def test_match_returns_a_typed_frame(seg):
    seg.add_contacts(PEOPLE + [{"email": "z@x.com", "mrr": 3.5, "vip": False}])
    frame = seg.match([{"field": "company", "operator": "contains", "value": "inc"}])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["id", "email", "name", "company", "status", "created_at", "mrr", "vip"]
    assert frame["email"].tolist() == ["alice@acme-inc.com", "carol@initech.com"]
    assert str(frame["created_at"].dt.tz) == "UTC"
    assert seg.match([{"field": "email", "operator": "equals", "value": "nobody@x.com"}]).empty


def test_paging(seg):
    seg.add_contacts([{"email": f"p{i}@x.com"} for i in range(10)])
    page = seg.contacts([], limit=3, offset=4)
    assert [c["id"] for c in page] == [5, 6, 7]
    assert seg.contacts([], limit=0) == [] and len(seg.contacts([], offset=8)) == 2
    with pytest.raises(segmenter.SegmenterError, match="limit"):
        seg.contacts([], limit=-1)


def test_export_csv_guards_formulas_and_counts_rows(seg, tmp_path):
    seg.add_contacts([{"email": "a@x.com", "name": "=HYPERLINK(\"x\")", "company": "+1 Inc", "status": "-x",
                       "mrr": 12, "phone": "+44 20"},
                      {"email": "b@x.com", "name": "@me", "company": "Plain, Quoted", "mrr": 2.5}])
    dest = tmp_path / "out.csv"
    assert seg.export_csv([], dest) == 2
    rows = list(csv.reader(io.StringIO(dest.read_text(encoding="utf-8"))))
    assert rows[0] == ["id", "email", "name", "company", "status", "created_at", "mrr", "phone"]
    assert rows[1][2:5] == ["'=HYPERLINK(\"x\")", "'+1 Inc", "'-x"] and rows[1][6:] == ["12", "'+44 20"]
    assert rows[2][2:4] == ["'@me", "Plain, Quoted"] and rows[2][6] == "2.5"
    made = seg.create_segment("b only", [{"field": "mrr", "operator": "less_than", "value": 5}])
    buffer = io.StringIO()
    assert seg.export_csv(made["id"], buffer) == 1
    assert buffer.getvalue().splitlines()[1].startswith("2,b@x.com,'@me,")


def test_repeated_email_in_one_call_later_record_wins_field_by_field(seg):
    ids = seg.add_contacts([{"email": "x@x.com", "name": "First", "created_at": "2020-01-01"},
                            {"email": "X@x.com", "status": "active"},
                            {"email": "x@x.com", "name": "Second"}])
    assert ids == [1, 1, 1]
    (contact,) = seg.contacts([])
    assert (contact["name"], contact["status"], contact["created_at"]) == ("Second", "active", "2020-01-01T00:00:00Z")


def test_none_clears_a_field_but_absent_keys_are_kept(seg):
    seg.add_contacts([{"email": "x@x.com", "name": "N", "company": "C"}])
    seg.add_contacts([{"email": "x@x.com", "company": None}])
    (contact,) = seg.contacts([])
    assert (contact["name"], contact["company"]) == ("N", None)


def test_rules_read_back_exactly_as_given(seg):
    seg.add_contacts([{"email": "a@x.com", "vip": True, "mrr": 2}])
    rules = [{"field": "vip", "operator": "is_true", "value": None},
             {"field": "created_at", "operator": "before", "value": "2030-01-01T10:00:00+02:00"},
             {"match": "any", "rules": [{"field": "mrr", "operator": "between", "value": [1, 2.5]},
                                        {"field": "status", "operator": "is_empty"}]}]
    made = seg.create_segment("As given", rules)
    assert made["rules"] == rules and seg.get_segment(made["id"])["rules"] == rules
    python_values = [{"field": "created_at", "operator": "between",
                      "value": (dt.date(2020, 1, 1), dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc))}]
    with pytest.raises(segmenter.RuleError, match="both dates or both datetimes"):
        seg.create_segment("Mixed", python_values)
    stored = seg.create_segment("Dates", [{"field": "created_at", "operator": "after", "value": dt.date(2020, 1, 1)}])
    assert stored["rules"][0]["value"] == "2020-01-01" and stored["contacts_count"] == 1
