"""Every operator of SPEC §2 through the Segmenter, on every back end (in-memory and SQL pushdown, over SQLite and
PostgreSQL): the one hand-worked table of tests/operator_cases.py, plus complements, groups and funnels."""
from __future__ import annotations

import pytest

import segmenter
from helpers import fresh_pg_database
from operator_cases import ALL, CASES, fill_with_api, rule
from segmenter.operators import OPERATORS


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def data_url(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('ops') / 'ops.db'}"
        fill_with_api(url)
        yield url
    else:
        with fresh_pg_database("seg_ops") as url:
            fill_with_api(url)
            yield url


@pytest.fixture(scope="module", params=["memory", "sql"])
def data(request, data_url):
    """Each case runs on both back ends (in-memory and SQL pushdown) over SQLite and PostgreSQL."""
    with segmenter.connect(data_url, backend=request.param) as s:
        yield s


def emails(contacts) -> str:
    return "".join(sorted(c["email"][0] for c in contacts))


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]!r}" for c in CASES])
def test_operator(data, case):
    field, operator, value, expected = case[:4]  # case[4]: other engines' answers (DuckDB), not run here
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
