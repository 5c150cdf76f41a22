"""Property: with `in_segment`, `not_in_segment` and `sample` among random rules, the in-memory back end, SQLite-SQL
and PostgreSQL-SQL return the same contact ids as SPEC read row by row (segmenter.reference, the independent oracle), on random contacts
(Unicode emails included, for the hash's UTF-8) and random saved segments that refer to each other."""
from __future__ import annotations

import itertools

import datetime as dt

import pytest
from helpers import fresh_pg_database
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parity_sql import Database as ParityDatabase

from segmenter import reference
from segmenter.compose import Graph, Resolver
from segmenter.rules import validate_rules

NOW = dt.datetime(2026, 5, 17, 9, 30, 15, 250_000, tzinfo=dt.UTC)
CUSTOM = {"plan": "text", "mrr": "number", "vip": "boolean"}
WORDS = ["Acme Inc", "ACME", "Müller", "", "active", "Active", "x_y", "100%"]
texts = st.one_of(st.none(), st.sampled_from(WORDS))


@st.composite
def contacts(draw):
    """Contacts whose fields the plain rules below test (emails are drawn separately)."""
    return [{"status": draw(texts), "company": draw(texts), "plan": draw(texts),
             "mrr": draw(st.one_of(st.none(), st.integers(-2, 2))), "vip": draw(st.one_of(st.none(), st.booleans())),
             "created_at": draw(st.one_of(st.none(), st.sampled_from([NOW - dt.timedelta(days=d)
                                                                        for d in (0, 1, 40, 400)])))}
            for _ in range(draw(st.integers(0, 20)))]


def nodes(_depth: int = 0):
    """Plain rules (the operator-by-operator parity lives in test_parity_sql.py): a few of each type."""
    word = st.sampled_from([w for w in WORDS if w])
    return st.one_of(
        st.builds(lambda f, o, v: {"field": f, "operator": o, "value": v}, st.sampled_from(["status", "company", "plan"]),
                  st.sampled_from(["equals", "not_equals", "contains", "not_contains"]), word),
        st.builds(lambda f, o: {"field": f, "operator": o}, st.sampled_from(["status", "mrr", "vip", "created_at"]),
                  st.sampled_from(["is_empty", "is_not_empty"])),
        st.builds(lambda v: {"field": "mrr", "operator": "greater_than", "value": v}, st.integers(-2, 2)),
        st.builds(lambda o: {"field": "vip", "operator": o}, st.sampled_from(["is_true", "is_false"])),
        st.builds(lambda v: {"field": "created_at", "operator": "in_last_days", "value": v}, st.integers(1, 100)),
    )


LOCALS = ["a", "zoë", "müller", "日本", "o'brien", "x_y", "100%"]
emails = st.builds(lambda local, i: f"{local}{i}@ex.com", st.sampled_from(LOCALS), st.integers(0, 10_000))
bounds = st.sampled_from([0, 0.5, 10, 12.5, 33.3, 50, 66.6, 99.99, 100]) | st.floats(0, 100, allow_nan=False)
salts = st.sampled_from(["s", "spring-2026", "✓ ü", "a:b"])


@st.composite
def sample_rules(draw):
    a, b = sorted([draw(bounds), draw(bounds)])
    if a == b:
        b = 100 if a < 100 else b
        a = 0 if a == b else a
    return {"field": "sample", "operator": "in_range", "value": {"salt": draw(salts), "from": a, "to": b}}


def segment_rules(saved: int):
    op = st.sampled_from(["in_segment", "not_in_segment"])
    return st.builds(lambda o, v: {"field": "segment", "operator": o, "value": v}, op, st.integers(1, saved))


def mixed(saved: int):
    """Rules of a segment that may refer to the ``saved`` segments before it."""
    options = [nodes(2), sample_rules()] + ([segment_rules(saved)] * 2 if saved else [])
    leaf = st.one_of(*options)  # inside a group of ours: at most one more level of groups
    group = st.builds(lambda m, r: {"match": m, "rules": r}, st.sampled_from(["any", "all"]),
                      st.lists(leaf, min_size=1, max_size=3))
    return st.lists(st.one_of(leaf, leaf, group), max_size=3)


@st.composite
def scenarios(draw):
    people = draw(contacts())
    addresses = draw(st.lists(emails, min_size=len(people), max_size=len(people), unique=True))
    people = [{**p, "email": e} for p, e in zip(people, addresses)]
    saved = []
    for i in range(draw(st.integers(0, 4))):
        saved.append(draw(mixed(i)))  # segment i+1 may refer to segments 1..i: no loops, chains of at most 5
    queries = draw(st.lists(mixed(len(saved)), min_size=1, max_size=4))
    return people, saved, queries


class Database(ParityDatabase):
    """tests/test_parity_sql.py's database with this file's custom fields, its back ends by name."""

    def __init__(self, url: str):
        super().__init__(url.split(":", 1)[0], url, CUSTOM)
        self.sql, self.memory = self.back_ends["sql"], self.back_ends["memory"]


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    with fresh_pg_database("seg_parity9") as url:
        pg = Database(url)
        lite = Database(f"sqlite:///{tmp_path_factory.mktemp('parity9') / 'p.db'}")
        yield lite, pg
        pg.engine.dispose()
        lite.engine.dispose()


_ids = itertools.count(1)


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
def test_back_ends_agree_with_segments_and_samples(databases, scenario):
    people, saved, queries = scenario
    rows = [{"id": next(_ids), **p} for p in people]
    for db in databases:
        db.refill(rows)
    lite, pg = databases
    catalogue = lite.sql.catalogue()
    graph = Graph({i: r for i, r in enumerate(saved, 1)})
    for raw in queries:
        rules = validate_rules(raw, catalogue, Resolver(graph, catalogue))
        expected = reference.matching_ids(raw, rows, NOW, graph.rules)  # the oracle reads the raw rules
        answers = {
            "memory": [r["id"] for r in lite.memory.page(rules, NOW, None, 0)],
            "sqlite-sql": [r["id"] for r in lite.sql.page(rules, NOW, None, 0)],
            "postgresql-sql": [r["id"] for r in pg.sql.page(rules, NOW, None, 0)],
        }
        for name, got in answers.items():
            assert got == expected, (name, raw, saved)
        assert lite.sql.member_ids(rules, NOW).tolist() == lite.memory.member_ids(rules, NOW).tolist() == expected

