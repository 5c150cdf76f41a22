"""Breakdown (issue 14 item 16): round number ranges, periods chosen by the span of the dates, top values then an
honest "(other)", "(empty)" last — worked by hand, then the in-memory back end, SQLite-SQL and PostgreSQL-SQL
against a plain-Python reading of docs/rules.md *Breakdown* on random contacts and rules."""
from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_parity_sql import NOW, PROPERTY, Database, nodes

import segmenter
from segmenter import SegmenterError
from segmenter import breakdown as bd
from segmenter.reference import ReferenceBackend, is_empty
from segmenter.rules import validate_rules

UTC = dt.UTC


def labels(lo: float, hi: float, limit: int = 10) -> list[str]:
    edges, exponent = bd.number_edges(lo, hi, limit)
    return [bd.number_label(edges[i], edges[i + 1], exponent) for i in range(len(edges) - 1)]


# ---- numbers, by hand ------------------------------------------------------------------------------------------

def test_numbers_bin_on_round_edges_never_on_the_data():
    # the example: 0–1978.54 is ten ranges of 200, not ten of 197.854
    assert labels(0, 1978.54) == ["0–200", "200–400", "400–600", "600–800", "800–1,000", "1,000–1,200",
                                  "1,200–1,400", "1,400–1,600", "1,600–1,800", "1,800–2,000"]
    # a range holds its lower edge, not its upper: 2,000 itself needs an 11th range of 200, so the step is 500
    assert labels(0, 2000) == ["0–500", "500–1,000", "1,000–1,500", "1,500–2,000", "2,000–2,500"]
    assert labels(0, 1999.99) == labels(0, 1978.54)
    # steps are 1, 2 or 5 × 10ⁿ: the smallest that needs at most `limit` ranges
    assert labels(3, 41) == ["0–5", "5–10", "10–15", "15–20", "20–25", "25–30", "30–35", "35–40", "40–45"]
    assert labels(3, 41, limit=3) == ["0–20", "20–40", "40–60"]
    assert labels(0.5, 2.25) == ["0.4–0.6", "0.6–0.8", "0.8–1", "1–1.2", "1.2–1.4", "1.4–1.6", "1.6–1.8",
                                 "1.8–2", "2–2.2", "2.2–2.4"]
    assert labels(-7, 12) == ["-10 – -5", "-5 – 0", "0–5", "5–10", "10–15"]
    assert labels(12_345, 98_765, limit=5) == ["0–20,000", "20,000–40,000", "40,000–60,000", "60,000–80,000",
                                               "80,000–100,000"]


def test_one_value_gets_the_power_of_ten_around_it():
    assert labels(1978.54, 1978.54) == ["1,000–2,000"]
    assert labels(0, 0) == ["0–1"]
    assert labels(7, 7) == ["7–8"]
    assert labels(-5, -5) == ["-5 – -4"]
    assert labels(0.03, 0.03) == ["0.03–0.04"]


def test_an_edge_that_floats_cannot_hold_exactly_still_holds_its_value():
    # 0.3 / 0.1 is 2.9999999999999996 in floats: a naive floor(x / step) would put 0.3 in 0.2–0.3
    edges, _ = bd.number_edges(0.1, 0.9, 10)
    assert edges[2] == 0.3 and bd.bucket_of(0.3, edges) == 2
    assert bd.bucket_of(0.29999999999999993, edges) == 1


def test_huge_numbers_are_labelled_briefly_and_do_not_overflow():
    assert labels(-1e308, 1e308, limit=4) == ["-1e+308 – 0", "0–1e+308", "1e+308 and above"]
    assert labels(-1e308, 1e308) == ["-1e+308 – -5e+307", "-5e+307 – 0", "0–5e+307", "5e+307–1e+308",
                                     "1e+308–1.5e+308"]
    assert labels(0, 1e15)[0] == "0–2e+14"


# ---- dates, by hand --------------------------------------------------------------------------------------------

D = dt.date


@pytest.mark.parametrize(("first", "last", "period"), [
    (D(2026, 1, 1), D(2026, 1, 1), ("day", 1)),
    (D(2026, 1, 1), D(2026, 3, 3), ("day", 1)),      # 62 days
    (D(2026, 1, 1), D(2026, 3, 4), ("week", 1)),     # 63 days
    (D(2026, 1, 5), D(2026, 7, 5), ("week", 1)),     # Mondays 5 Jan … 29 Jun: 26 weeks
    (D(2026, 1, 5), D(2026, 7, 6), ("month", 1)),    # a 27th week
    (D(2021, 6, 1), D(2026, 5, 31), ("month", 1)),   # 60 months
    (D(2021, 5, 31), D(2026, 5, 1), ("year", 1)),    # 61 months
    (D(1967, 1, 1), D(2026, 12, 31), ("year", 1)),   # 60 years
    (D(1966, 1, 1), D(2026, 12, 31), ("years", 2)),  # 61 years
    (D(1, 1, 1), D(9999, 12, 31), ("years", 200)),
])
def test_the_period_is_the_finest_that_fits(first, last, period):
    assert bd.choose_period(first, last) == period


