"""Build's insight tabs through AppTest (issue 14 items 16 and 17): what the breakdown chart is given (fields offered,
the default, round ranges, periods, top 10 + other, count labels) and what "Explain a contact" shows."""
from __future__ import annotations

import bisect
import json
from collections import Counter

from segmenter import breakdown as bd
from test_app import add_rule, chart_data, db, oracle_ids, start, widget  # noqa: F401 - db is a fixture
from ui.format import encode_rules

ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]


def matching(db, rules: list) -> list[dict]:
    ids = set(oracle_ids(db, rules))
    return [c for c in db.contacts([]) if c["id"] in ids]


def chart_spec(at) -> dict:
    return json.loads(at.get("vega_lite_chart")[0].proto.spec)


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


# ---- breakdown ---------------------------------------------------------------------------------------------------

def test_breakdown_offers_no_field_with_one_value_per_contact(db):
    at = start(tab="Breakdown")
    options = at.selectbox(key="breakdown_field").options
    names = [o.split(" · ")[0] for o in options]
    assert {"status", "plan", "country", "vip", "mrr", "created_at"} <= set(names)
    # email and id always; name (597 of 600 distinct) and company (459 of 554) by their values
    assert not {"id", "email", "name", "company"} & set(names)


def test_breakdown_defaults_to_a_field_the_rules_do_not_fix(db):
    at = start(tab="Breakdown")
    assert at.selectbox(key="breakdown_field").value == "status"
    at = start(tab="Breakdown", rules=encode_rules(ACTIVE))
    # status = active leaves one bar: the chart opens on the next useful field instead, over the matching contacts
    assert at.selectbox(key="breakdown_field").value == "plan"
    assert dict(chart_data(at)) == Counter(c["plan"] for c in matching(db, ACTIVE))
    assert len(chart_data(at)) >= 2


def test_a_field_the_analyst_chose_is_kept_while_rules_change(db):
    at = start(tab="Breakdown")
    at.selectbox(key="breakdown_field").set_value("vip").run()
    row = add_rule(at, "status", "equals")
    widget(at.text_input, f"{row}:v:").input("active").run()
    assert at.selectbox(key="breakdown_field").value == "vip"
    vip = Counter("true" if c["vip"] else "false" for c in matching(db, ACTIVE))
    assert dict(chart_data(at)) == vip


def test_breakdown_bars_carry_their_counts(db):
    at = start(tab="Breakdown")
    spec = chart_spec(at)
    layers = spec["layer"]
    text = [la for la in layers if (la["mark"]["type"] if isinstance(la["mark"], dict) else la["mark"]) == "text"]
    assert len(text) == 1 and text[0]["encoding"]["text"]["field"] == "count"


def test_top_ten_then_an_honest_other(db):
    at = start(tab="Breakdown")
    at.selectbox(key="breakdown_field").set_value("country").run()
    everyone = Counter(c["country"] for c in db.contacts([]))
    assert len(everyone) > 11
    shown = chart_data(at)
    top = sorted(everyone.items(), key=lambda kv: -kv[1])[:10]
    assert [n for _, n in shown[:10]] == [n for _, n in top]
    assert shown[10] == ("(other)", sum(everyone.values()) - sum(n for _, n in top))
    assert sum(n for _, n in shown) == len(db.contacts([]))  # every contact once
    assert f"the remaining {len(everyone) - 10} values" in captions(at)


def test_numbers_are_binned_on_round_edges(db):
    at = start(tab="Breakdown", rules=encode_rules(ACTIVE))
    at.selectbox(key="breakdown_field").set_value("mrr").run()
    people = matching(db, ACTIVE)
    mrr = [c["mrr"] for c in people if c["mrr"] is not None]
    edges, exponent = bd.number_edges(min(mrr), max(mrr), 10)
    step = edges[1] - edges[0]
    assert step in {m * 10 ** n for m in (1, 2, 5) for n in range(-2, 6)} and all(e % step == 0 for e in edges)
    per = Counter(bisect.bisect_right(edges, x) - 1 for x in mrr)
    expected = [(bd.number_label(edges[i], edges[i + 1], exponent), per[i]) for i in range(len(edges) - 1)]
    empty = len(people) - len(mrr)
    assert chart_data(at) == expected + ([("(empty)", empty)] if empty else [])
    assert "round edges" in captions(at)


