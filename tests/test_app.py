"""The Streamlit app through AppTest: every page, the rule widgets, the messages, and the analyst's main journey
(add rules → count changes → save → listed on Segments → opened by link → CSV export content)."""
from __future__ import annotations

import base64
import csv
import io
import json
import os
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import segmenter
from segmenter.access import os_user
from segmenter.reference import ReferenceBackend
from segmenter.rules import describe
from ui.downloads import csv_export, definitions_json, read_definitions
from ui.format import code_span, decode_rules, encode_rules

APP = Path(__file__).resolve().parents[1] / "app.py"
TIMEOUT = 60  # seconds per script run; the machine is shared, and a first run opens the database


@pytest.fixture
def db(sqlite_url, monkeypatch):
    """A real SQLite file with 600 demo contacts, used by the app through $SEGMENTER_DATABASE_URL."""
    monkeypatch.setenv("SEGMENTER_DATABASE_URL", sqlite_url)
    with segmenter.connect(sqlite_url) as s:
        s.load_demo(600)
        yield s


@pytest.fixture
def empty_db(sqlite_url, monkeypatch):
    monkeypatch.setenv("SEGMENTER_DATABASE_URL", sqlite_url)
    with segmenter.connect(sqlite_url) as s:
        yield s


def start(page: str | None = None, *, tab: str | None = None, **query) -> AppTest:
    """The app after its first run (on ``page``); ``tab``: Build's tab to open (only the open tab's work runs)."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(query)
    if tab is not None:
        open_tab(at, tab)
    at.run()
    if page:
        if tab is not None:  # a page switch starts the page's widgets afresh
            open_tab(at, tab)
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def open_tab(at: AppTest, label: str) -> AppTest:
    """Open one of Build's tabs at the next run, as a click on it would (the tabs keep their state under a key)."""
    at.session_state["build_tab"] = label
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def count_shown(at: AppTest) -> int:
    return int(metric(at, "Matching contacts").replace(",", ""))


def widget(elements, prefix: str):
    """The one widget whose key starts with ``prefix`` (rule rows are keyed ``r<n>:<part>``)."""
    found = [w for w in elements if w.key and w.key.startswith(prefix)]
    assert len(found) == 1, (prefix, [w.key for w in elements])
    return found[0]


def add_rule(at: AppTest, field: str, operator: str) -> str:
    """Add a rule row and choose its field and operator; returns the row's key."""
    before = {s.key.split(":")[0] for s in at.selectbox if s.key and s.key.endswith(":field")}
    at.button(key="add_rule").click().run()
    row = ({s.key.split(":")[0] for s in at.selectbox if s.key and s.key.endswith(":field")} - before).pop()
    widget(at.selectbox, f"{row}:field").set_value(field).run()
    widget(at.selectbox, f"{row}:op:").set_value(operator).run()
    return row


def oracle_ids(db, rules: list) -> list[int]:
    """The matching ids by the independent oracle over every stored contact (not the app's back end)."""
    return ReferenceBackend(db.contacts([])).ids(rules, segmenter.service._now())


def chart_data(at: AppTest) -> list[tuple]:
    """What the breakdown chart draws: its (value, count) rows, in the order given to the chart."""
    import pyarrow as pa

    chart = at.get("vega_lite_chart")
    assert len(chart) == 1, "one breakdown chart is drawn"
    frame = pa.ipc.open_stream(chart[0].proto.datasets[0].data.data).read_all().to_pandas()
    return list(zip(frame["value"], frame["count"]))


class _TableReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self.rows.append([])
        elif tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag in ("th", "td") and self._cell is not None:
            (self.header if tag == "th" else self.rows[-1]).append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def preview_table(at: AppTest) -> tuple[list[str], list[list[str]]]:
    """The preview's header and rows as the browser shows them (the page's one HTML table, parsed back)."""
    tables = [h for h in at.get("html") if "<table>" in h.value]
    assert len(tables) == 1, "the preview is one static table"
    reader = _TableReader()
    reader.feed(tables[0].value)
    return reader.header, reader.rows


def funnel_shown(at: AppTest) -> dict[str, int]:
    """The funnel table as {step label: contacts left}."""
    tables = [d.value for d in at.dataframe if "after" in d.value.columns and "left" in d.value.columns]
    assert len(tables) == 1, "one funnel table"
    return dict(zip(tables[0]["after"], tables[0]["left"]))


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


# ---- pages -----------------------------------------------------------------------------------------------------

