"""Property: the in-memory back end, SQLite-SQL and PostgreSQL-SQL return exactly the contact ids that the
independent oracle (segmenter.reference, SPEC §2 read on the raw rules) gives, on random contacts and random rules:
Unicode case, NULL vs '', LIKE wildcards and the escape character, quotes, day and relative-day boundaries to the
microsecond, offsets, numbers on the bound, nested groups, custom fields. ``check_back_ends`` is the property's
body; tests/test_oracle_mutants.py runs the same body against broken operators to show it catches them."""
from __future__ import annotations

import datetime as dt
import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete, insert

from helpers import fresh_pg_database
from segmenter import store
from segmenter.evaluate import MemoryBackend
from segmenter.operators import operators_for
from segmenter.order import Order
from segmenter.reference import ReferenceBackend
from segmenter.rules import validate_rules
from segmenter.snapshot import Snapshot
from segmenter.sql import SqlBackend

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 5, 17, 9, 30, 15, 250_000, tzinfo=UTC)  # one fixed `now` for every back end
CUSTOM = {"plan": "text", "mrr": "number", "vip": "boolean", "seen_at": "datetime"}
FIELDS = {"email": "text", "name": "text", "company": "text", "status": "text", "created_at": "datetime",
          "id": "number", **CUSTOM}

WORDS = ["Acme Inc", "acme inc.", "MÜLLER GmbH", "müller gmbh", "MÜLLER", "müller", "Straße", "STRASSE", "ẞ",
         "İstanbul", "ΟΔΟΣ", "οδος", "100%", "a_b", "a/b", "50/50%_", "O'Brien", 'say "hi"', "back\\slash", " spaced ", "Ltd", "ltd",
         "zoë", "ZOË", "Ǆ", "", "x"]
ALPHABET = "aAbBüÜßẞİıΣσς%_/\\'\" ."
texts = st.one_of(st.sampled_from(WORDS), st.sampled_from(WORDS), st.text(alphabet=ALPHABET, max_size=6))
variants = st.sampled_from([w for w in WORDS if w]).flatmap(
    lambda w: st.sampled_from([w, w.upper(), w.lower(), w.swapcase(), w[:3], w[-3:], w[1:4]]).filter(bool))
rule_texts = st.one_of(variants, variants, st.text(alphabet=ALPHABET, min_size=1, max_size=3))

DAY = dt.datetime(2024, 3, 11, tzinfo=UTC)  # data sits around this midnight and around now - 0..3 days
EDGES = [dt.timedelta(0), dt.timedelta(microseconds=1), -dt.timedelta(microseconds=1)]
# The boundaries SPEC draws: D 00:00 and D+1 00:00 (for D the 10th, 11th, 12th), now - N days, one microsecond
# either side of each; then times inside the days.
moments = st.one_of(
    st.builds(lambda d, e: DAY + dt.timedelta(days=d) + e, st.integers(-1, 2), st.sampled_from(EDGES)),
    st.builds(lambda d, e: NOW - dt.timedelta(days=d) + e, st.integers(0, 3), st.sampled_from(EDGES)),
    st.builds(lambda s, e: DAY + dt.timedelta(seconds=s) + e, st.integers(-26 * 3600, 26 * 3600).map(
        lambda s: s - s % 1800), st.sampled_from(EDGES)),
)
DAYS = [(DAY + dt.timedelta(days=d)).date() for d in (-1, 0, 1)] + [(NOW - dt.timedelta(days=d)).date() for d in range(4)]
offsets = st.sampled_from([0, 2, -5, 14, 5.5])
numbers = st.one_of(st.integers(-3, 3), st.sampled_from([0.5, 2.25, -1.5, 1e15]))


def _iso(moment: dt.datetime, hours: float) -> str:
    return moment.astimezone(dt.timezone(dt.timedelta(hours=hours))).isoformat()


@st.composite
def contacts(draw, on_bounds: tuple[list, list] = ([], [])):
    """Random contacts; given the rules' own bounds (numbers, moments), a share of the values sits exactly on them."""
    bound_numbers, bound_moments = on_bounds
    number = st.one_of(numbers, st.sampled_from(bound_numbers)) if bound_numbers else numbers
    moment = st.one_of(moments, st.sampled_from(bound_moments)) if bound_moments else moments
    out = []
    # Mostly 8–20 contacts (the first branch is the one Hypothesis favours), now and then an empty or tiny table.
    for i in range(draw(st.one_of(st.integers(8, 20), st.integers(8, 20), st.integers(0, 3)))):
        c = {"email": f"c{i}@x.com"}
        for name in ("name", "company", "status", "plan"):
            c[name] = draw(st.one_of(st.none(), texts))
        c["created_at"] = draw(st.one_of(st.none(), moment))
        c["seen_at"] = draw(st.one_of(st.none(), moment))
        c["mrr"] = draw(st.one_of(st.none(), number))
        c["vip"] = draw(st.one_of(st.none(), st.booleans()))
        out.append(c)
    return out


