"""Every operator of SPEC §2, one table of cases each, run on every back end (in-memory and SQL pushdown, over
SQLite and PostgreSQL), on hand-made contacts whose answers are worked out from the spec by hand (case, Unicode,
NULL vs '', LIKE wildcards, quotes, day boundaries, offsets, relative dates)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

import segmenter
from conftest import fresh_pg_database
from segmenter.operators import OPERATORS

NOW = dt.datetime.now(dt.timezone.utc)

CONTACTS = [
    {"email": "a@x.com", "name": "MÜLLER", "company": "Acme Inc", "status": "active",
     "created_at": "2024-03-10T23:59:59Z", "mrr": 10, "vip": True, "plan": "pro"},
    {"email": "b@x.com", "name": "müller", "company": "acme llc", "status": "Active",
     "created_at": "2024-03-11T00:00:00Z", "mrr": 0, "vip": False, "plan": "free"},
    {"email": "c@x.com", "name": "Zoë", "company": "placeholder", "status": "placeholder",
     "created_at": "2024-03-11T01:30:00+02:00"},  # = 2024-03-10 23:30 UTC; company/status set to '' / NULL below
    {"email": "d@x.com", "name": "Dee", "company": "100% Pure_Co", "status": "inactive",
     "created_at": "2024-03-12T00:00:00", "mrr": 10.5},
    {"email": "e@x.com", "name": "Eve", "company": "O'Brien \"Quotes\" Ltd", "status": "pending"},  # created_at NULL below
    {"email": "f@x.com", "name": "Fay", "status": " active", "created_at": NOW - dt.timedelta(days=2)},
    {"email": "g@x.com", "name": "Gus", "created_at": NOW - dt.timedelta(days=40)},
]
ALL = set("abcdefg")


def _fill(url: str) -> None:
    with segmenter.connect(url) as s:
        s.add_contacts(CONTACTS)
        # Plain SQL for what the API never stores: an empty string, and NULLs over defaults.
        with s.engine.begin() as conn:
            conn.execute(text("UPDATE contacts SET company = '', status = NULL WHERE email = 'c@x.com'"))
            conn.execute(text("UPDATE contacts SET created_at = NULL WHERE email = 'e@x.com'"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def data_url(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('ops') / 'ops.db'}"
        _fill(url)
        yield url
    else:
        with fresh_pg_database("seg_ops") as url:
            _fill(url)
            yield url


@pytest.fixture(scope="module", params=["memory", "sql"])
def data(request, data_url):
    """Each case runs on both back ends (in-memory and SQL pushdown) over SQLite and PostgreSQL."""
    with segmenter.connect(data_url, backend=request.param) as s:
        yield s


def rule(field, operator, value=None):
    r = {"field": field, "operator": operator}
    if value is not None:
        r["value"] = value
    return r


CASES = [
    # text: equals / not_equals — case-insensitive, Unicode-aware, spaces kept
    ("status", "equals", "active", "ab"),
    ("status", "equals", "ACTIVE", "ab"),
    ("status", "equals", " active", "f"),
    ("status", "not_equals", "active", "cdefg"),
    ("name", "equals", "müller", "ab"),
    ("name", "equals", "MÜLLER", "ab"),
    ("name", "equals", "zoë", "c"),
    # contains / not_contains — wildcards and quotes are literal
    ("company", "contains", "inc", "a"),
    ("company", "contains", "%", "d"),
    ("company", "contains", "_", "d"),
    ("company", "contains", "0% p", "d"),
    ("company", "contains", "x%", ""),
    ("company", "contains", "a_c", ""),
    ("company", "contains", "'", "e"),
    ("company", "contains", '"quotes"', "e"),
    ("company", "not_contains", "inc", "bcdefg"),
    ("email", "contains", "@X.COM", "abcdefg"),
    # starts_with / ends_with
    ("company", "starts_with", "ACME", "ab"),
    ("company", "starts_with", "cme", ""),
    ("company", "ends_with", "ltd", "e"),
    ("company", "ends_with", "_co", "d"),
    ("name", "starts_with", "mü", "ab"),
    # in / not_in
    ("company", "in", ["ACME INC", "acme llc"], "ab"),
    ("company", "in", ["acme"], ""),
    ("company", "not_in", ["ACME INC", "acme llc"], "cdefg"),
    ("status", "in", ["pending", "INACTIVE"], "de"),
    # empty: NULL and '' are both empty
    ("company", "is_empty", None, "cfg"),
    ("company", "is_not_empty", None, "abde"),
    ("status", "is_empty", None, "cg"),
    # datetime: a date is the whole UTC day; offsets converted to UTC
    ("created_at", "before", "2024-03-11", "ac"),
    ("created_at", "before", "2024-03-11T00:00:00Z", "ac"),
    ("created_at", "before", "2024-03-11T01:00:00+01:00", "ac"),
    ("created_at", "before", "2024-03-10T23:30:00Z", "", ),
    ("created_at", "after", "2024-03-10", "bdfg"),
    ("created_at", "after", "2024-03-11", "dfg"),
    ("created_at", "after", "2024-03-11T00:00:00Z", "dfg"),
    ("created_at", "after", "2024-03-10T23:59:58Z", "bdfg" + "a"),
    ("created_at", "on", "2024-03-11", "b"),
    ("created_at", "on", "2024-03-10", "ac"),
    ("created_at", "between", ["2024-03-10", "2024-03-11"], "abc"),
    ("created_at", "between", ["2024-03-11", "2024-03-11"], "b"),
    ("created_at", "between", ["2024-03-10T23:59:59Z", "2024-03-11T00:00:00Z"], "ab"),
    ("created_at", "between", ["2024-03-11T01:30:00+02:00", "2024-03-10T23:59:59"], "ac"),
    ("created_at", "in_last_days", 30, "f"),
    ("created_at", "in_last_days", 36500, "abcdfg"),
    ("created_at", "more_than_days_ago", 30, "abcdg"),
    ("created_at", "more_than_days_ago", 1, "abcdfg"),
    ("created_at", "is_empty", None, "e"),
    # number
    ("mrr", "equals", 10, "a"),
    ("mrr", "equals", 10.0, "a"),
    ("mrr", "not_equals", 10, "bcdefg"),
    ("mrr", "greater_than", 0, "ad"),
    ("mrr", "greater_than_or_equal", 0, "abd"),
    ("mrr", "less_than", 10, "b"),
    ("mrr", "less_than_or_equal", 10, "ab"),
    ("mrr", "between", [0, 10], "ab"),
    ("mrr", "between", [10, 10.5], "ad"),
    ("mrr", "is_empty", None, "cefg"),
    ("id", "equals", 1, "a"),
    # boolean
    ("vip", "is_true", None, "a"),
    ("vip", "is_false", None, "b"),
    ("vip", "is_empty", None, "cdefg"),
    ("vip", "is_not_empty", None, "ab"),
    # custom text field behaves like a core text field
    ("plan", "equals", "PRO", "a"),
    ("plan", "not_equals", "pro", "bcdefg"),
]


def emails(contacts) -> str:
    return "".join(sorted(c["email"][0] for c in contacts))


@pytest.mark.parametrize("field,operator,value,expected", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]!r}" for c in CASES])
def test_operator(data, field, operator, value, expected):
    rules = [rule(field, operator, value)]
    assert emails(data.contacts(rules)) == "".join(sorted(expected))
    assert data.count(rules) == len(expected)


def test_every_operator_has_a_case():
    covered = {c[1] for c in CASES}
    assert covered == set(OPERATORS)


def test_negative_operators_are_complements_of_positive_ones(data):
    for positive, negative, value in [("equals", "not_equals", "active"), ("contains", "not_contains", "act"),
                                      ("in", "not_in", ["active", "pending"])]:
        pos = {c["id"] for c in data.contacts([rule("status", positive, value)])}
        neg = {c["id"] for c in data.contacts([rule("status", negative, value)])}
        assert pos.isdisjoint(neg) and len(pos | neg) == len(ALL)


def test_groups_any_and_all(data):
    any_group = {"match": "any", "rules": [rule("company", "contains", "inc"), rule("company", "contains", "llc")]}
    assert emails(data.contacts([any_group])) == "ab"
    assert emails(data.contacts([rule("status", "equals", "active"), any_group])) == "ab"
    nested = {"match": "all", "rules": [rule("name", "starts_with", "m"),
                                        {"match": "any", "rules": [rule("vip", "is_true"), rule("mrr", "equals", 0)]}]}
    assert emails(data.contacts([nested])) == "ab"
    three_deep = {"match": "any", "rules": [{"match": "all", "rules": [{"match": "any", "rules": [
        rule("status", "equals", "pending")]}]}]}
    assert emails(data.contacts([three_deep])) == "e"


def test_empty_rules_match_everyone(data):
    assert data.count([]) == len(ALL)


def test_funnel_counts_what_each_rule_leaves(data):
    steps = data.funnel([rule("status", "equals", "active"), rule("company", "contains", "inc")])
    assert [s["count"] for s in steps] == [2, 1]
    assert steps[1]["rule"] == "company contains 'inc'"