def test_build_page_shows_database_total_and_live_count(db):
    at = start()
    no_errors(at)
    assert [t.value for t in at.title] == ["Build a segment"]
    assert code_span(db.safe_url) in [c.value for c in at.sidebar.caption]
    assert not at.code  # no code block on first load: it would make the browser fetch a 1.5 MB highlighter
    assert metric(at, "Contacts") == "600"
    assert count_shown(at) == 600  # no rules: every contact
    assert metric(at, "Share of all contacts") == "100.0%"


def test_every_page_renders_without_errors(db):
    db.create_segment("Active", [{"field": "status", "operator": "equals", "value": "active"}])
    at = start()
    for page, title in [("app_pages/segments.py", "Saved segments"), ("app_pages/contacts.py", "Contacts"),
                        ("app_pages/build.py", "Build a segment")]:
        at.switch_page(page).run()
        no_errors(at)
        assert [t.value for t in at.title] == [title]


def test_empty_database_offers_the_demo_data(empty_db):
    at = start()
    assert any("no contacts yet" in i.value for i in at.info)
    at.button(key="load_demo").click().run()
    no_errors(at)
    assert empty_db.total_contacts() == 20_000
    assert count_shown(at) == 20_000
    assert not any("no contacts yet" in i.value for i in at.info)
    assert metric(at, "Contacts") == "20,000"


def test_an_unreachable_database_is_a_message_not_a_traceback(monkeypatch):
    monkeypatch.setenv("SEGMENTER_DATABASE_URL", "postgresql+psycopg://nobody:secret@127.0.0.1:1/nothing")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [e.value for e in at.error][0].startswith("The database could not be opened. cannot open database")
    assert "secret" not in at.error[0].value  # the password is never shown


# ---- the rule row ----------------------------------------------------------------------------------------------

def test_operator_menu_comes_from_the_registry_for_the_field_type(db):
    at = start()
    row = add_rule(at, "mrr", "greater_than")
    assert widget(at.selectbox, f"{row}:op:").options == [
        "is", "is not", "is between", "is greater than", "is less than", "is at least", "is at most",
        "is empty", "is not empty"]
    widget(at.selectbox, f"{row}:field").set_value("vip").run()
    assert widget(at.selectbox, f"{row}:op:").options == ["is true", "is false", "is empty", "is not empty"]
    assert "custom" in widget(at.selectbox, f"{row}:field").format_func("vip")


@pytest.mark.parametrize("field, operator, kind, widgets", [
    ("status", "equals", "string", {"text_input": 1}),
    ("status", "in", "string_list", {"multiselect": 1}),
    ("mrr", "between", "number_pair", {"number_input": 2}),
    ("mrr", "equals", "number", {"number_input": 1}),
    ("created_at", "on", "date", {"text_input": 1}),
    ("created_at", "between", "when_pair", {"text_input": 2}),
    ("created_at", "in_last_days", "days", {"number_input": 1}),
    ("company", "is_empty", "none", {}),
])
def test_value_widget_follows_the_operators_value_kind(db, field, operator, kind, widgets):
    at = start()
    row = add_rule(at, field, operator)
    for name in ("text_input", "multiselect", "number_input", "date_input"):
        mine = [w for w in getattr(at, name) if w.key and w.key.startswith(f"{row}:v:")]
        assert len(mine) == widgets.get(name, 0), name
        assert all(f":{kind}" in w.key for w in mine)


def test_in_list_offers_existing_values_and_accepts_new_ones(db):
    at = start()
    row = add_rule(at, "status", "in")
    box = widget(at.multiselect, f"{row}:v:")
    assert {"active", "inactive", "pending"} <= set(box.options)
    box.set_value(["active", "Not-A-Status"]).run()
    no_errors(at)
    assert count_shown(at) == db.count([{"field": "status", "operator": "in", "value": ["active", "Not-A-Status"]}])


def test_a_rule_without_a_value_waits_and_is_not_applied(db):
    at = start()
    add_rule(at, "company", "contains")
    no_errors(at)
    assert count_shown(at) == 600
    assert metric(at, "Rules waiting") == "1"
    assert any("not applied yet" in c.value for c in at.caption)


def test_invalid_value_shows_a_message_beside_the_rule_not_a_traceback(db):
    at = start()
    row = add_rule(at, "mrr", "between")
    widget(at.number_input, f"{row}:v:mrr:number_pair:a").set_value(500).run()
    widget(at.number_input, f"{row}:v:mrr:number_pair:b").set_value(100).run()
    assert not at.exception
    # in the app's words (the widgets' names), not the core's "needs A <= B, got [500, 100]"
    assert [e.value for e in at.error] == ["*is between*: *from* must not be more than *to*."]
    assert count_shown(at) == 600  # the invalid rule is not applied
    at.button(key="save_segment").click().run()
    assert any("waiting for a value or have a problem" in e.value for e in at.error)
    assert db.list_segments() == []


