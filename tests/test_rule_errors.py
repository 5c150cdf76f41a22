"""Invalid rules never evaluate and are never stored; each error names the rule's position, the field, the
operator, what is wrong and the valid choices (SPEC §2)."""
from __future__ import annotations

import pytest

import segmenter
from segmenter.operators import operators_for

TEXT_OPS = ", ".join(operators_for("text"))


@pytest.fixture
def seg(seg):
    seg.add_contacts([{"email": "a@x.com", "status": "active", "mrr": 3, "vip": True, "signup": "2024-01-01"}])
    return seg


def problems(seg, rules) -> list[str]:
    with pytest.raises(segmenter.RuleError) as info:
        seg.count(rules)
    assert isinstance(info.value, ValueError)
    return info.value.problems


def r(field, operator, value=None, **extra):
    out = {"field": field, "operator": operator, **extra}
    if value is not None:
        out["value"] = value
    return out


OK = r("status", "equals", "active")


@pytest.mark.parametrize("rules,expected", [
    ([OK, r("company", "contain", "Inc")],
     f"rule 2: unknown operator 'contain' for text field 'company'; expected one of: {TEXT_OPS}"),
    ([r("compnay", "equals", "x")], "rule 1: unknown field 'compnay'; expected one of: id, email, name, company"),
    ([r("company", "before", "2024-01-01")], "rule 1: operator 'before' is not valid for text field 'company'"),
    ([r("company", "equals")], "rule 1: operator 'equals' on text field 'company' needs a value: a non-empty string"),
    ([r("company", "equals", "")], "rule 1: operator 'equals' on text field 'company' needs a non-empty string"),
    ([r("company", "equals", ["a"])], "rule 1: operator 'equals' on text field 'company' needs a non-empty string, got ['a']"),
    ([r("company", "equals", 5)], "needs a non-empty string, got 5"),
    ([r("company", "in", [])], "rule 1: operator 'in' on text field 'company' needs a non-empty list of non-empty strings"),
    ([r("company", "in", ["a", ""])], "needs a non-empty list of non-empty strings, got item ''"),
    ([r("company", "in", "a")], "needs a non-empty list of non-empty strings, got 'a'"),
    ([r("mrr", "greater_than", "5")], "rule 1: operator 'greater_than' on number field 'mrr' needs a number, got '5'"),
    ([r("mrr", "greater_than", True)], "needs a number, got True"),
    ([r("mrr", "between", [5, 1])], "rule 1: operator 'between' on number field 'mrr' needs A <= B"),
    ([r("mrr", "between", [1])], "needs a list of two numbers [A, B]"),
    ([r("mrr", "contains", "1")], "rule 1: operator 'contains' is not valid for number field 'mrr'"),
    ([r("created_at", "before", "yesterday")], "needs a date (YYYY-MM-DD) or an ISO 8601 datetime, got 'yesterday'"),
    ([r("created_at", "on", "2024-01-01T10:00:00Z")], "rule 1: operator 'on' on datetime field 'created_at' needs a date (YYYY-MM-DD), not a datetime"),
    ([r("created_at", "between", ["2024-01-01", "2024-01-02T00:00:00Z"])], "both dates or both datetimes"),
    ([r("created_at", "between", ["2024-02-01", "2024-01-01"])], "needs A <= B"),
    ([r("created_at", "in_last_days", 0)], "needs a whole number of days from 1 to 36,500, got 0"),
    ([r("created_at", "in_last_days", 36501)], "got 36501"),
    ([r("created_at", "more_than_days_ago", 2.5)], "got 2.5"),
    ([r("created_at", "in_last_days", "7")], "got '7'"),
    # a str value makes a text custom field (SPEC §1), so date operators are not valid on it
    ([r("signup", "in_last_days", 7)], "rule 1: operator 'in_last_days' is not valid for text field 'signup'"),
    ([r("vip", "is_true", True)], "rule 1: operator 'is_true' on boolean field 'vip' takes no value, got True"),
    ([r("vip", "equals", "true")], "rule 1: operator 'equals' is not valid for boolean field 'vip'; expected one of: is_true, is_false, is_empty, is_not_empty"),
    ([r("status", "is_empty", "x")], "takes no value"),
    ([OK, {"match": "any", "rules": [OK, r("company", "contain", "x")]}], "rule 2.2: unknown operator 'contain'"),
    ([{"match": "any", "rules": []}], "rule 1: a group needs at least one rule"),
    ([{"match": "some", "rules": [OK]}], "rule 1: group match must be 'any' or 'all', got 'some'"),
    ([{"match": "any", "rules": [{"match": "any", "rules": [{"match": "any", "rules": [
        {"match": "any", "rules": [OK]}]}]}]}], "rule 1.1.1.1: groups nest at most 3 levels deep"),
    (["status equals active"], "rule 1: must be an object with field, operator and value, got a string"),
    ([{"field": "status", "operator": "equals", "values": "x"}], "rule 1: unknown key 'values'; expected: field, operator, value"),
    ([r("status", "equals", "x" * 1001)], "value is 1,001 characters; at most 1,000 are allowed"),
    ([r("status", "in", ["x"] * 1001)], "list has 1,001 items; at most 1,000 are allowed"),
    ([OK] * 101, "too many rules: 101; at most 100 are allowed"),
    ([OK, {"match": "all", "rules": [OK] * 100}], "too many rules: 101"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_error_message(seg, rules, expected):
    assert any(expected in p for p in problems(seg, rules)), problems(seg, rules)


def test_every_problem_is_listed(seg):
    found = problems(seg, [r("nope", "equals", "x"), OK, r("company", "contain", "x")])
    assert len(found) == 2 and found[0].startswith("rule 1:") and found[1].startswith("rule 3:")


def test_limits_allow_the_maximum(seg):
    assert seg.count([OK] * 100) == 1
    assert seg.count([r("status", "in", ["active"] * 1000)]) == 1
    assert seg.count([r("status", "equals", "x" * 1000)]) == 0
    deep = {"match": "any", "rules": [{"match": "all", "rules": [{"match": "any", "rules": [OK]}]}]}
    assert seg.count([deep]) == 1


@pytest.mark.parametrize("rules", ["status = active", {"field": "status"}, None, 5])
def test_rules_must_be_a_list(seg, rules):
    assert "rules must be a JSON array" in problems(seg, rules)[0]


@pytest.mark.parametrize("name,expected", [("", "name must not be empty"), ("   ", "name must not be empty"),
                                           ("x" * 201, "at most 200"), (None, "name must be a string")])
def test_bad_names_are_rejected_and_nothing_is_stored(seg, name, expected):
    with pytest.raises(segmenter.RuleError, match=expected):
        seg.create_segment(name, [OK])
    assert seg.list_segments() == []


def test_invalid_rules_are_never_stored(seg):
    with pytest.raises(segmenter.RuleError):
        seg.create_segment("Bad", [r("company", "contain", "x")])
    good = seg.create_segment("Good", [OK])
    with pytest.raises(segmenter.RuleError):
        seg.update_segment(good["id"], rules=[r("company", "contain", "x")])
    assert seg.get_segment(good["id"])["rules"] == [OK]
    assert [s["name"] for s in seg.list_segments()] == ["Good"]


def test_name_is_trimmed_and_limit_is_inclusive(seg):
    assert seg.create_segment("  Padded  ", []).get("name") == "Padded"
    assert seg.create_segment("y" * 200, [])["name"] == "y" * 200
