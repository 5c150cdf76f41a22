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
