"""SPEC §9 in the app, through AppTest: the segment picker and the sample inputs in the rule editor, the A/B split
panel, "since the last record" with CSV downloads on Build; "used by", size over time and the overlap view on
Segments."""
from __future__ import annotations

import csv
import io

from streamlit.testing.v1 import AppTest

import segmenter
from test_app import add_rule, count_shown, db, start, widget  # noqa: F401 - db is a fixture

ACTIVE = [{"field": "status", "operator": "equals", "value": "active"}]


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _in(segment_id: int, negate: bool = False) -> dict:
    return {"field": "segment", "operator": "not_in_segment" if negate else "in_segment", "value": segment_id}


def test_the_field_menu_offers_saved_segments_by_name(db):
    active = db.create_segment("Active", ACTIVE)
    at = start("app_pages/build.py")
    row = add_rule(at, "segment", "in_segment")
    picker = widget(at.selectbox, f"{row}:v:")
    assert picker.options == [f"#{active['id']} · Active"]
    picker.set_value(active["id"]).run()
    no_errors(at)
    assert count_shown(at) == db.count(ACTIVE)
    widget(at.selectbox, f"{row}:op:").set_value("not_in_segment").run()
    no_errors(at)
    assert count_shown(at) == db.total_contacts() - db.count(ACTIVE)


def test_a_sample_rule_takes_a_salt_and_a_range(db):
    at = start("app_pages/build.py")
    row = add_rule(at, "sample", "in_range")
    widget(at.text_input, f"{row}:v:sample:sample_range:salt").input("ab-1").run()
    widget(at.number_input, f"{row}:v:sample:sample_range:to").set_value(25.0).run()
    no_errors(at)
    rule = {"field": "sample", "operator": "in_range", "value": {"salt": "ab-1", "from": 0, "to": 25}}
    assert count_shown(at) == db.count([rule])


def test_the_split_panel_counts_saves_and_exports_parts(db):
    active = db.create_segment("Active", ACTIVE)
    at = start("app_pages/build.py", tab="A/B split", segment=str(active["id"]))
    no_errors(at)
    salt = at.text_input(key="split_salt")
    assert salt.value.startswith("Active 20")  # the segment's name and today's date, editable
    salt.input("fixed salt").run()
    no_errors(at)
    expected = db.split(active["id"], {"A": 45, "B": 45, "holdout": 10}, salt="fixed salt")
    shown = at.session_state["split_result"]
    assert shown == expected
    assert sum(p["contacts_count"] for p in shown) == active["contacts_count"]
    assert at.download_button(key="split_export").label == "Export part “A” as CSV"
    at.button(key="split_save").click().run()
    no_errors(at)
    names = [s["name"] for s in db.list_segments()]
    assert names == ["Active", "Active – A", "Active – B", "Active – holdout"]
    saved = db.list_segments()[1:]
    assert [s["contacts_count"] for s in saved] == [p["contacts_count"] for p in expected]
    assert saved[0]["rules"][0] == _in(active["id"])


def test_since_the_last_record_with_downloads(db):
    active = db.create_segment("Active", ACTIVE)
    first_inactive = db.contacts([{"field": "status", "operator": "not_equals", "value": "active"}], limit=1)[0]
    first_active = db.contacts(ACTIVE, limit=1)[0]
    db.add_contacts([{"email": first_inactive["email"], "status": "active"},
                     {"email": first_active["email"], "status": "gone"}])
    at = start("app_pages/build.py", segment=str(active["id"]))
    no_errors(at)
    assert any("**+1** entered, **−1** left" in m.value for m in at.markdown)
    assert at.download_button(key="changes_entered").label == "Entered (1) as CSV"
    from ui.compare import _ids_csv
    rows = list(csv.DictReader(io.StringIO(_ids_csv(db, [first_inactive["id"]])().decode("utf-8"))))
    assert [r["email"] for r in rows] == [first_inactive["email"]]


def test_segments_page_shows_used_by_history_and_overlap(db):
    active = db.create_segment("Active", ACTIVE)
    inc = db.create_segment("Inc", [{"field": "company", "operator": "contains", "value": "inc"}])
    uses = db.create_segment("Active Inc", [_in(active["id"]), _in(inc["id"])])
    db.record_counts()
    at = start("app_pages/segments.py")
    no_errors(at)
    # one table of segments; "used by" and size over time belong to the segment chosen to act on (issue 14)
    at.selectbox(key="segment_choice").set_value(active["id"]).run()
    captions = [c.value for c in at.caption]
    assert any(c.startswith(f"Used by #{uses['id']} Active Inc") for c in captions)
    assert len(at.get("vega_lite_chart")) >= 1  # the chosen segment's size over time
    at.selectbox(key="overlap_b").set_value(inc["id"]).run()
    no_errors(at)
    o = db.overlap(active["id"], inc["id"])
    assert any(c.value.startswith(f"A {o['a']:,} · B {o['b']:,} · both {o['both']:,}") for c in at.caption)
    at.button(key="overlap_open:A and not B").click().run()
    no_errors(at)
    assert count_shown(at) == o["only_a"]


def test_deleting_a_used_segment_says_why(db):
    active = db.create_segment("Active", ACTIVE)
    db.create_segment("Uses", [_in(active["id"])])
    at = start("app_pages/segments.py")
    at.selectbox(key="segment_choice").set_value(active["id"]).run()
    at.button(key=f"delete:{active['id']}").click().run()
    assert any("is used by the rules of" in e.value for e in at.error)
    assert len(segmenter.connect(db.url).list_segments()) == 2
