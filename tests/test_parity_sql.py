"""Property: the in-memory back end, SQLite-SQL and PostgreSQL-SQL return the same contact ids as SPEC's rules
read row by row (segmenter.reference), on random contacts and random rules: Unicode case, NULL vs '', LIKE wildcards
and the escape character, quotes, day and relative-day boundaries to the microsecond, offsets, groups, custom fields."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import create_engine, delete, insert

from helpers import fresh_pg_database
from segmenter import reference, store
from segmenter.evaluate import MemoryBackend
from segmenter.operators import operators_for
from segmenter.rules import validate_rules
from segmenter.snapshot import Snapshot
from segmenter.sql import SqlBackend

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 5, 17, 9, 30, 15, 250_000, tzinfo=UTC)  # one fixed `now` for every back end
CUSTOM = {"plan": "text", "mrr": "number", "vip": "boolean", "seen_at": "datetime"}
FIELDS = {"email": "text", "name": "text", "company": "text", "status": "text", "created_at": "datetime",
          "id": "number", **CUSTOM}

WORDS = ["Acme Inc", "acme inc.", "MÜLLER GmbH", "müller gmbh", "Straße", "STRASSE", "ẞ", "İstanbul", "ΟΔΟΣ",
         "οδος", "100%", "a_b", "a/b", "50/50%_", "O'Brien", 'say "hi"', "back\\slash", " spaced ", "Ltd", "ltd",
         "zoë", "ZOË", "Ǆ", "", "x"]
ALPHABET = "aAbBüÜßẞİıΣσς%_/\\'\" ."
texts = st.one_of(st.sampled_from(WORDS), st.sampled_from(WORDS), st.text(alphabet=ALPHABET, max_size=6))
variants = st.sampled_from([w for w in WORDS if w]).flatmap(
    lambda w: st.sampled_from([w, w.upper(), w.lower(), w.swapcase(), w[:3], w[-3:], w[1:4]]).filter(bool))
rule_texts = st.one_of(variants, variants, st.text(alphabet=ALPHABET, min_size=1, max_size=3))

DAY = dt.datetime(2024, 3, 11, tzinfo=UTC)  # data sits around this midnight and around now - 1..3 days
EDGES = [dt.timedelta(0), dt.timedelta(microseconds=1), -dt.timedelta(microseconds=1)]
moments = st.one_of(
    st.builds(lambda s, e: DAY + dt.timedelta(seconds=s) + e, st.integers(-26 * 3600, 26 * 3600).map(
        lambda s: s - s % 1800), st.sampled_from(EDGES)),
    st.builds(lambda d, e: NOW - dt.timedelta(days=d) + e, st.integers(0, 3), st.sampled_from(EDGES)),
)
offsets = st.sampled_from([0, 2, -5, 14, 5.5])
numbers = st.one_of(st.integers(-3, 3), st.sampled_from([0.5, 2.25, -1.5, 1e15]))


def _iso(moment: dt.datetime, hours: float) -> str:
    return moment.astimezone(dt.timezone(dt.timedelta(hours=hours))).isoformat()


@st.composite
def contacts(draw):
    out = []
    for i in range(draw(st.integers(0, 20))):
        c = {"email": f"c{i}@x.com"}
        for name in ("name", "company", "status", "plan"):
            c[name] = draw(st.one_of(st.none(), texts))
        c["created_at"] = draw(st.one_of(st.none(), moments))
        c["seen_at"] = draw(st.one_of(st.none(), moments))
        c["mrr"] = draw(st.one_of(st.none(), numbers))
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
        m = draw(moments)
        return m.date().isoformat() if as_date else _iso(m, draw(offsets))
    if op == "between":
        return sorted([one(), one()], key=(lambda v: v) if as_date else dt.datetime.fromisoformat)
    return one()


@st.composite
def conditions(draw):
    field = draw(st.sampled_from(sorted(FIELDS)))
    op = draw(st.sampled_from(operators_for(FIELDS[field])))
    value = _value(draw, FIELDS[field], op)
    return {"field": field, "operator": op, **({} if value is None else {"value": value})}


def nodes(depth: int = 0):
    if depth >= 3:
        return conditions()
    group = st.builds(lambda match, rules: {"match": match, "rules": rules}, st.sampled_from(["any", "all"]),
                      st.lists(st.deferred(lambda: nodes(depth + 1)), min_size=1, max_size=3))
    return st.one_of(conditions(), conditions(), group)


# ---- the databases: made once, refilled per example -------------------------------------------------------------

class Database:
    """One database with the custom fields declared, and every back end over it."""

    def __init__(self, url: str):
        self.engine = store.make_engine(url)
        store.migrate(self.engine)
        with store.writing(self.engine) as conn:
            store.add_custom_fields(conn, CUSTOM, NOW)
            self.table = store.table_for(store.load_catalogue(conn))
        self.sql = SqlBackend(self.engine)
        self.memory = MemoryBackend(Snapshot(self.engine))

    def refill(self, rows: list[dict]) -> None:
        with store.writing(self.engine) as conn:
            conn.execute(delete(self.table))
            if rows:
                conn.execute(insert(self.table), rows)


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    with fresh_pg_database("seg_parity") as url:
        pg = Database(url)
        lite = Database(f"sqlite:///{tmp_path_factory.mktemp('parity') / 'p.db'}")
        yield lite, pg
        pg.engine.dispose()
        lite.engine.dispose()


_ids = itertools.count(1)  # ids are never reused, as in the product


@settings(max_examples=200, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(people=contacts(), rule_sets=st.lists(st.lists(nodes(), max_size=3), min_size=1, max_size=5))
def test_back_ends_return_the_same_ids(databases, people, rule_sets):
    rows = [{"id": next(_ids), **p} for p in people]
    for db in databases:
        db.refill(rows)
    lite, pg = databases
    catalogue = lite.sql.catalogue()
    for raw in rule_sets:
        rules = validate_rules(raw, catalogue)
        expected = reference.matching_ids(rules, rows, NOW)
        answers = {
            "memory": [r["id"] for r in lite.memory.page(rules, NOW, None, 0)],
            "sqlite-sql": [r["id"] for r in lite.sql.page(rules, NOW, None, 0)],
            "postgresql-sql": [r["id"] for r in pg.sql.page(rules, NOW, None, 0)],
            "memory-on-postgresql": [r["id"] for r in pg.memory.page(rules, NOW, None, 0)],
        }
        for name, got in answers.items():
            assert got == expected, (name, raw)
        assert lite.sql.count(rules, NOW) == pg.sql.count(rules, NOW) == len(expected)
        assert lite.sql.funnel(rules, NOW) == pg.sql.funnel(rules, NOW) == lite.memory.funnel(rules, NOW)
