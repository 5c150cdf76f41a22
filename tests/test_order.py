"""Order of listed and exported contacts (SPEC §3 *Order*) and export columns (SPEC §7) through the Python API, on
every back end over SQLite and PostgreSQL. The property test against SPEC read in plain Python, on random contacts
and rules, is in test_parity_sql.py."""
from __future__ import annotations

import datetime as dt

import pytest

import segmenter
from segmenter import RuleError, SegmenterError

# ---- through the Python API ---------------------------------------------------------------------------------------

PEOPLE = [
    {"email": "a@x.io", "name": "bob", "score": 2, "vip": True, "seen": dt.date(2024, 1, 2)},
    {"email": "b@x.io", "name": "Alice", "score": None, "vip": False,
     "seen": dt.datetime(2023, 12, 31, 23, 59, 59, tzinfo=dt.UTC)},
    {"email": "c@x.io", "name": "", "score": -1.5, "vip": None},
    {"email": "d@x.io", "name": "ÉMILE", "score": 2, "vip": True, "seen": dt.date(2024, 1, 2)},
    {"email": "e@x.io", "name": "alice", "score": 10, "vip": False},
    {"email": "f@x.io", "name": "Zoë", "score": 0, "vip": None, "seen": dt.date(2025, 6, 1)},
]


@pytest.fixture(params=["memory", "sql"])
def filled(any_url, request):
    with segmenter.connect(any_url, backend=request.param) as s:
        s.add_contacts(PEOPLE)
        yield s


@pytest.mark.parametrize("field, descending, ids", [
    ("name", False, [2, 5, 1, 6, 4, 3]),  # alice/Alice tie → id; 'zoë' < 'émile' by code point; '' is empty: last
    ("name", True, [4, 6, 1, 2, 5, 3]),   # ties by id ascending even when descending; empty still last
    ("score", False, [3, 6, 1, 4, 5, 2]),
    ("score", True, [5, 1, 4, 6, 3, 2]),
    ("vip", False, [2, 5, 1, 4, 3, 6]),  # false before true
    ("vip", True, [1, 4, 2, 5, 3, 6]),
    ("seen", False, [2, 1, 4, 6, 3, 5]),
    ("seen", True, [6, 1, 4, 2, 3, 5]),
    ("id", True, [6, 5, 4, 3, 2, 1]),
])
def test_order_by_each_type_on_every_back_end(filled, field, descending, ids):
    everyone = filled.create_segment("everyone", [])["id"]
    assert [c["id"] for c in filled.get_segment_contacts(everyone, order_by=field, descending=descending)] == ids
    assert [c["id"] for c in filled.get_segment_contacts(everyone, order_by=field, descending=descending,
                                                         limit=2, offset=3)] == ids[3:5]
    assert filled.match([], order_by=field, descending=descending)["id"].tolist() == ids
    assert [c["id"] for c in filled.contacts([], order_by=field, descending=descending)] == ids


def test_no_order_is_by_id_and_an_unknown_field_names_the_valid_ones(filled):
    assert [c["id"] for c in filled.contacts([])] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(RuleError, match=r"unknown field 'nope'; expected one of: id, email, name"):
        filled.match([], order_by="nope")
    with pytest.raises(SegmenterError, match="descending must be true or false"):
        filled.contacts([], order_by="name", descending="sideways")


def test_export_csv_in_order_with_chosen_columns(filled, tmp_path):
    out = tmp_path / "out.csv"
    assert filled.export_csv([], out, columns=["email", "score"], order_by="score", descending=True) == 6
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines == ["email,score", "e@x.io,10", "a@x.io,2", "d@x.io,2", "f@x.io,0", "c@x.io,-1.5", "b@x.io,"]
    with pytest.raises(RuleError, match=r"unknown column 'nope'; expected some of: id, email, name, company"):
        filled.export_csv([], tmp_path / "no.csv", columns=["email", "nope"])
    with pytest.raises(RuleError, match="asked for twice"):
        filled.export_csv([], tmp_path / "no.csv", columns=["email", "email"])
    assert not (tmp_path / "no.csv").exists()  # checked before the file is created


def test_match_returns_typed_columns(filled):
    frame = filled.match([], order_by="name")
    assert str(frame["seen"].dtype).startswith("datetime64[") and str(frame["seen"].dt.tz) == "UTC"
    assert frame["score"].dtype == "float64" and str(frame["vip"].dtype) == "boolean"
    assert str(frame["name"].dtype) == "string" and frame["id"].dtype == "int64"
    assert frame.loc[frame["email"] == "a@x.io", "seen"].iloc[0] == dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