def test_groups_combine_rules_with_any(db):
    at = start()
    at.button(key="add_group").click().run()
    group = next(r.key.split(":")[0] for r in at.radio if r.key and r.key.endswith(":match"))
    assert at.radio(key=f"{group}:match").value == "any"
    first = [s.key.split(":")[0] for s in at.selectbox if s.key.endswith(":field")][0]  # the group's first row
    widget(at.text_input, f"{first}:v:").input("active").run()
    at.button(key=f"{group}:add").click().run()
    second = [s.key.split(":")[0] for s in at.selectbox if s.key.endswith(":field")][-1]
    widget(at.text_input, f"{second}:v:").input("pending").run()
    no_errors(at)
    rules = [{"match": "any", "rules": [{"field": "status", "operator": "equals", "value": "active"},
                                        {"field": "status", "operator": "equals", "value": "pending"}]}]
    assert count_shown(at) == db.count(rules)
    at.radio(key=f"{group}:match").set_value("all").run()
    assert count_shown(at) == 0


# ---- the main journey ----------------------------------------------------------------------------------------

def test_main_journey_build_save_list_open_by_link_export(db):
    at = start()
    status = add_rule(at, "status", "equals")
    widget(at.text_input, f"{status}:v:").input("active").run()
    one = [{"field": "status", "operator": "equals", "value": "active"}]
    assert count_shown(at) == db.count(one) < 600

    plan = add_rule(at, "plan", "in")
    widget(at.multiselect, f"{plan}:v:").set_value(["pro", "enterprise"]).run()
    rules = one + [{"field": "plan", "operator": "in", "value": ["pro", "enterprise"]}]
    expected = db.count(rules)
    assert count_shown(at) == expected < db.count(one)
    assert expected == len(oracle_ids(db, rules))
    open_tab(at, "Funnel").run()
    assert funnel_shown(at) == {"all contacts": 600, "1. status is 'active'": len(oracle_ids(db, one)),
                                "2. plan is one of 'pro', 'enterprise'": expected}

    at.text_input(key="segment_name:new").input("Active paying").run()
    at.button(key="save_segment").click().run()
    no_errors(at)
    saved = db.list_segments()
    assert [(s["name"], s["rules"], s["contacts_count"], s["created_by"]) for s in saved] == [
        ("Active paying", rules, expected, os.environ.get("SEGMENTER_USER") or os_user())]  # nobody signs in
    segment_id = saved[0]["id"]
    assert any(f"Saved segment #{segment_id}" in s.value for s in at.success)
    assert at.query_params["segment"] == str(segment_id)

    at.switch_page("app_pages/segments.py").run()
    no_errors(at)
    texts = [m.value for m in at.markdown]
    assert f"**#{segment_id} · Active paying**" in texts
    assert "status is 'active' and plan is one of 'pro', 'enterprise'" in [t.replace("\\", "") for t in texts]
    assert any(c.value.startswith(f"{expected:,} contacts now") for c in at.caption)

    linked = start(segment=str(segment_id))
    no_errors(linked)
    assert "Editing saved segment" in linked.caption[0].value
    assert count_shown(linked) == expected
    assert sorted(m.value[0] for m in linked.multiselect if m.key.endswith(":string_list")) == ["pro"]
    assert [b.label for b in linked.download_button if b.key == "export_csv"] == [f"Export CSV ({expected} contacts)"]

    content = csv_export(db, rules)().decode("utf-8")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:6] == ["id", "email", "name", "company", "status", "created_at"]
    assert len(rows) - 1 == expected
    plan_col = rows[0].index("plan")
    assert {r[4] for r in rows[1:]} == {"active"} and {r[plan_col] for r in rows[1:]} <= {"pro", "enterprise"}


def test_open_button_on_segments_page_loads_the_segment_in_build(db):
    made = db.create_segment("Pending", [{"field": "status", "operator": "equals", "value": "pending"}])
    at = start("app_pages/segments.py")
    at.button(key=f"open:{made['id']}").click().run()
    no_errors(at)
    assert [t.value for t in at.title] == ["Build a segment"]
    assert count_shown(at) == made["contacts_count"]
    assert at.button(key="save_segment").label == f"Update segment #{made['id']}"


def test_open_shows_the_saved_version_even_while_it_is_being_edited(db):
    made = db.create_segment("Pending", [{"field": "status", "operator": "equals", "value": "pending"}])
    at = start(segment=str(made["id"]))
    row = [s.key.split(":")[0] for s in at.selectbox if s.key.endswith(":field")][0]
    at.text_input(key=f"{row}:v:status:string").input("active").run()  # edited, not saved
    assert count_shown(at) != made["contacts_count"]
    at.switch_page("app_pages/segments.py").run()
    at.button(key=f"open:{made['id']}").click().run()
    assert count_shown(at) == made["contacts_count"]