def test_periods_are_labelled_in_time_order_with_empty_ones_kept():
    days = [(D(2026, 5, 13), 3), (D(2026, 5, 30), 2), (D(2026, 5, 14), 1)]
    assert bd.period_rows(days, "week", 1) == [("week of 2026-05-11", 4), ("week of 2026-05-18", 0),
                                               ("week of 2026-05-25", 2)]
    assert bd.period_rows([(D(2025, 11, 1), 1), (D(2026, 2, 1), 5)], "month", 1) == [
        ("2025-11", 1), ("2025-12", 0), ("2026-01", 0), ("2026-02", 5)]
    assert bd.period_rows([(D(1990, 1, 1), 1), (D(2001, 1, 1), 2)], "years", 5) == [
        ("1990–1994", 1), ("1995–1999", 0), ("2000–2004", 2)]
    far = bd.period_rows([(D(1, 1, 1), 3), (D(9999, 1, 1), 2)], "years", 200)
    assert far[0] == ("0001–0199", 3) and far[-1] == ("9800–9999", 2) and len(far) == 50


# ---- through the Segmenter, on both back ends and both databases ------------------------------------------------

@pytest.fixture(params=["memory", "sql"])
def both(request, any_url):
    with segmenter.connect(any_url, backend=request.param) as s:
        s.add_contacts([
            {"email": "a@x.com", "status": "active", "mrr": 0, "vip": True, "created_at": "2026-05-13T10:00:00Z"},
            {"email": "b@x.com", "status": "trial", "mrr": 150, "vip": False, "created_at": "2026-05-14T23:59:59Z"},
            {"email": "c@x.com", "status": "active", "mrr": 1978.54, "created_at": "2026-05-30T00:00:00Z"},
            {"email": "d@x.com", "status": "Active", "mrr": 200, "vip": True, "created_at": "2026-05-11T00:00:00Z"},
            {"email": "e@x.com", "status": "", "vip": True, "created_at": "2026-05-17T23:59:59Z"},
            {"email": "f@x.com", "status": "lead", "mrr": 400, "created_at": "2026-05-13T00:00:00+02:00"},
        ])
        yield s


def test_breakdown_by_hand_on_every_back_end(both):
    assert both.breakdown([], "mrr") == [
        {"value": "0–200", "count": 2}, {"value": "200–400", "count": 1}, {"value": "400–600", "count": 1},
        {"value": "600–800", "count": 0}, {"value": "800–1,000", "count": 0}, {"value": "1,000–1,200", "count": 0},
        {"value": "1,200–1,400", "count": 0}, {"value": "1,400–1,600", "count": 0},
        {"value": "1,600–1,800", "count": 0}, {"value": "1,800–2,000", "count": 1}, {"value": "(empty)", "count": 1}]
    # ties by the lowest id (trial before Active before lead); "(other)" counts every remaining contact
    assert both.breakdown([], "status", limit=2) == [
        {"value": "active", "count": 2}, {"value": "trial", "count": 1},
        {"value": "(other)", "count": 2, "values": 2}, {"value": "(empty)", "count": 1}]
    assert both.breakdown([], "vip") == [{"value": "true", "count": 3}, {"value": "false", "count": 1},
                                         {"value": "(empty)", "count": 2}]
    # 11–30 May: 20 days → one bar a day; 2026-05-13T00:00+02:00 is 12 May in UTC
    days = both.breakdown([], "created_at")
    assert days[0] == {"value": "2026-05-11", "count": 1} and days[1] == {"value": "2026-05-12", "count": 1}
    assert [d["value"] for d in days] == [f"2026-05-{d}" for d in range(11, 31)]
    assert sum(d["count"] for d in days) == 6 and {"value": "2026-05-13", "count": 1} in days
    active = [{"field": "status", "operator": "equals", "value": "active"}]
    assert both.breakdown(active, "status") == [{"value": "active", "count": 2}, {"value": "Active", "count": 1}]
    assert both.breakdown([{"field": "status", "operator": "equals", "value": "nobody"}], "mrr") == []


def test_breakdown_limit_is_checked(seg):
    for bad in (0, -1, 1001, 2.5, True, "10"):
        with pytest.raises(SegmenterError, match="limit must be a whole number from 1 to 1,000"):
            seg.breakdown([], "status", limit=bad)


# ---- property: every back end gives what docs/rules.md says, read in plain Python ------------------------------