def _value(draw, ftype: str, op: str):
    if op in ("is_empty", "is_not_empty", "is_true", "is_false"):
        return None
    if ftype == "text":
        return draw(st.lists(rule_texts, min_size=1, max_size=3)) if op in ("in", "not_in") else draw(rule_texts)
    if ftype == "number":
        return sorted(draw(st.lists(numbers, min_size=2, max_size=2))) if op == "between" else draw(numbers)
    if op in ("in_last_days", "more_than_days_ago"):
        return draw(st.one_of(st.integers(1, 3), st.integers(1, 36_500)))
    as_date = op == "on" or draw(st.booleans())

    def one():
        if as_date:  # the days the data sits on, so that a rule's day often holds contacts
            return draw(st.sampled_from(DAYS)).isoformat()
        return _iso(draw(moments), draw(offsets))
    if op == "between":
        return sorted([one(), one()], key=(lambda v: v) if as_date else dt.datetime.fromisoformat)
    return one()


@st.composite
def conditions(draw):
    # A type first, then a field of it: datetimes, which have the most boundaries, come up most often.
    ftype = draw(st.sampled_from(["text"] * 3 + ["datetime"] * 4 + ["number"] * 3 + ["boolean"]))
    # `id` is a number field too, but ids are counters the rules cannot aim at: number rules go mostly to `mrr`.
    field = draw(st.sampled_from(["mrr", "mrr", "mrr", "id"] if ftype == "number"
                                 else sorted(f for f, t in FIELDS.items() if t == ftype)))
    op = draw(st.sampled_from(operators_for(ftype)))
    value = _value(draw, ftype, op)
    return {"field": field, "operator": op, **({} if value is None else {"value": value})}


def nodes(depth: int = 0):
    if depth >= 3:
        return conditions()
    group = st.builds(lambda match, rules: {"match": match, "rules": rules}, st.sampled_from(["any", "all"]),
                      st.lists(st.deferred(lambda: nodes(depth + 1)), min_size=1, max_size=3))
    return st.one_of(conditions(), conditions(), group)


# ---- the databases: made once, refilled per example -------------------------------------------------------------

class Database:
    """One database with the custom fields declared, and both back ends over it."""

    def __init__(self, name: str, url: str, custom: dict[str, str] = CUSTOM):
        self.name = name
        self.engine = store.make_engine(url)
        store.migrate(self.engine)
        with store.writing(self.engine) as conn:
            store.add_custom_fields(conn, custom, NOW)
            self.table = store.table_for(store.load_catalogue(conn))
        self.back_ends = {"sql": SqlBackend(self.engine), "memory": MemoryBackend(Snapshot(self.engine))}

    def refill(self, rows: list[dict]) -> None:
        with store.writing(self.engine) as conn:
            conn.execute(delete(self.table))
            if rows:
                conn.execute(insert(self.table), rows)


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    with fresh_pg_database("seg_parity") as url:
        dbs = [Database("sqlite", f"sqlite:///{tmp_path_factory.mktemp('parity') / 'p.db'}"),
               Database("postgresql", url)]
        yield dbs
        for db in dbs:
            db.engine.dispose()


_ids = itertools.count(1)  # ids are never reused, as in the product


def _differences(rows: list[dict], expected: list[int], got: list[int]) -> list[dict]:
    wrong = set(expected) ^ set(got)
    return [{**r, "oracle": r["id"] in expected} for r in rows if r["id"] in wrong]


def check_back_ends(databases: list[Database], people: list[dict], rule_sets: list[list]) -> None:
    """The property: every back end over every database gives the oracle's ids, count and funnel."""
    rows = [{"id": next(_ids), **p} for p in people]
    for db in databases:
        db.refill(rows)
    oracle = ReferenceBackend(rows)
    catalogue = databases[0].back_ends["sql"].catalogue()
    for raw in rule_sets:
        rules = validate_rules(raw, catalogue)
        expected = oracle.ids(raw, NOW)
        funnel = [oracle.count(raw[:i], NOW) for i in range(1, len(raw) + 1)]
        for db in databases:
            for name, back_end in db.back_ends.items():
                got = [r["id"] for r in back_end.page(rules, NOW, None, 0)]
                assert got == expected, (f"{name} on {db.name} differs from the oracle on {raw}",
                                         _differences(rows, expected, got))
                assert back_end.count(rules, NOW) == len(expected), (name, db.name, raw)
                assert back_end.funnel(rules, NOW) == funnel, (name, db.name, raw)