def test_update_the_loaded_segment_records_the_signed_in_user(db):
    made = db.create_segment("Pending", [{"field": "status", "operator": "equals", "value": "pending"}])
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x"}
    at.secrets["segmenter"] = {"allowed": ["@example.com"], "editors": ["ana@example.com"]}
    at.user = {"is_logged_in": True, "email": "ana@example.com", "email_verified": True}
    at.query_params["segment"] = str(made["id"])
    at.run()
    row = [s.key.split(":")[0] for s in at.selectbox if s.key.endswith(":field")][0]
    at.text_input(key=f"{row}:v:status:string").input("active").run()
    at.text_input(key=f"segment_name:{made['id']}").input("Now active").run()
    at.button(key="save_segment").click().run()
    no_errors(at)
    after = db.get_segment(made["id"])
    assert (after["name"], after["rules"][0]["value"], after["updated_by"]) == ("Now active", "active", "ana@example.com")
    assert len(db.list_segments()) == 1


def test_sidebar_names_the_signed_in_user_and_role_and_offers_sign_out(db):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x"}
    at.secrets["segmenter"] = {"allowed": ["ana@example.com"]}
    at.user = {"is_logged_in": True, "email": "ana@example.com"}
    at.run()
    no_errors(at)
    assert "Signed in as ana@example\\.com (viewer)" in [c.value for c in at.sidebar.caption]
    assert [b.label for b in at.sidebar.button] == ["Sign out"]


def test_with_auth_every_page_asks_for_sign_in_first_and_shows_no_data(db):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x"}
    at.secrets["segmenter"] = {"allowed": ["ana@example.com"]}
    at.user = {"is_logged_in": False}
    at.run()
    no_errors(at)
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.dataframe and not [c for c in at.sidebar.caption if db.safe_url in c.value]


def test_no_sign_in_without_auth_settings(db):
    at = start()
    assert not at.sidebar.button


def test_unsaved_rules_open_from_a_rules_link(db):
    rules = [{"field": "status", "operator": "equals", "value": "active"},
             {"match": "any", "rules": [{"field": "plan", "operator": "equals", "value": "pro"},
                                        {"match": "all", "rules": [{"field": "vip", "operator": "is_true"}]}]}]
    assert decode_rules(encode_rules(rules)) == rules
    at = start(rules=encode_rules(rules))
    no_errors(at)
    assert count_shown(at) == db.count(rules)
    assert "vip is true" in [m.value.replace("\\", "") for m in at.markdown if "vip" in m.value][0]
    code = [c.value.strip("` ") for c in at.caption if "?rules=" in c.value]
    assert code and code[0].endswith("?rules=" + encode_rules(rules))


@pytest.mark.parametrize("query, message", [
    ({"segment": "999"}, "Segment 999 was not found"),
    ({"rules": "not-base64!"}, "The link could not be opened"),
    ({"rules": encode_rules([{"field": "nope", "operator": "equals", "value": "x"}])}, "unknown field 'nope'"),
    # Hostile links (issue 12): each showed Streamlit's crash page before.
    ({"rules": encode_rules([{"field": "mrr", "operator": "greater_than", "value": 10**400}])},
     "needs a number within ±1.8e308"),
    ({"rules": base64.urlsafe_b64encode(b'[{"field":"name","operator":"equals","value":"\\ud800"}]').decode()},
     "lone surrogate U+D800"),
    ({"rules": encode_rules([{"field": "created_at", "operator": "after", "value": "9999-12-31T23:00:00-05:00"}])},
     "within the years 1 to 9999 in UTC"),
    ({"rules": base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode().rstrip("=")}, "nested too deeply"),
])
def test_a_bad_link_says_what_is_wrong(db, query, message):
    at = start(**query)
    assert any(message in e.value.replace("\\", "") for e in at.error), [e.value for e in at.error]  # Markdown-escaped
    assert count_shown(at) == 600


@pytest.mark.parametrize("rules", [
    [{"field": "created_at", "operator": "after", "value": "9999-12-31"}],
    [{"field": "created_at", "operator": "on", "value": "9999-12-31"}],
    [{"field": "created_at", "operator": "between", "value": ["0001-01-01", "9999-12-31"]}],
])
def test_a_link_to_the_last_day_there_is_opens_and_counts(db, rules):
    at = start(rules=encode_rules(rules))
    no_errors(at)
    assert count_shown(at) == db.count(rules)


