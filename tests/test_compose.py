"""SPEC §9, segments built on segments: the `segment` pseudo-field (`in_segment`, `not_in_segment`) evaluated now
through the referenced rules, on every back end (memory and SQL) over SQLite and PostgreSQL; loops and chains of
more than five segments refused with the loop or chain named; deleting a used segment refused (SegmentInUse);
definition imports mapping ids."""
from __future__ import annotations

import pytest
from sqlalchemy import text

import segmenter
from segmenter import RuleError, SegmentInUse

ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]
INC = [{"field": "company", "operator": "contains", "value": "inc"}]
PEOPLE = [
    {"email": "a@x.com", "status": "active", "company": "Acme Inc"},
    {"email": "b@x.com", "status": "active", "company": "Beta LLC"},
    {"email": "c@x.com", "status": "inactive", "company": "Gamma Inc"},
    {"email": "d@x.com", "status": "ACTIVE"},
    {"email": "e@x.com"},
]


def _in(segment_id: int, negate: bool = False) -> dict:
    return {"field": "segment", "operator": "not_in_segment" if negate else "in_segment", "value": segment_id}


@pytest.fixture(params=["memory", "sql"])
def seg(request, any_url):
    """A fresh database on SQLite and on PostgreSQL, each with both back ends."""
    with segmenter.connect(any_url, backend=request.param) as s:
        s.add_contacts(PEOPLE)
        yield s


def _emails(seg, rules) -> list[str]:
    return [c["email"] for c in seg.contacts(rules)]


def test_in_segment_matches_the_referenced_rules_now(seg):
    active = seg.create_segment("Active", ACTIVE)
    assert _emails(seg, [_in(active["id"])]) == ["a@x.com", "b@x.com", "d@x.com"]
    assert _emails(seg, [_in(active["id"]), *INC]) == ["a@x.com"]
    assert _emails(seg, [_in(active["id"], negate=True)]) == ["c@x.com", "e@x.com"]
    # "now": a change of the referenced rules and of the data shows at the next evaluation
    seg.update_segment(active["id"], rules=INC)
    assert _emails(seg, [_in(active["id"])]) == ["a@x.com", "c@x.com"]
    seg.add_contacts([{"email": "f@x.com", "company": "Delta Inc"}])
    assert _emails(seg, [_in(active["id"])]) == ["a@x.com", "c@x.com", "f@x.com"]
    assert seg.count([_in(active["id"], negate=True)]) == 3


def test_segment_rules_nest_in_groups_and_chains(seg):
    active = seg.create_segment("Active", ACTIVE)
    active_inc = seg.create_segment("Active Inc", [_in(active["id"]), *INC])
    either = [{"match": "any", "rules": [_in(active_inc["id"]), {"field": "status", "operator": "is_empty"}]}]
    assert _emails(seg, either) == ["a@x.com", "e@x.com"]
    assert seg.get_segment(active_inc["id"])["contacts_count"] == 1
    # not_in of a segment with no rules: everyone is in it, so no one is out
    everyone = seg.create_segment("Everyone", [])
    assert seg.count([_in(everyone["id"], negate=True)]) == 0
    assert seg.overlap(active["id"], active_inc["id"]) == {"a": 3, "b": 1, "both": 1, "only_a": 2, "only_b": 0,
                                                          "either": 3, "jaccard": 1 / 3}


def test_unknown_segment_and_bad_values_are_rule_errors(seg):
    with pytest.raises(RuleError) as err:
        seg.count([*ACTIVE, _in(9)])
    assert err.value.problems == ["rule 2: segment 9 does not exist"]
    with pytest.raises(RuleError, match=r"rule 1: operator 'in_segment' on segment field 'segment' needs a saved "
                                        r"segment's id \(a whole number\), got 'x'"):
        seg.count([{"field": "segment", "operator": "in_segment", "value": "x"}])
    with pytest.raises(RuleError, match=r"rule 1: operator 'equals' is not valid for segment field 'segment'; "
                                        r"expected one of: in_segment, not_in_segment"):
        seg.count([{"field": "segment", "operator": "equals", "value": 1}])
    with pytest.raises(RuleError, match="needs a value"):
        seg.count([{"field": "segment", "operator": "in_segment"}])
    with pytest.raises(RuleError):
        seg.create_segment("Bad", [_in(True)])


def test_a_loop_is_refused_and_named(seg):
    a = seg.create_segment("A", ACTIVE)
    b = seg.create_segment("B", [_in(a["id"])])
    with pytest.raises(RuleError) as err:
        seg.update_segment(a["id"], rules=[*INC, _in(b["id"])])
    assert err.value.problems == [f"rule 2: segment {a['id']} → segment {b['id']} → segment {a['id']} is a loop"]
    with pytest.raises(RuleError, match=f"rule 1: segment {a['id']} → segment {a['id']} is a loop"):
        seg.update_segment(a["id"], rules=[_in(a["id"])])
    assert seg.get_segment(a["id"])["rules"] == ACTIVE  # nothing changed


def _chain(seg, n: int) -> list[int]:
    """n segments, each (after the first) in_segment of the one before: ids[-1] → … → ids[0]."""
    ids = [seg.create_segment("S1", ACTIVE)["id"]]
    for i in range(1, n):
        ids.append(seg.create_segment(f"S{i + 1}", [_in(ids[-1])])["id"])
    return ids


