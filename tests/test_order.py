"""Order of listed and exported contacts (SPEC §3 *Order*): every back end (memory and SQL over SQLite, SQL and
memory over PostgreSQL) sorts the whole result exactly as SPEC read literally in plain Python — lower() by code
point for text, false before true, empty values last in both directions, ties by id ascending — before the page."""
from __future__ import annotations

import datetime as dt
import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import segmenter
from segmenter import RuleError, SegmenterError, reference
from segmenter.order import Order
from segmenter.rules import validate_rules
from test_parity_sql import FIELDS, NOW, contacts, databases, nodes  # noqa: F401 - databases is a fixture

_ids = itertools.count(10_000)


def _empty(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def expected_order(rows: list[dict], field: str, field_type: str, descending: bool) -> list[int]:
    """SPEC §3 in plain Python: filled values by lower() (text) or by value, ties by id ascending (a stable sort of
    rows already in id order, reversed stably); then the empty ones, by id."""
    rows = sorted(rows, key=lambda r: r["id"])
    filled = [r for r in rows if not _empty(r.get(field))]
    empty = [r for r in rows if _empty(r.get(field))]

    def key(r):
        v = r[field]
        return v.lower() if field_type == "text" else v

    filled.sort(key=key, reverse=descending)  # Python's sort stays stable with reverse=True
    return [r["id"] for r in filled + empty]


@settings(max_examples=120, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(people=contacts(), rules=st.lists(nodes(), max_size=2), field=st.sampled_from(sorted(FIELDS)),
       descending=st.booleans(), limit=st.one_of(st.none(), st.integers(0, 6)), offset=st.integers(0, 4))
def test_every_back_end_orders_the_whole_result_like_spec(databases, people, rules, field, descending,  # noqa: F811
                                                          limit, offset):
    rows = [{"id": next(_ids), **p} for p in people]
    for db in databases:
        db.refill(rows)
    lite, pg = databases
    checked = validate_rules(rules, lite.sql.catalogue())
    order = Order(field, FIELDS[field], descending)
    matched = set(reference.matching_ids(checked, rows, NOW))
    expected = expected_order([r for r in rows if r["id"] in matched], field, FIELDS[field], descending)
    end = None if limit is None else offset + limit
    for name, backend in (("memory", lite.memory), ("sqlite-sql", lite.sql), ("postgresql-sql", pg.sql),
                          ("memory-on-postgresql", pg.memory)):
        page = [r["id"] for r in backend.page(checked, NOW, limit, offset, order=order)]
        assert page == expected[offset:end], (name, field, descending, rules)
        frames = list(backend.frames(checked, NOW, 3, order=order))
        assert [int(i) for f in frames for i in f["id"]] == expected, (name, "frames", field, descending)


# ---- through the Python API ---------------------------------------------------------------------------------------

PEOPLE = [
    {"email": "a@x.io", "name": "bob", "score": 2, "vip": True, "seen": dt.date(2024, 1, 2)},
    {"email": "b@x.io", "name": "Alice", "score": None, "vip": False,
     "seen": dt.datetime(2023, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)},
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
    assert frame.loc[frame["email"] == "a@x.io", "seen"].iloc[0] == dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