def test_dates_by_a_period_chosen_from_their_span(db):
    at = start(tab="Breakdown")
    at.selectbox(key="breakdown_field").set_value("created_at").run()
    days = sorted(c["created_at"][:10] for c in db.contacts([]))
    assert days[0][:7] != days[-1][:7]
    shown = chart_data(at)
    months = Counter(d[:7] for d in days)
    # every month from the first to the last, in order, none skipped (a month with no signup shows 0)
    assert [v for v, _ in shown][0] == days[0][:7] and shown[-1][0] == days[-1][:7]
    assert dict(shown) == {**{v: 0 for v, _ in shown}, **months} and len(shown) == len(set(v for v, _ in shown))
    assert "One bar per month (UTC)" in captions(at)


# ---- explain a contact ---------------------------------------------------------------------------------------------

PLANS = [{"field": "status", "operator": "equals", "value": "active"},
         {"match": "any", "rules": [{"field": "plan", "operator": "in", "value": ["pro", "enterprise"]},
                                    {"match": "all", "rules": [{"field": "vip", "operator": "is_true"},
                                                               {"field": "mrr", "operator": "greater_than",
                                                                "value": 100}]}]}]


def explained(at) -> list[str]:
    """The explanation's lines as shown (one markdown list; members of a group indented by four spaces)."""
    blocks = [m.value for m in at.markdown if "✅" in m.value or "❌" in m.value]
    assert len(blocks) == 1, blocks
    return blocks[0].split("\n")


def test_explain_finds_a_contact_by_part_of_a_name_and_shows_each_rule_with_its_value(db):
    everyone = db.contacts([])
    inside = db.contacts(PLANS)[0]
    first_name = inside["name"].split()[0]
    namesakes = [c for c in everyone if first_name.lower() in (c["name"] or "").lower()
                 or first_name.lower() in c["email"]]
    at = start(tab="Explain a contact", rules=encode_rules(PLANS))
    at.text_input(key="explain_search").input(first_name.lower()).run()
    if len(namesakes) > 1:  # several: pick from the matches, labelled name <email>
        pick = at.selectbox(key=f"explain_pick:{first_name.lower()}")
        assert len(pick.options) == min(20, len(namesakes))
        assert all(o.endswith(">") for o in pick.options if "<" in o)
        pick.set_value(f"{inside['name']} <{inside['email']}>").run()
    assert any(f"{inside['email']}" in s.value.replace("\\", "") and "is in this segment" in s.value
               for s in at.success)
    lines = explained(at)
    assert lines[0].startswith("- ✅ **1.**") and "contact: “active”" in lines[0]
    assert lines[1].startswith("- ✅ **2.** a group: **any** of these")
    assert lines[2].startswith("    - ") and "**2.1.**" in lines[2]
    assert f"contact: “{inside['plan']}”" in lines[2]


def test_explain_shows_what_fails_in_nested_groups(db):
    outside = next(c for c in db.contacts([{"field": "status", "operator": "equals", "value": "active"},
                                           {"field": "plan", "operator": "equals", "value": "free"},
                                           {"field": "vip", "operator": "is_false"}]))
    at = start(tab="Explain a contact", rules=encode_rules(PLANS))
    at.text_input(key="explain_search").input(outside["email"].upper()).run()  # an exact email: no menu
    assert any("fails rule 2" in w.value for w in at.warning)
    lines = explained(at)
    assert lines[0].startswith("- ✅ **1.**")
    assert lines[1].startswith("- ❌ **2.** a group: **any** of these (any one must pass) — 0 of 2 pass")
    assert lines[2].startswith("    - ❌ **2.1.**") and "contact: “free”" in lines[2]
    assert lines[3].startswith("    - ❌ **2.2.** a group: **all** of these (every one must pass)")
    assert lines[4].startswith("        - ❌ **2.2.1.**") and lines[4].endswith("contact: false")
    mrr = "*(empty)*" if outside["mrr"] is None else f"{outside['mrr']:,.10g}".removesuffix(".0")
    assert lines[5].startswith("        - ") and "**2.2.2.**" in lines[5] and lines[5].endswith(f"contact: {mrr}")
    assert ("✅" in lines[5]) == (outside["mrr"] is not None and outside["mrr"] > 100)


def test_explain_says_when_nothing_is_found(db):
    at = start(tab="Explain a contact", rules=encode_rules(PLANS))
    at.text_input(key="explain_search").input("nobody-at-all-xyz").run()
    assert any("No contact's email or name contains" in w.value for w in at.warning)
    assert not [m for m in at.markdown if "✅" in m.value or "❌" in m.value]