def test_chains_of_more_than_five_are_refused_both_ways(seg):
    ids = _chain(seg, 5)  # S5 → S4 → S3 → S2 → S1: five segments, allowed
    assert seg.get_segment(ids[-1])["contacts_count"] == 3
    with pytest.raises(RuleError) as err:  # a sixth on top
        seg.create_segment("S6", [_in(ids[-1])])
    chain = " → ".join(f"segment {i}" for i in reversed(ids))
    assert err.value.problems == [f"rule 1: the new segment → {chain} is a chain of 6 segments; at most 5 are allowed "
                                  "(the segment itself and those reached through in_segment)"]
    # extending the tail: S1 refers to a new segment X, which would give S5 a chain of six
    x = seg.create_segment("X", INC)
    with pytest.raises(RuleError) as err:
        seg.update_segment(ids[0], rules=[_in(x["id"])])
    assert err.value.problems == [f"rule 1: {chain} → segment {x['id']} is a chain of 6 segments; at most 5 are "
                                  "allowed (the segment itself and those reached through in_segment)"]
    # a preview may reach the five-segment chain: the rules being counted are not a segment
    assert seg.count([_in(ids[-1])]) == 3


def test_deleting_a_used_segment_is_refused(seg):
    a = seg.create_segment("Active", ACTIVE)
    b = seg.create_segment("Active Inc", [{"match": "all", "rules": [_in(a["id"]), *INC]}])
    with pytest.raises(SegmentInUse) as err:
        seg.delete_segment(a["id"])
    assert str(err.value) == (f"segment {a['id']} is used by the rules of segment {b['id']} ('Active Inc'); "
                              "change or delete those first")
    assert err.value.used_by == [b["id"]]
    assert seg.get_segment(a["id"])["name"] == "Active"
    assert seg.segment_users() == {a["id"]: [b["id"]], b["id"]: []}
    seg.delete_segment(b["id"])
    seg.delete_segment(a["id"])
    assert seg.list_segments() == []


def test_a_reference_broken_by_plain_sql_never_breaks_a_list(seg):
    a = seg.create_segment("Active", ACTIVE)
    b = seg.create_segment("Uses A", [_in(a["id"])])
    with seg.engine.begin() as conn:
        conn.execute(text("DELETE FROM segments WHERE id = :i"), {"i": a["id"]})
    listed = seg.list_segments()
    assert [s["contacts_count"] for s in listed] == [None]
    with pytest.raises(RuleError, match=f"rule 1: segment {a['id']} does not exist"):
        seg.get_segment_contacts(b["id"])


def test_a_loop_written_by_plain_sql_is_a_rule_error_not_a_crash(seg):
    a = seg.create_segment("A", ACTIVE)
    b = seg.create_segment("B", [_in(a["id"])])
    with seg.engine.begin() as conn:
        conn.execute(text("UPDATE segments SET rules = :r WHERE id = :i"),
                     {"r": f'[{{"field": "segment", "operator": "in_segment", "value": {b["id"]}}}]', "i": a["id"]})
    with pytest.raises(RuleError, match="is a loop"):
        seg.count([_in(a["id"])])
    assert [s["contacts_count"] for s in seg.list_segments()] == [None, None]


def test_the_100_rule_limit_counts_the_segments_own_rules(seg):
    many = seg.create_segment("Many", [{"field": "status", "operator": "is_not_empty"}] * 100)
    assert seg.count([_in(many["id"]), *ACTIVE]) == 3


def test_definition_imports_map_ids_within_the_import(seg):
    seg.create_segment("Existing", ACTIVE)
    existing = seg.list_segments()[0]["id"]
    items = [
        {"id": 71, "name": "Uses 70", "rules": [_in(70), _in(existing)]},
        {"id": 70, "name": "Inc", "rules": INC},
    ]
    made = seg.import_definitions(items)
    assert [m["name"] for m in made] == ["Uses 70", "Inc"]
    assert made[0]["rules"] == [_in(made[1]["id"]), _in(existing)]
    assert made[0]["contacts_count"] == 1
    with pytest.raises(RuleError) as err:
        seg.import_definitions([{"name": "Dangling", "rules": [_in(555)]}])
    assert err.value.problems == ["definition 1 ('Dangling'): rule 1: segment 555 does not exist (neither in this "
                                  "import nor in the database)"]
    with pytest.raises(RuleError, match="loop"):
        seg.import_definitions([{"id": 1, "name": "P", "rules": [_in(2)]}, {"id": 2, "name": "Q", "rules": [_in(1)]}])
    assert len(seg.list_segments()) == 3  # nothing of the refused imports was saved


def test_fields_list_the_pseudo_fields_and_reserve_their_names(seg):
    fields = seg.fields()
    assert fields[-2:] == [{"name": "segment", "type": "segment", "custom": False},
                           {"name": "sample", "type": "sample", "custom": False}]
    with pytest.raises(segmenter.ContactError, match="reserved"):
        seg.add_contacts([{"email": "z@x.com", "segment": "vip"}])


def test_explain_reads_segment_rules_through_the_oracle(seg):
    active = seg.create_segment("Active", ACTIVE)
    answer = seg.explain([_in(active["id"]), *INC], "b@x.com")
    assert answer["matches"] is False
    assert [(r["rule"], r["passes"]) for r in answer["rules"]] == [
        (f"is in segment {active['id']}", True), ("company contains 'inc'", False)]
    assert seg.explain([_in(active["id"], negate=True)], "e@x.com")["matches"] is True