PROPERTY = dict(deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
# Several rule sets per database fill, most of them not empty: each example tries many operators on the same data.
# Each example: no rules at all, 6–10 single conditions (every operator also seen unmasked by other rules) and 2–4
# lists of conditions and nested groups. Hypothesis favours small draws, so the sizes are floors, not hopes.
rule_sets = st.builds(lambda singles, lists: [[], *singles, *lists],
                      st.lists(conditions().map(lambda c: [c]), min_size=6, max_size=10),
                      st.lists(st.lists(nodes(), min_size=1, max_size=3), min_size=2, max_size=4))


def _bounds(node, numbers_: list, moments_: list) -> None:
    """Collect the rules' bounds, and the moments SPEC's day rules turn on (a day D: D 00:00, inside D, D+1 00:00;
    a moment: itself), each with its neighbours one microsecond either side."""
    if isinstance(node, list):
        for n in node:
            _bounds(n, numbers_, moments_)
        return
    if "rules" in node:
        _bounds(node["rules"], numbers_, moments_)
        return
    kind = FIELDS.get(node["field"])
    values = node.get("value")
    for v in values if isinstance(values, list) else [values]:
        if kind == "number" and isinstance(v, (int, float)):
            numbers_.append(v)
        elif kind == "datetime" and isinstance(v, str):
            if len(v) == 10:  # a day
                day = dt.datetime.fromisoformat(v).replace(tzinfo=UTC)
                points = [day, day + dt.timedelta(hours=12), day + dt.timedelta(days=1)]
            else:
                points = [dt.datetime.fromisoformat(v)]
            moments_.extend(p + e for p in points for e in EDGES)


@st.composite
def cases(draw):
    """Rule sets first, then contacts of which a share sits exactly on those rules' bounds: an off-by-one in any
    operator then shows in most examples, not by luck."""
    sets = draw(rule_sets)
    found: tuple[list, list] = ([], [])
    _bounds(sets, *found)
    return draw(contacts(found)), sets


@settings(max_examples=200, **PROPERTY)
@given(case=cases())
def test_back_ends_return_the_oracles_ids(databases, case):
    people, sets = case
    check_back_ends(databases, people, sets)


# ---- order (SPEC §3 *Order*) -------------------------------------------------------------------------------------

def _empty(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def expected_order(rows: list[dict], field: str, field_type: str, descending: bool) -> list[int]:
    """SPEC §3 read in plain Python: filled values by lower() (text) or by value, ties by id ascending (a stable sort
    of rows already in id order, reversed stably); then the empty ones, by id."""
    rows = sorted(rows, key=lambda r: r["id"])
    filled = [r for r in rows if not _empty(r.get(field))]
    empty = [r for r in rows if _empty(r.get(field))]

    def key(r):
        v = r[field]
        return v.lower() if field_type == "text" else v

    filled.sort(key=key, reverse=descending)  # Python's sort stays stable with reverse=True
    return [r["id"] for r in filled + empty]


@settings(max_examples=120, **PROPERTY)
@given(people=contacts(), rules=st.lists(nodes(), max_size=2), field=st.sampled_from(sorted(FIELDS)),
       descending=st.booleans(), limit=st.one_of(st.none(), st.integers(0, 6)), offset=st.integers(0, 4))
def test_every_back_end_orders_the_whole_result_like_spec(databases, people, rules, field, descending, limit,
                                                          offset):
    """Which contacts: the oracle's; in what order: SPEC read in plain Python; then the page."""
    rows = [{"id": next(_ids), **p} for p in people]
    for db in databases:
        db.refill(rows)
    checked = validate_rules(rules, databases[0].back_ends["sql"].catalogue())
    order = Order(field, FIELDS[field], descending)
    matched = set(ReferenceBackend(rows).ids(rules, NOW))
    expected = expected_order([r for r in rows if r["id"] in matched], field, FIELDS[field], descending)
    end = None if limit is None else offset + limit
    for db in databases:
        for name, back_end in db.back_ends.items():
            page = [r["id"] for r in back_end.page(checked, NOW, limit, offset, order=order)]
            assert page == expected[offset:end], (name, db.name, field, descending, rules)
            frames = list(back_end.frames(checked, NOW, 3, order=order))
            assert [int(i) for f in frames for i in f["id"]] == expected, (name, db.name, "frames", field)