def test_a_segment_whose_field_was_removed_by_hand_opens_empty_with_the_reason(db, sqlite_url):
    made = db.create_segment("VIP", [{"field": "vip", "operator": "is_true"}])
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as con:  # plain SQL, as an admin might
        con.execute("DELETE FROM custom_fields WHERE name = 'vip'")
    at = start("app_pages/segments.py")
    assert any("no longer exists" in w.value for w in at.warning)
    at = start(segment=str(made["id"]))
    assert any("no longer fit the data" in e.value and "unknown field 'vip'" in e.value for e in at.error)
    assert at.button(key="save_segment").label == f"Update segment #{made['id']}"
    assert count_shown(at) == 600


def test_text_from_a_link_is_shown_literally_not_as_markdown(db):
    at = start(segment="[click me](https://evil.example)")
    shown = [e.value for e in at.error]
    assert any("\\[click me\\]\\(https" in v for v in shown), shown  # escaped: no link is drawn


def test_rules_json_can_be_pasted_and_bad_json_is_reported(db):
    at = start()
    assert not at.text_area  # the JSON view runs only once opened
    at.session_state["rules_json_open"] = True
    at.run()
    at.text_area(key="paste_rules").input("[{'field': 1}]").run()
    at.button(key="use_pasted").click().run()
    assert any("not valid JSON" in e.value for e in at.error)
    rules = [{"field": "status", "operator": "equals", "value": "bounced"}]
    at.text_area(key="paste_rules").input(json.dumps(rules)).run()
    at.button(key="use_pasted").click().run()
    no_errors(at)
    assert count_shown(at) == db.count(rules)
    assert json.loads([c.value for c in at.code if c.language == "json"][0]) == rules


# ---- segments page ---------------------------------------------------------------------------------------------

def test_duplicate_rename_and_delete_a_segment(db):
    made = db.create_segment("Active", [{"field": "status", "operator": "equals", "value": "active"}])
    at = start("app_pages/segments.py")
    at.button(key=f"duplicate:{made['id']}").click().run()
    no_errors(at)
    copies = db.list_segments()
    assert [s["name"] for s in copies] == ["Active", "Active (copy)"] and copies[1]["rules"] == made["rules"]

    at.text_input(key=f"rename:{made['id']}").input("Active users")  # a form: typed and submitted in one run
    at.button(key=f"rename_save:{made['id']}").click().run()
    assert db.get_segment(made["id"])["name"] == "Active users"

    at.text_input(key=f"rename:{made['id']}").input("   ")
    at.button(key=f"rename_save:{made['id']}").click().run()
    assert any("name must not be empty" in e.value for e in at.error)

    at.selectbox(key="segment_choice").set_value(copies[1]["id"]).run()
    at.button(key=f"delete:{copies[1]['id']}").click().run()
    no_errors(at)
    assert [s["id"] for s in db.list_segments()] == [made["id"]]
    assert not [b for b in at.button if b.key == f"open:{copies[1]['id']}"]


def test_definitions_export_and_import_as_json(db):
    made = db.create_segment("Active", [{"field": "status", "operator": "equals", "value": "active"}])
    uses = db.create_segment("Active Inc", [{"field": "segment", "operator": "in_segment", "value": made["id"]},
                                            {"field": "company", "operator": "contains", "value": "inc"}])
    exported = definitions_json(db.list_segments())
    assert read_definitions(json.loads(exported)) == [{"id": made["id"], "name": "Active", "rules": made["rules"]},
                                                      {"id": uses["id"], "name": "Active Inc", "rules": uses["rules"]}]
    at = start("app_pages/segments.py")
    assert at.download_button(key="export_definitions").label == "Export all definitions"
    bad = {"name": "Broken", "rules": [{"field": "status", "operator": "contain", "value": "x"}]}
    payload = json.dumps(json.loads(exported) + [bad]).encode()
    at.file_uploader(key="definitions_file").upload("segments.json", payload, "application/json")
    at.button[[b.label for b in at.button].index("Import")].click().run()
    assert not at.exception
    assert any("unknown operator 'contain'" in e.value for e in at.error)
    assert [s["name"] for s in db.list_segments()] == ["Active", "Active Inc"]  # all or nothing
    at.file_uploader(key="definitions_file").upload("segments.json", exported.encode(), "application/json")
    at.button[[b.label for b in at.button].index("Import")].click().run()
    no_errors(at)
    listed = db.list_segments()
    assert [s["name"] for s in listed] == ["Active", "Active Inc", "Active", "Active Inc"]
    assert listed[3]["rules"][0] == {"field": "segment", "operator": "in_segment", "value": listed[2]["id"]}


# ---- contacts page ---------------------------------------------------------------------------------------------

