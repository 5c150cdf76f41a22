"""``check_records`` takes a fast path for values already in their stored shape once a key is resolved; every
record must still be checked exactly as if it were the first (the slow path decides on anything unusual)."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from segmenter.contact_frames import without_missing
from segmenter.contacts import check_records
from segmenter.fields import Catalogue, Field

UTC = dt.timezone.utc
ODD = [
    {"name": "ok\ud800"}, {"name": "nul\x00"}, {"name": ""}, {"name": None}, {"name": 5},
    {"mrr": math.nan}, {"mrr": math.inf}, {"mrr": 2**53}, {"mrr": 2**53 + 1}, {"mrr": -(2**53) - 1}, {"mrr": "12"},
    {"mrr": True}, {"mrr": 1.5}, {"vip": "yes"}, {"vip": 1}, {"vip": False},
    {"created_at": dt.datetime(2026, 1, 1)}, {"created_at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))},
    {"created_at": "2026-01-01"}, {"created_at": dt.date(2026, 1, 2)}, {"created_at": None},
    {"Name": "two keys", "name": "one field"}, {"email": "A\u200b@x.io"}, {"email": "tab\t@x.io"},
]


def _first(i: int) -> dict:
    return {"email": f"first{i}@x.io", "name": "Ana", "mrr": 1.0, "vip": True,
            "created_at": dt.datetime(2025, 1, 1, tzinfo=UTC)}


@pytest.mark.parametrize("odd", ODD, ids=repr)
def test_a_record_after_others_is_checked_as_if_it_came_first(odd):
    alone = {"email": "odd@x.io", **odd}
    catalogue = Catalogue([Field("mrr", "number"), Field("vip", "boolean")])
    out_alone, fields_alone, problems_alone = check_records([alone], catalogue)
    out, fields, problems = check_records([_first(i) for i in range(3)] + [alone], catalogue)
    assert out[3:] == out_alone
    assert fields == fields_alone
    assert [p.replace("record 4", "record 1", 1) for p in problems] == problems_alone
    for a, b in zip(out[3:], out_alone):
        assert {k: type(v) for k, v in a.items()} == {k: type(v) for k, v in b.items()}


def test_plain_records_pass_through_and_missing_values_are_dropped():
    plain = {"email": "a@x.io", "mrr": 1.5, "when": dt.datetime(2026, 1, 1, tzinfo=UTC), "vip": None}
    assert without_missing(plain) is plain
    assert without_missing({"email": "a@x.io", "mrr": math.nan}) == {"email": "a@x.io"}


def test_the_sqlite_datetime_shortcut_writes_what_sqlalchemy_writes():
    from sqlalchemy import create_engine

    from segmenter import store
    from segmenter.models import UTCDateTime

    dialect = create_engine("sqlite://").dialect
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    fast = store._sqlite_datetime(process)
    values = [dt.datetime(1, 1, 1, tzinfo=UTC), dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
              dt.datetime(2026, 1, 5, 10, tzinfo=UTC), dt.datetime(999, 3, 4, 5, 6, 7, 8, tzinfo=UTC),
              dt.datetime(2026, 1, 5, 10, tzinfo=dt.timezone(dt.timedelta(hours=-3))), dt.datetime(2026, 1, 5), None]
    assert [fast(v) for v in values] == [process(v) for v in values]


# ---- a column at a time (contacts._check_columns) --------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import segmenter.contacts as contacts  # noqa: E402

PLAIN = {"email": st.sampled_from(["a@x.io", "B@X.IO ", "c@y.org", "d@z.co.uk"]),
         "text": st.sampled_from(["Ana", "", "Zoë", "acme inc", None]),
         "number": st.sampled_from([0.0, 1.5, -3, 2**53, None]),
         "boolean": st.sampled_from([True, False, None]),
         "datetime": st.sampled_from([dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(1, 1, 1, tzinfo=UTC), None])}
ODD_VALUES = st.sampled_from([math.nan, math.inf, 2**53 + 1, "x\ud800", "nul\x00", "A\u200b@x.io", "tab\t@x.io",
                              "no-at", "", None, True, 1, "12", dt.datetime(2026, 1, 1), dt.date(2026, 1, 2),
                              dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))), b"bytes"])
KIND = {"email": "email", "name": "text", "Company": "text", "mrr": "number", "vip": "boolean",
        "created_at": "datetime", "plan": "text", "Signed Up": "datetime", "score": "number", "id": "number",
        "E-mail": "email"}


GOOD_KEYS = ["name", "Company", "mrr", "vip", "created_at", "plan", "Signed Up", "score"]
BAD_KEYS = ["id", "E-mail", "  ", 7]


@st.composite
def uniform_records(draw):
    """Mostly what the column path takes (the same keys, plain values), with one thing otherwise in some: an odd
    value in one cell, a key it must leave to the record path, or a record whose keys differ."""
    keys = ["email", *draw(st.lists(st.sampled_from(GOOD_KEYS), max_size=6, unique=True))]
    twist = draw(st.sampled_from(["none", "none", "odd cell", "bad key", "no email", "other keys"]))
    if twist == "bad key":
        keys.insert(draw(st.integers(0, len(keys))), draw(st.sampled_from(BAD_KEYS)))
    if twist == "no email":
        keys.remove("email")
    records = [{k: draw(PLAIN[KIND.get(k, "text")]) for k in keys} for _ in range(draw(st.integers(1, 6)))]
    if twist == "odd cell":
        rec = draw(st.sampled_from(records))
        rec[draw(st.sampled_from(keys))] = draw(ODD_VALUES)
    if twist == "other keys" and len(records) > 1:
        records[-1] = dict(reversed(list(records[-1].items()))) if len(keys) > 1 else {**records[-1], "plan": "x"}
    return records


def _checked(records, catalogue, columns_from):
    saved = contacts.COLUMNS_FROM
    contacts.COLUMNS_FROM = columns_from
    try:
        return contacts.check_records(records, catalogue)
    finally:
        contacts.COLUMNS_FROM = saved


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uniform_records())
def test_checking_a_column_at_a_time_gives_what_checking_record_by_record_gives(records):
    catalogue = Catalogue([Field("mrr", "number"), Field("vip", "boolean")])
    by_columns = _checked(records, catalogue, 1)
    by_records = _checked(records, catalogue, 10**12)
    assert by_columns == by_records
    for a, b in zip(by_columns[0], by_records[0]):
        assert list(a) == list(b)  # the same keys in the same order
        assert {k: type(v) for k, v in a.items()} == {k: type(v) for k, v in b.items()}


def test_a_big_uniform_write_takes_the_column_path():
    """The demo's shape (new custom fields, empty values, UTC datetimes) is the case the path is for: it must not
    quietly fall back on every record."""
    from segmenter.contacts import key_index, plain_values
    from segmenter.demo import demo_frame

    frame = demo_frame(2_000)
    columns = {c: plain_values(frame[c]) for c in frame.columns}
    records = [dict(zip(columns, row)) for row in zip(*columns.values())]
    core = Catalogue([])
    checked = contacts._check_columns(records, key_index([f.name for f in core]), {f.name: f.type for f in core})
    assert checked is not None
    assert (checked[0], checked[1], []) == _checked(records, core, 10**12)
    assert checked[1] == {"plan": "text", "country": "text", "mrr": "number", "vip": "boolean"}


MORE_ODD = [{"email": "é@x.io"}, {"email": "no-at"}, {"email": "a\x01b@x.io"}, {"email": ""}, {"email": None},
            {"mrr": -(2**53)}, {"name": "x\ud800y"}]


@pytest.mark.parametrize("odd", ODD + MORE_ODD, ids=repr)
def test_one_odd_value_among_plain_records_is_judged_as_the_record_path_judges_it(odd):
    """Every check of the column path, one value at a time: the same rows, new fields and problems either way."""
    catalogue = Catalogue([Field("mrr", "number"), Field("vip", "boolean")])
    records = [_first(i) for i in range(5)]
    records.insert(2, {**_first(9), **odd})
    assert _checked(records, catalogue, 1) == _checked(records, catalogue, 10**12)


# ---- a column at a time into SQLite (store._write_columns) -------------------------------------------------

def _table(url: str) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        rows = db.execute("SELECT * FROM contacts ORDER BY id").fetchall()
        logged = db.execute("SELECT contact_id FROM contact_changes ORDER BY seq").fetchall()
    return rows + [("log", *row) for row in logged]


@pytest.mark.parametrize("twist", ["all new", "all known", "only emails known", "one known", "one repeated",
                                   "other keys", "other keys, all known"])
def test_a_big_write_by_columns_stores_what_the_general_path_stores(tmp_path, monkeypatch, twist):
    """The same table, ids and change log with the column path and without it (forced off), for the shape it takes
    and for the shapes it must leave to the general path."""
    import segmenter
    from segmenter import store

    records = [{"email": f"c{i}@x.io", "name": f"N{i % 7}", "mrr": float(i % 5) if i % 3 != 1 else None,
                "created_at": dt.datetime(2020, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=i), "vip": i % 2 == 0}
               for i in range(store.COPY_FROM + 2_000)]
    if twist == "one repeated":
        records[-1] = {**records[-1], "email": records[0]["email"]}
    if twist.startswith("other keys"):  # new: an absent key is NULL; known: it is left alone (the general path)
        records[0] = {k: v for k, v in records[0].items() if k != "name"}
    results, taken = [], []
    real = store._write_columns

    def spy(*args):
        got = real(*args)
        taken.append(got is not None)
        return got

    for label in ("columns", "general"):
        monkeypatch.setattr(store, "_write_columns", spy if label == "columns" else lambda *args: None)
        url = f"sqlite:///{tmp_path / label}.db"
        with segmenter.connect(url, backend="sql") as seg:
            if twist == "one known":
                seg.add_contacts([{"email": records[3]["email"], "name": "before"}])
            if twist in ("all known", "only emails known", "other keys, all known"):  # first as others wrote them: small batches, then ours
                for i in range(0, len(records), 5_000):
                    seg.add_contacts([{**r, "name": "old", "vip": None} for r in records[i:i + 5_000]])
            ids = seg.add_contacts([{"email": r["email"]} for r in records] if twist == "only emails known"
                                   else records)
        results.append((ids, _table(url)))
    assert results[0] == results[1]
    assert len(set(results[0][0])) == len({r["email"] for r in records})
    # the column path took the writes it is for, and only those (the earlier small batches are below its size)
    assert taken == [twist in ("all new", "all known", "only emails known", "other keys")]


def test_missing_values_in_a_big_write_still_mean_not_given(tmp_path):
    """add_contacts tries the column path on the records as given; NaN, NaT and pd.NA send the write to the record
    path, where they mean "not given": a known contact keeps its stored value."""
    import pandas as pd

    import segmenter

    n = 1_500
    with segmenter.connect(f"sqlite:///{tmp_path / 'nan.db'}") as seg:
        seg.add_contacts([{"email": f"m{i}@x.io", "mrr": 1.0, "status": "old"} for i in range(n)])
        again = [{"email": f"m{i}@x.io", "mrr": 2.0, "status": "new"} for i in range(n)]
        again[700]["mrr"], again[800]["status"], again[900]["mrr"] = math.nan, pd.NA, pd.NaT
        seg.add_contacts(again)
        got = {c["email"]: (c["mrr"], c["status"]) for c in seg.contacts([])}
    assert got["m700@x.io"] == (1.0, "new") and got["m800@x.io"] == (2.0, "old") and got["m900@x.io"] == (1.0, "new")
    assert got["m1@x.io"] == (2.0, "new") and len(got) == n


@pytest.mark.parametrize("created", [True, False])
def test_a_big_write_leaves_the_callers_records_as_they_were(tmp_path, created):
    """The column path may pass the given dicts on as rows: nothing downstream may change them (created_at is added
    to a copy), and the stored contacts get created_at all the same."""
    import copy

    import segmenter

    records = [{"email": f"k{i}@x.io", "name": "K", **({"created_at": dt.datetime(2021, 1, 1, tzinfo=UTC)}
                                                        if created else {})} for i in range(1_500)]
    before = copy.deepcopy(records)
    with segmenter.connect(f"sqlite:///{tmp_path / 'same.db'}") as seg:
        seg.add_contacts(records)
        stored = seg.contacts([], limit=3)
    assert records == before
    assert all(c["created_at"] for c in stored)
