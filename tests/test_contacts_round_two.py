"""Contacts in and out (SPEC §1, §4): DataFrames as records (NaN/NaT/pd.NA mean "not given"), integers beyond 2^53,
erasure by email or rules leaving no copy behind, broken segments listed, and problems capped at 20."""
from __future__ import annotations

import datetime as dt
import sqlite3

import numpy as np
import pandas as pd
import pytest

import segmenter
from segmenter import ContactError, RuleError, snapshot_cache
from segmenter.snapshot import Snapshot

UTC = dt.UTC


@pytest.fixture(params=["memory", "sql"])
def any_seg(any_url, request):
    with segmenter.connect(any_url, backend=request.param) as s:
        yield s


# ---- DataFrames in --------------------------------------------------------------------------------------------------

def test_a_dataframe_adds_contacts_and_missing_cells_keep_stored_values(any_seg):
    any_seg.add_contacts([{"email": "ann@x.io", "company": "Acme", "score": 5, "joined": dt.date(2020, 1, 1)}])
    frame = pd.DataFrame({
        "email": ["ann@x.io", "new@x.io", "old@x.io"],
        "company": [np.nan, "Newco", None],            # NaN and None in a DataFrame: not given
        "score": [np.nan, 2.5, pd.NA],
        "joined": [pd.NaT, pd.Timestamp("2024-02-03"), pd.NaT],
        "vip": pd.array([pd.NA, True, False], dtype="boolean"),
        "visits": pd.array([3, pd.NA, 7], dtype="Int64"),
    })
    ids = any_seg.add_contacts(frame)
    assert ids[0] == 1 and len(set(ids)) == 3
    by_email = {c["email"]: c for c in any_seg.contacts([])}
    ann = by_email["ann@x.io"]
    assert (ann["company"], ann["score"], ann["joined"], ann["vip"], ann["visits"]) == (
        "Acme", 5, "2020-01-01T00:00:00Z", None, 3)
    new = by_email["new@x.io"]
    assert (new["company"], new["score"], new["joined"], new["vip"], new["visits"]) == (
        "Newco", 2.5, "2024-02-03T00:00:00Z", True, None)
    assert by_email["old@x.io"]["company"] is None and by_email["old@x.io"]["vip"] is False


def test_to_dict_records_just_works_and_none_in_a_dict_clears(any_seg):
    any_seg.add_contacts([{"email": "ann@x.io", "company": "Acme", "name": "Ann"}])
    frame = pd.DataFrame({"email": ["ann@x.io", "bo@x.io"], "company": [np.nan, "Bo Inc"], "n": [1, 2]})
    any_seg.add_contacts(frame.to_dict("records"))  # was: "field 'company' expects text, got nan"
    assert any_seg.match([])["company"].tolist() == ["Acme", "Bo Inc"]
    any_seg.add_contacts([{"email": "ann@x.io", "name": None}])  # a plain dict's None clears the field
    assert any_seg.contacts([])[0]["name"] is None and any_seg.contacts([])[0]["company"] == "Acme"


def test_a_dataframe_with_repeated_columns_or_bad_values_writes_nothing(seg):
    frame = pd.DataFrame([["a@x.io", "x"]], columns=["email", "email"])
    with pytest.raises(ContactError, match="repeated column names: email"):
        seg.add_contacts(frame)
    with pytest.raises(ContactError, match="record 2"):
        seg.add_contacts(pd.DataFrame({"email": ["a@x.io", "not-an-email"]}))
    assert seg.total_contacts() == 0


def test_an_integer_beyond_2_53_is_refused_with_a_hint_to_use_text(seg):
    with pytest.raises(ContactError, match=r"record 1 \(a@x.io\): field 'card' .*beyond ±2\^53.*text"):
        seg.add_contacts([{"email": "a@x.io", "card": 2**53 + 1}])
    seg.add_contacts([{"email": "a@x.io", "card": 2**53, "small": -(2**53)}])  # the edge itself is exact
    with pytest.raises(ContactError, match="beyond"):
        seg.add_contacts([{"email": "b@x.io", "card": -(2**53) - 1}])
    seg.add_contacts([{"email": "c@x.io", "code": str(2**60)}])  # as text it is kept whole
    assert seg.contacts([{"field": "email", "operator": "equals", "value": "c@x.io"}])[0]["code"] == str(2**60)


# ---- erasure ------------------------------------------------------------------------------------------------------

PEOPLE = [{"email": f"p{i}@x.io", "name": f"Person {i}", "company": "Erasable Ltd" if i % 3 == 0 else "Keep",
           "status": "active"} for i in range(30)]