def oracle(rows: list[dict], field: str, ftype: str, limit: int) -> list[dict]:
    values = [r.get(field) for r in sorted(rows, key=lambda r: r["id"])]
    filled = [v for v in values if not is_empty(v)]
    out: list[dict] = []
    if ftype == "text":
        counts = Counter(filled)
        first = {v: i for i, v in reversed(list(enumerate(filled)))}
        ranked = sorted(counts, key=lambda v: (-counts[v], first[v]))
        out = [{"value": v, "count": counts[v]} for v in ranked[:limit]]
        rest = ranked[limit:]
        if rest:
            out.append({"value": "(other)", "count": sum(counts[v] for v in rest), "values": len(rest)})
    elif ftype == "boolean":
        out = [{"value": label, "count": filled.count(v)} for label, v in (("true", True), ("false", False))
               if filled.count(v)]
    elif ftype == "number" and filled:
        edges, exponent = bd.number_edges(min(filled), max(filled), limit)
        per = Counter(bisect.bisect_right(edges, x) - 1 for x in filled)
        out = [{"value": bd.number_label(edges[i], edges[i + 1], exponent), "count": per[i]}
               for i in range(len(edges) - 1)]
    elif ftype == "datetime" and filled:
        dates = [v.astimezone(UTC).date() for v in filled]
        period, n = bd.choose_period(min(dates), max(dates))
        out = [{"value": v, "count": c} for v, c in bd.period_rows(((d, 1) for d in dates), period, n)]
    empty = len(values) - len(filled)
    return out + ([{"value": "(empty)", "count": empty}] if empty else [])


BASE = dt.datetime(2024, 3, 11, 6, 30, tzinfo=UTC)
SCALES = [dt.timedelta(hours=30), dt.timedelta(days=70), dt.timedelta(days=190), dt.timedelta(days=1900),
          dt.timedelta(days=365 * 70)]


@st.composite
def moments(draw, scale):
    if scale is None:  # anywhere in the years SPEC allows, next to 0001 and 9999 too
        return draw(st.one_of(st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23)),
                              st.sampled_from([dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)])
                              )).replace(tzinfo=UTC)
    nudge = draw(st.sampled_from([dt.timedelta(0), dt.timedelta(microseconds=-1)]))
    return BASE + draw(st.floats(-1, 1)) * scale + nudge


numbers = st.one_of(st.integers(-3, 3), st.integers(0, 5000), st.sampled_from([0.1, 0.3, 0.7, 1978.54, -250.5, 2000]),
                    st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([1e15, -1e300, 1e300]))
WORDS = ["active", "Active", "ACTIVE", "trial", "lead", "churned", "Müller", "müller", "a", "b", "c", "d", "e", "f",
         "g", "h", "i", "j", "k", " x ", "(other)"]


@st.composite
def people(draw):
    created, seen = draw(st.sampled_from([*SCALES, None])), draw(st.sampled_from([*SCALES, None]))
    out = []
    for i in range(draw(st.integers(0, 30))):
        out.append({"email": f"p{i}@x.com", "status": draw(st.one_of(st.none(), st.just(""), st.sampled_from(WORDS))),
                    "plan": draw(st.one_of(st.none(), st.sampled_from(WORDS[:6]))),
                    "name": None, "company": None,
                    "mrr": draw(st.one_of(st.none(), numbers)), "vip": draw(st.one_of(st.none(), st.booleans())),
                    "created_at": draw(st.one_of(st.none(), moments(created))),
                    "seen_at": draw(st.one_of(st.none(), moments(seen)))})
    return out


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    from helpers import fresh_pg_database
    with fresh_pg_database("seg_breakdown") as url:
        dbs = [Database("sqlite", f"sqlite:///{tmp_path_factory.mktemp('breakdown') / 'b.db'}"),
               Database("postgresql", url)]
        yield dbs
        for db in dbs:
            db.engine.dispose()


_ids = itertools.count(1)
TYPES = {"status": "text", "plan": "text", "mrr": "number", "vip": "boolean", "created_at": "datetime",
         "seen_at": "datetime"}


@settings(max_examples=80, **PROPERTY)
@given(people=people(), rules=st.lists(nodes(), max_size=2), limit=st.sampled_from([1, 2, 3, 10]))
def test_every_back_end_breaks_down_as_the_docs_say(databases, people, rules, limit):
    rows = [{"id": next(_ids), **p} for p in people]
    for db in databases:
        db.refill(rows)
    checked = validate_rules(rules, databases[0].back_ends["sql"].catalogue())
    matched = set(ReferenceBackend(rows).ids(rules, NOW))
    mine = [r for r in rows if r["id"] in matched]
    for field, ftype in TYPES.items():
        expected = oracle(mine, field, ftype, limit)
        for db in databases:
            for name, back_end in db.back_ends.items():
                got = back_end.breakdown(checked, NOW, field, limit)
                assert got == expected, (name, db.name, field, limit, rules)