def test_contacts_search_is_paged(db):
    at = start("app_pages/contacts.py")
    at.text_input(key="contact_search").input("inc").run()
    no_errors(at)
    rules = [{"match": "any", "rules": [{"field": f, "operator": "contains", "value": "inc"}
                                        for f in ("email", "name", "company")]}]
    n = db.count(rules)
    assert any(c.value.startswith(f"Contacts 1–25 of {n:,}, ordered by id") for c in at.caption)
    assert len(at.dataframe[0].value) == 25


def test_csv_import_previews_then_reports_rejected_rows(db):
    text = ("Email,First Name,Last Name,Score,Joined\n"
            "new.one@example.com,New,One,5,2024-01-02\n"
            "not-an-email,Bad,Row,3,2024-01-03\n"
            "=evil@example.com,Evil,Row,1,2024-01-04\n")
    at = start("app_pages/contacts.py")
    at.file_uploader(key="csv_file:0").upload("people.csv", text.encode(), "text/csv").run()
    no_errors(at)
    assert any("score (number)" in i.value and "joined (datetime)" in i.value for i in at.info)
    mapping = next(d.value for d in at.dataframe if "import as" in d.value.columns)
    assert list(mapping["import as"]) == ["email", "name", "name", "score", "joined"]
    plan = next(d.value for d in at.dataframe if "type" in d.value.columns)
    assert list(plan["type"]) == ["text", "text", "text", "number", "datetime"]
    assert list(plan["new field"]) == [False, False, False, True, True]
    at.button(key="import_csv").click().run()
    no_errors(at)
    assert any("2 new, 0 updated, 1 rejected" in s.value for s in at.success), [s.value for s in at.success]
    assert at.download_button(key="rejected_csv")
    rejected = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert list(rejected["line"]) == [3]  # physical line numbers, the header is line 1
    assert db.explain([], "new.one@example.com")["contact"]["score"] == 5
    assert db.total_contacts() == 602
    assert metric(at, "Contacts") == "602"  # the sidebar's total after the import's rerun
    # item 12: the file and the import button are gone, so one more click cannot import it again
    assert [u.key for u in at.file_uploader if u.key.startswith("csv_file")] == ["csv_file:1"]
    assert not [b for b in at.button if b.key == "import_csv"]
    exported = csv_export(db, [{"field": "email", "operator": "starts_with", "value": "="}])().decode()
    assert "'=evil@example.com" in exported  # formula-guarded on the way out


@pytest.mark.parametrize("name, content, message", [
    ("book.csv", b"PK\x03\x04 binary workbook", "looks like an Excel workbook"),
    ("latin1.csv", "email,name\nm@x.com,M\xfcller\n".encode("latin-1"), "not UTF-8"),
    ("empty.csv", b"", "the file is empty"),
])
def test_a_file_that_is_not_a_usable_csv_gets_a_clear_message(db, name, content, message):
    at = start("app_pages/contacts.py")
    at.file_uploader(key="csv_file:0").upload(name, content, "text/csv").run()
    assert not at.exception
    assert any(message in e.value and name in e.value for e in at.error), [e.value for e in at.error]


def test_an_oversized_file_gets_a_clear_message(db, monkeypatch):
    monkeypatch.setattr("ui.resources.max_upload_bytes", lambda: 100)
    at = start("app_pages/contacts.py")
    text = "email,name\n" + "".join(f"person{i}@example.com,Person {i}\n" for i in range(20))
    at.file_uploader(key="csv_file:0").upload("big.csv", text.encode(), "text/csv").run()
    assert not at.exception
    assert any("big.csv cannot be imported" in e.value and "the limit is" in e.value for e in at.error), \
        [e.value for e in at.error]
    assert db.total_contacts() == 600


def test_export_is_formula_guarded(db):
    db.add_contacts([{"email": "formula@example.com", "name": "=HYPERLINK(\"x\")", "status": "zzz"}])
    content = csv_export(db, [{"field": "status", "operator": "equals", "value": "zzz"}])().decode()
    assert list(csv.reader(io.StringIO(content)))[1][2] == "'=HYPERLINK(\"x\")"


def test_segment_descriptions_are_shown_literally(db):
    db.create_segment("*Bold* $x$", [{"field": "company", "operator": "contains", "value": "_Inc_"}])
    at = start("app_pages/segments.py")
    shown = [m.value for m in at.markdown]
    assert "**#1 · \\*Bold\\* \\$x\\$**" in shown
    assert describe([{"field": "company", "operator": "contains", "value": "_Inc_"}]) in [s.replace("\\", "") for s in shown]