def test_delete_contacts_by_email_and_by_rules(any_seg):
    any_seg.add_contacts(PEOPLE)
    everyone = any_seg.create_segment("everyone", [])["id"]
    assert any_seg.delete_contacts(["  P1@X.io ", "p2@x.io", "nobody@x.io"]) == 2
    assert any_seg.get_segment(everyone)["contacts_count"] == 28
    assert any_seg.delete_contacts([{"field": "company", "operator": "equals", "value": "erasable ltd"}]) == 10
    left = any_seg.get_segment_contacts(everyone)
    assert len(left) == 18 and not {"p1@x.io", "p2@x.io", "p0@x.io"} & {c["email"] for c in left}
    assert any_seg.delete_contacts([]) == 0 and any_seg.total_contacts() == 18  # [] is not "everyone"
    assert any_seg.delete_contacts("p4@x.io") == 1
    with pytest.raises(RuleError):
        any_seg.delete_contacts([{"field": "nope", "operator": "is_empty"}])
    with pytest.raises(ContactError, match="emails to erase must be non-empty text"):
        any_seg.delete_contacts(["p5@x.io", 7])
    assert any_seg.total_contacts() == 17  # a bad call erased nothing
    new = any_seg.add_contacts([{"email": "p1@x.io"}])
    assert new[0] > 30  # ids are never reused


def test_erasure_leaves_no_copy_in_the_cache_file_or_the_sqlite_file(sqlite_url, monkeypatch):
    monkeypatch.setattr(Snapshot, "cache_min_rows", 1)  # write the columnar cache even for a small table
    path = sqlite_url.removeprefix("sqlite:///")
    with segmenter.connect(sqlite_url) as first:
        first.add_contacts(PEOPLE + [{"email": "secret.person@x.io", "name": "Zebulon Quixotic", "company": "Hush"}])
    with segmenter.connect(sqlite_url, backend="memory") as s:
        assert s.count([]) == 31  # a full load from the database, which writes the cache file
        cache = snapshot_cache.path_for(s.engine)
        assert cache.exists() and b"Zebulon Quixotic" in cache.read_bytes()
        assert s.delete_contacts(["secret.person@x.io"]) == 1
        assert s.count([]) == 30 and s.count([{"field": "name", "operator": "contains", "value": "zebulon"}]) == 0
        assert cache.exists()  # written again from the database by the next full load
    for file in (cache, path, path + "-wal"):
        try:
            data = open(file, "rb").read()
        except FileNotFoundError:
            continue
        assert b"Zebulon" not in data and b"secret.person" not in data, file
    with segmenter.connect(sqlite_url, backend="memory") as again:  # a new process starts from the cache
        assert again.count([]) == 30


def test_erasure_is_seen_by_another_connection(any_url):
    with segmenter.connect(any_url, backend="memory") as a, segmenter.connect(any_url, backend="memory") as b:
        a.add_contacts(PEOPLE)
        assert b.count([]) == 30
        assert a.delete_contacts(["p0@x.io"]) == 1
        assert b.count([]) == 29 and b.contacts([{"field": "email", "operator": "equals", "value": "p0@x.io"}]) == []


# ---- broken segments, capped problems --------------------------------------------------------------------------

def test_a_segment_that_can_no_longer_be_evaluated_is_listed_with_an_error(sqlite_url):
    with segmenter.connect(sqlite_url) as first:
        first.add_contacts([{"email": "a@x.io", "vip": True}])
        ok = first.create_segment("all", [])
        broken = first.create_segment("VIP", [{"field": "vip", "operator": "is_true"}])
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as con:  # plain SQL, as an admin might
        con.execute("DELETE FROM custom_fields WHERE name = 'vip'")
    seg = segmenter.connect(sqlite_url)
    listed = {s["id"]: s for s in seg.list_segments()}
    assert listed[ok["id"]]["contacts_count"] == 1 and "error" not in listed[ok["id"]]
    bad = listed[broken["id"]]
    assert bad["contacts_count"] is None and "unknown field 'vip'" in bad["error"]
    assert seg.get_segment(broken["id"])["error"] == bad["error"]
    with pytest.raises(RuleError, match="unknown field 'vip'"):
        seg.get_segment_contacts(broken["id"])
    seg.close()


def test_rule_problems_are_capped_at_20_then_one_counting_line(seg):
    rules = [{"field": f"nope{i}", "operator": "equals", "value": "x"} for i in range(35)]
    with pytest.raises(RuleError) as caught:
        seg.count(rules)
    problems = caught.value.problems
    assert len(problems) == 21 and problems[0].startswith("rule 1: unknown field 'nope0'")
    assert problems[19].startswith("rule 20:") and problems[20] == "… and 15 more problems"
    with pytest.raises(RuleError) as exactly:
        seg.count(rules[:20])
    assert len(exactly.value.problems) == 20


@pytest.mark.parametrize("key", ["segment", "sample", "contacts_count", "xmin", "ctid", "rowid", "tableoid"])
def test_a_name_reserved_by_the_database_or_the_product_is_an_error_naming_it(seg, key):
    with pytest.raises(ContactError, match=f"'{key}' is a reserved field name"):
        seg.add_contacts([{"email": "a@x.io", key: "x"}])
    # no custom field was made (`segment` and `sample` are listed as pseudo-fields since SPEC §9, never as custom)
    assert seg.total_contacts() == 0 and key not in [f["name"] for f in seg.fields() if f["custom"]]
