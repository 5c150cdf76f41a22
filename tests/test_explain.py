"""Explaining one contact (issue 14 item 17): every rule with pass/fail and the contact's value beside it, groups
with any/all, their own result and their members at every level — and the oracle's explanation agrees with what
each back end selects, on SQLite and PostgreSQL."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segmenter
from helpers import fresh_pg_database
from operator_cases import CASES, CONTACTS, GROUPS, fill_with_api, rule
from segmenter import reference
from segmenter.reference import is_empty
from segmenter.rules import validate_rules
from test_parity_sql import NOW, PROPERTY, Database, contacts, nodes

_ids = itertools.count(1)

NESTED = [rule("status", "equals", "active"),
          {"match": "any", "rules": [
              rule("mrr", "greater_than", 100),
              {"match": "all", "rules": [rule("vip", "is_true"), rule("company", "contains", "inc")]}]}]


def test_a_contact_explained_rule_by_rule_and_group_by_group(seg):
    seg.add_contacts([{"email": "ana@x.com", "status": "Active", "mrr": 20, "vip": True, "company": "Acme Inc",
                       "created_at": "2025-03-10T08:00:00Z"},
                      {"email": "bo@x.com", "status": "active", "vip": False}])
    ana = seg.explain(NESTED, "ANA@x.com")
    assert ana["matches"] is True
    status, group = ana["rules"]
    assert status == {"position": "1", "rule": "status is 'active'", "passes": True, "field": "status",
                      "actual": "Active"}
    assert group["position"] == "2" and group["match"] == "any" and group["passes"] is True
    mrr, inner = group["rules"]
    assert mrr == {"position": "2.1", "rule": "mrr is greater than 100", "passes": False, "field": "mrr",
                   "actual": 20.0}
    assert inner["position"] == "2.2" and inner["match"] == "all" and inner["passes"] is True
    assert [(m["position"], m["field"], m["actual"], m["passes"]) for m in inner["rules"]] == [
        ("2.2.1", "vip", True, True), ("2.2.2", "company", "Acme Inc", True)]

    bo = seg.explain(NESTED, "bo@x.com")
    assert bo["matches"] is False
    group = bo["rules"][1]
    assert group["passes"] is False and group["rules"][0]["actual"] is None  # no mrr: empty, shown as None
    assert [m["passes"] for m in group["rules"][1]["rules"]] == [False, False]

    when = seg.explain([rule("created_at", "after", "2025-01-01")], "ana@x.com")["rules"][0]
    assert when["actual"] == "2025-03-10T08:00:00Z" and when["passes"] is True  # JSON-ready, as contacts are


def test_sample_and_segment_rules_explained(seg):
    seg.add_contacts([{"email": "ana@x.com", "status": "active"}])
    active = seg.create_segment("Active", [rule("status", "equals", "active")])
    answer = seg.explain([rule("segment", "in_segment", active["id"]),
                          rule("sample", "in_range", {"salt": "s", "from": 0, "to": 100})], "ana@x.com")
    member, sample = answer["rules"]
    assert member["passes"] is True and "actual" not in member
    assert sample["passes"] is True and 0 <= sample["actual"] < 100


@pytest.fixture(scope="module")
def filled_urls(tmp_path_factory):
    sqlite = f"sqlite:///{tmp_path_factory.mktemp('explain') / 'e.db'}"
    fill_with_api(sqlite)
    with fresh_pg_database("seg_explain") as pg:
        fill_with_api(pg)
        yield {"sqlite": sqlite, "postgresql": pg}


def _agree(seg, node: dict, explained: dict, email: str) -> None:
    inside = {c["email"] for c in seg.contacts([node])}
    assert explained["passes"] == (email in inside), (email, node, explained)
    for member, member_explained in zip(node.get("rules", []), explained.get("rules", [])):
        _agree(seg, member, member_explained, email)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@pytest.mark.parametrize("backend", ["memory", "sql"])
def test_explanations_agree_with_what_every_back_end_selects(filled_urls, database, backend):
    """Each rule's and each group's pass/fail (the oracle's) is whether the back end selects the contact for that
    rule or group alone; the contact's match is whether it is in the result of all of them."""
    with segmenter.connect(filled_urls[database], backend=backend) as seg:
        rule_sets = [[rule(*case[:3])] for case in CASES[::3]] + [r for r, _ in GROUPS]
        for rules in rule_sets:
            inside = {c["email"] for c in seg.contacts(rules)}
            for key in CONTACTS:
                email = f"{key}@x.com"
                answer = seg.explain(rules, email)
                assert answer["matches"] == (email in inside), (email, rules)
                for node, explained in zip(rules, answer["rules"]):
                    _agree(seg, node, explained, email)


# ---- property: on random contacts and rules, every node's explanation is what each back end selects -------------

def _walk(nodes: list[dict], explained: list[dict]):
    for node, answer in zip(nodes, explained, strict=True):
        yield node, answer
        if "match" in node:
            yield from _walk(node["rules"], answer["rules"])


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    with fresh_pg_database("seg_explainp") as url:
        dbs = [Database("sqlite", f"sqlite:///{tmp_path_factory.mktemp('explainp') / 'x.db'}"),
               Database("postgresql", url)]
        yield dbs
        for db in dbs:
            db.engine.dispose()


@settings(max_examples=40, **PROPERTY)
@given(people=contacts(), rules=st.lists(nodes(), min_size=1, max_size=3))
def test_explained_nodes_are_what_every_back_end_selects(databases, people, rules):
    rows = [{"id": next(_ids), **p} for p in people]
    for db in databases:
        db.refill(rows)
    catalogue = databases[0].back_ends["sql"].catalogue()
    for db in databases:
        for name, back_end in db.back_ends.items():
            for row in rows[:4]:
                contact = back_end.find_email(row["email"])  # the contact as this back end holds it
                explained = reference.explain(rules, contact, NOW)
                for node, answer in _walk(rules, explained):
                    selected = {r["id"] for r in back_end.page(validate_rules([node], catalogue), NOW, None, 0)}
                    assert answer["passes"] == (contact["id"] in selected), (name, db.name, node, row)
                    if "field" in answer and answer["field"] not in ("segment", "sample"):
                        assert answer["actual"] == (None if is_empty(contact.get(node["field"]))
                                                    else contact[node["field"]])