# ---- round two (issue 14) ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("days", [0, -5, 40_000])
def test_days_out_of_range_wait_with_the_reason_beside_the_rule(db, days):
    """Item 5: the box had min/max, so the browser refused the number silently and the old count stayed."""
    at = start()
    row = add_rule(at, "created_at", "in_last_days")
    box = widget(at.number_input, f"{row}:v:")
    assert box.min is None and box.max is None  # the core checks the range, and says why
    box.set_value(days).run()
    assert not at.exception
    assert metric(at, "Rules waiting") == "1"
    assert count_shown(at) == 600
    assert [e.value for e in at.error] == [
        f"*is in the last (days)*: the number of days must be a whole number from 1 to 36,500 (not {days})."]


@pytest.mark.parametrize("value, says", [("active ", "ends with a space"), (" active", "starts with a space"),
                                         ("   ", "is only spaces")])
def test_a_value_with_outer_spaces_is_kept_and_said_beside_the_rule(db, value, says):
    """Item 9: SPEC keeps spaces, so "active " matches nothing; the rule says so instead of a silent 0."""
    at = start()
    row = add_rule(at, "status", "equals")
    widget(at.text_input, f"{row}:v:").input(value).run()
    no_errors(at)
    assert count_shown(at) == db.count([{"field": "status", "operator": "equals", "value": value}])
    assert any(says in c.value for c in at.caption), [c.value for c in at.caption]


def test_a_value_list_with_an_outer_space_is_said_too(db):
    at = start()
    row = add_rule(at, "status", "in")
    widget(at.multiselect, f"{row}:v:").set_value(["active", "pending "]).run()
    assert any("ends with a space" in c.value for c in at.caption)


def test_changing_a_rows_field_starts_with_no_value(db):
    """Item 10: created_at "in the last 7 days" → mrr became "mrr is 7" and applied at once."""
    at = start()
    row = add_rule(at, "created_at", "in_last_days")
    widget(at.number_input, f"{row}:v:").set_value(7).run()
    assert metric(at, "Rules waiting") == "0"
    widget(at.selectbox, f"{row}:field").set_value("mrr").run()
    no_errors(at)
    assert widget(at.number_input, f"{row}:v:").value is None
    assert metric(at, "Rules waiting") == "1" and count_shown(at) == 600
    widget(at.selectbox, f"{row}:field").set_value("plan").run()
    assert widget(at.text_input, f"{row}:v:").value == ""


def _in_order(node, found: list) -> list:
    """Every element under ``node`` in the order the page draws them, as (type, label or value)."""
    found.append((getattr(node, "type", None), getattr(node, "label", None) or getattr(node, "value", None)))
    for child in getattr(node, "children", {}).values():
        _in_order(child, found)
    return found


def test_the_live_count_is_above_the_rules(db):
    """Item 14: at 1280×720 the count scrolled out of sight below a long list of rules."""
    at = start()
    drawn = _in_order(at.main, [])
    count_at = drawn.index(("metric", "Matching contacts"))
    rules_at = next(i for i, (kind, text) in enumerate(drawn) if kind == "subheader" and text == "Rules")
    assert count_at < rules_at


def test_delete_confirmation_names_the_segment_and_renaming_to_a_taken_name_says_so(db):
    """Item 11: names may repeat (SPEC), but the app says so; the delete question names what it deletes."""
    rule = [{"field": "status", "operator": "equals", "value": "active"}]
    first = db.create_segment("Active Inc customers", rule)
    db.create_segment("Active Inc customers", rule)
    other = db.create_segment("Other", rule)
    at = start("app_pages/segments.py")
    at.selectbox(key="segment_choice").set_value(first["id"]).run()
    assert any(m.value == f"Delete “Active Inc customers” (#{first['id']})? This cannot be undone; contacts are not "
               "affected." for m in at.markdown), [m.value for m in at.markdown]
    at.selectbox(key="segment_choice").set_value(other["id"]).run()
    at.text_input(key=f"rename:{other['id']}").input("Active Inc customers")
    at.button(key=f"rename_save:{other['id']}").click().run()
    no_errors(at)
    assert any("2 other segments are named “Active Inc customers”" in s.value for s in at.success), at.success


def test_saving_under_a_taken_name_says_how_many_others_have_it(db):
    db.create_segment("Active", [{"field": "status", "operator": "equals", "value": "active"}])
    at = start()
    row = add_rule(at, "status", "equals")
    widget(at.text_input, f"{row}:v:").input("active").run()
    at.text_input(key="segment_name:new").input("Active").run()
    at.button(key="save_segment").click().run()
    no_errors(at)
    assert any("1 other segment is named “Active”" in s.value for s in at.success), [s.value for s in at.success]


def test_segments_page_is_one_searchable_sortable_table_with_200_segments(db):
    """Item 18: 200 cards were unusable; one table, a search (accents and case ignored) and a sort."""
    rule = [{"field": "status", "operator": "equals", "value": "active"}]
    for i in range(200):
        db.create_segment(f"Segment {i:03d}", rule)
    db.create_segment("Clientes de José", [{"field": "plan", "operator": "equals", "value": "pro"}])
    at = start("app_pages/segments.py")
    no_errors(at)
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 201
    assert not [b for b in at.button if b.key and b.key.startswith("open:")][1:]  # one set of actions, not 201
    at.text_input(key="segment_search").input("jose").run()
    assert list(at.dataframe[0].value["name"]) == ["Clientes de José"]
    at.text_input(key="segment_search").input("plan is").run()  # the rules in plain English are searched too
    assert list(at.dataframe[0].value["name"]) == ["Clientes de José"]
    at.text_input(key="segment_search").input("").run()
    at.selectbox(key="segment_sort").set_value("Name (A–Z)").run()
    assert list(at.dataframe[0].value["name"])[:2] == ["Clientes de José", "Segment 000"]
    at.selectbox(key="segment_sort").set_value("Id (oldest first)").run()
    assert list(at.dataframe[0].value["name"])[:2] == ["Segment 000", "Segment 001"]


@pytest.mark.parametrize("header", ["Work Email", "Contact"])
def test_a_file_without_an_email_column_asks_for_it_and_imports(db, header):
    """Item 4: the import stopped at the API's "pass a mapping such as {...}" and no mapping table appeared."""
    text = f"{header},Full Name\nwork.one@example.com,Work One\nwork.two@example.com,Work Two\n"
    at = start("app_pages/contacts.py")
    at.file_uploader(key="csv_file:0").upload("people.csv", text.encode(), "text/csv").run()
    assert not at.error and not at.exception
    assert any("no column named *email*" in w.value for w in at.warning)
    assert not any("mapping such as" in w.value for w in at.warning)
    box = next(s for s in at.selectbox if s.key.startswith("email_col:"))
    if header == "Contact":  # nothing to guess from: the analyst chooses
        assert box.value is None and not [b for b in at.button if b.key == "import_csv"]
        box.set_value("Contact").run()
    mapping = next(d.value for d in at.dataframe if "import as" in d.value.columns)
    assert list(mapping["import as"])[0] == "email"
    at.button(key="import_csv").click().run()
    no_errors(at)
    assert any("2 new, 0 updated" in s.value for s in at.success), [s.value for s in at.success]
    assert db.explain([], "work.two@example.com")["contact"]["email"] == "work.two@example.com"


def test_a_header_only_file_says_it_has_no_rows(db):
    at = start("app_pages/contacts.py")
    at.file_uploader(key="csv_file:0").upload("empty-rows.csv", b"email,name\n", "text/csv").run()
    assert any("has a header but no rows" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "import_csv"]


def test_the_address_keeps_unsaved_rules_so_reload_and_back_restore_them(db):
    """Item 8: reloading, or going to Segments and back, lost the unsaved rules and the ?segment= in the address."""
    made = db.create_segment("Pending", [{"field": "status", "operator": "equals", "value": "pending"}])
    at = start(segment=str(made["id"]))
    assert not any("edited — not saved" in c.value for c in at.caption)
    row = [s.key.split(":")[0] for s in at.selectbox if s.key.endswith(":field")][0]
    at.text_input(key=f"{row}:v:status:string").input("active").run()
    no_errors(at)
    edited = [{"field": "status", "operator": "equals", "value": "active"}]
    assert at.query_params["segment"] == str(made["id"])
    assert decode_rules(at.query_params["rules"]) == edited
    assert any("edited — not saved" in c.value for c in at.caption)

    reloaded = start(segment=str(made["id"]), rules=at.query_params["rules"])  # a reload: a new session
    no_errors(reloaded)
    assert count_shown(reloaded) == db.count(edited)
    assert reloaded.button(key="save_segment").label == f"Update segment #{made['id']}"
    assert any("edited — not saved" in c.value for c in reloaded.caption)

    at.switch_page("app_pages/segments.py").run()
    at.switch_page("app_pages/build.py").run()
    assert count_shown(at) == db.count(edited)
    at.button(key="save_segment").click().run()
    no_errors(at)
    assert db.get_segment(made["id"])["rules"] == edited
    assert "rules" not in at.query_params and not any("edited — not saved" in c.value for c in at.caption)


def test_a_new_segments_rules_are_in_the_address(db):
    at = start()
    row = add_rule(at, "status", "equals")
    widget(at.text_input, f"{row}:v:").input("active").run()
    assert decode_rules(at.query_params["rules"]) == [{"field": "status", "operator": "equals", "value": "active"}]
    assert "segment" not in at.query_params
