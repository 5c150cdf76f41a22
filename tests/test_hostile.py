"""Hostile input through the Python API (SPEC §2 *Invalid rules*, §4): every value that validates evaluates on
every back end, the rest are rule or contact errors that name the character or the limit, and no other exception
type leaves the API. Each case ran into a raw exception, a 500 or a stored segment that broke reads before."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

import segmenter
from hostile import HOSTILE_TEXT, LEAF, NODE
from segmenter.errors import SegmenterError

BACKENDS = ["memory", "sql"]
CONTACTS = [
    {"email": "first@old.example", "name": "Ann", "company": "Acme", "score": 1.5, "created_at": "0001-01-01"},
    {"email": "last@late.example", "name": "Zoë", "company": "Ünïcode 😀", "score": -1e308,
     "created_at": "9999-12-31T23:59:59.999999Z"},
    {"email": "mid@now.example", "company": "", "score": 1e308, "created_at": "2026-01-05T10:00:00Z"},
]


@pytest.fixture(params=BACKENDS)
def hostile_db(request, any_url):
    """Contacts at the edges of time and number, on SQLite and PostgreSQL, with each back end."""
    with segmenter.connect(any_url, backend=request.param) as s:
        s.add_contacts(CONTACTS)
        yield s


def rule(field: str, operator: str, value=None) -> list:
    return [{"field": field, "operator": operator, "value": value}]


# ---- values that validate evaluate everywhere -------------------------------------------------------------------

EDGES = [  # (rules, how many of CONTACTS match)
    (rule("created_at", "after", "9999-12-31"), 0),
    (rule("created_at", "on", "9999-12-31"), 1),
    (rule("created_at", "between", ["9999-12-30", "9999-12-31"]), 1),
    (rule("created_at", "between", ["0001-01-01", "9999-12-31"]), 3),
    (rule("created_at", "on", "0001-01-01"), 1),
    (rule("created_at", "before", "0001-01-01"), 0),
    (rule("created_at", "after", "9999-12-31T23:59:59.999999Z"), 0),
    (rule("created_at", "before", "0001-01-01T00:00:00Z"), 0),
    (rule("created_at", "after", "9999-12-31T23:59:59+00:00"), 1),
    (rule("score", "greater_than", 10**308), 0),
    (rule("score", "greater_than_or_equal", 1e308), 1),
    (rule("score", "less_than", -10**300), 1),
    (rule("score", "between", [-1.7976931348623157e308, 1.7976931348623157e308]), 3),
    (rule("score", "equals", 2**64 + 1), 0),
    (rule("id", "less_than", 10**300), 3),
    (rule("company", "contains", "😀"), 1),
    (rule("company", "in", ["\U0010ffff", "\uffff", "ünïcode 😀"]), 1),
    (rule("name", "not_equals", "\u200b"), 3),
]


@pytest.mark.parametrize("rules, expected", EDGES, ids=[json.dumps(r[0]["value"])[:40] for r, _ in EDGES])
def test_values_at_the_edges_evaluate_on_every_back_end_and_store(hostile_db, rules, expected):
    assert hostile_db.count(rules) == expected
    saved = hostile_db.create_segment("edge", rules)
    assert saved["contacts_count"] == expected
    assert [s["contacts_count"] for s in hostile_db.list_segments()] == [expected]
    assert len(hostile_db.get_segment_contacts(saved["id"])) == expected


BAD = [  # (rules, what the message says)
    (rule("company", "equals", "\ud800"), "lone surrogate U+D800"),
    (rule("company", "contains", "nul\x00"), "NUL character U+0000"),
    (rule("company", "in", ["ok", "\udfff"]), "list item contains a lone surrogate U+DFFF"),
    (rule("score", "greater_than", 10**400), "needs a number within ±1.8e308"),
    (rule("score", "between", [0, -(10**400)]), "needs a number within ±1.8e308"),
    (rule("created_at", "after", "9999-12-31T23:00:00-05:00"), "within the years 1 to 9999 in UTC"),
    (rule("created_at", "before", "0001-01-01T00:00:00+05:00"), "within the years 1 to 9999 in UTC"),
    (rule("created_at", "before", dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5)))),
     "within the years 1 to 9999 in UTC"),
    (rule("\ud800", "equals", "x"), "unknown field '\\ud800'"),
    (rule("company", "\ud800", "x"), "unknown operator '\\ud800'"),
    ([{"field": "company", "operator": "equals", "value": "x", "\ud800": 1}], "unknown key '\\ud800'"),
    ([{"match": "any", "rules": rule("company", "equals", "x"), "\ud800": 1}], "unknown key '\\ud800' in a group"),
    ([0] * 1_000_000, "too many rules: 1,000,000; at most 100"),
]


@pytest.mark.parametrize("rules, fragment", BAD, ids=[f[:30] for _, f in BAD])
def test_values_no_back_end_can_evaluate_are_rule_errors_never_stored(hostile_db, rules, fragment):
    with pytest.raises(segmenter.RuleError) as caught:
        hostile_db.count(rules)
    assert fragment in str(caught.value)
    str(caught.value).encode("utf-8")  # printable: a surrogate is shown by its escape, never carried
    with pytest.raises(segmenter.RuleError):
        hostile_db.create_segment("poison", rules)
    assert hostile_db.list_segments() == []


def _nested(depth: int, leaf):
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def _nested_groups(depth: int) -> dict:
    group: dict = {"field": "company", "operator": "equals", "value": "x"}
    for _ in range(depth):
        group = {"match": "any", "rules": [group]}
    return group


@pytest.mark.parametrize("rules, fragment", [
    (_nested(5000, []), "rule 1: must be an object"),
    (rule("company", "in", _nested(5000, "x")), "needs a non-empty list of non-empty strings"),
    (rule("company", "equals", _nested(5000, "x")), "needs a non-empty string"),
    ([_nested_groups(5000)], "groups nest at most 3 levels deep"),
])
def test_nesting_thousands_deep_is_a_rule_error_not_a_recursion_error(seg, rules, fragment):
    with pytest.raises(segmenter.RuleError, match=fragment):
        seg.count(rules)


def test_rules_over_one_megabyte_of_compact_json_are_refused(seg):
    rules = [{"field": "company", "operator": "in", "value": [f"{i:09d}" for i in range(1000)]}] * 100
    with pytest.raises(segmenter.RuleError, match=r"bytes as compact JSON; at most 1,048,576 \(1 MB\)"):
        seg.count(rules)


# ---- SPEC's maxima evaluate on the SQL back end (bound parameters) -------------------------------------------------

def _maximal_in_rules() -> list:
    """100 rules of 1,000 items (under 1 MB): far more values than PostgreSQL (65,535) or SQLite (32,766) bind."""
    return [{"field": "company", "operator": "in" if i % 2 else "not_in",
             "value": [f"{i}-{j}" for j in range(999)] + ["ACME"]} for i in range(100)]


@pytest.mark.parametrize("url_fixture", ["sqlite_url", "pg_url"])
def test_in_lists_at_the_spec_maxima_evaluate_on_the_sql_back_end(request, url_fixture):
    url = request.getfixturevalue(url_fixture)
    rules = _maximal_in_rules()
    positive = [r for r in rules if r["operator"] == "in"]
    with segmenter.connect(url, backend="sql") as sql, segmenter.connect(url, backend="memory") as memory:
        sql.add_contacts([{"email": "a@x.example", "company": "acme"}, {"email": "b@x.example", "company": "3-5"},
                          {"email": "c@x.example"}])
        assert sql.count(positive) == memory.count(positive) == 1
        assert sql.count(rules) == memory.count(rules) == 0
        assert [r["email"] for r in sql.contacts(positive)] == ["a@x.example"]
        saved = sql.create_segment("maxima", positive)
        assert [s["contacts_count"] for s in sql.list_segments()] == [1]
        assert len(sql.get_segment_contacts(saved["id"])) == 1


# ---- names and emails: invisible and control characters ----------------------------------------------------------

@pytest.mark.parametrize("name, code", [("\u200b", "U+200B"), ("\ufeff", "U+FEFF"), (" \u200b\u200d ", "U+200B, U+200D"),
                                        ("\x00", "U+0000")])
def test_a_segment_name_of_only_invisible_characters_is_refused_by_code(seg, name, code):
    with pytest.raises(segmenter.RuleError, match=re.escape(code)):
        seg.create_segment(name, [])
    assert seg.list_segments() == []


def test_a_segment_name_with_a_surrogate_is_refused(seg):
    with pytest.raises(segmenter.RuleError, match=r"lone surrogate U\+D800"):
        seg.create_segment("Sales \ud800", [])


@pytest.mark.parametrize("record, code", [
    ({"email": "ann@acme.example\u200b"}, "invisible character U+200B"),
    ({"email": "\ufeffann@acme.example"}, "invisible character U+FEFF"),
    ({"email": "ann\x00@acme.example"}, "NUL character U+0000"),
    ({"email": "ann\x07@acme.example"}, "invisible character U+0007"),
    ({"email": "\ud800@acme.example"}, "lone surrogate U+D800"),
    ({"email": "ann@acme.example", "name": "Ann \ud800"}, "field 'name' contains a lone surrogate U+D800"),
    ({"email": "ann@acme.example", "company": "A\x00B"}, "field 'company' contains the NUL character U+0000"),
    ({"email": "ann@acme.example", "created_at": "9999-12-31T23:00:00-05:00"}, "outside the years 1 to 9999"),
    ({"email": "ann@acme.example", "created_at": dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5)))},
     "outside the years 1 to 9999"),
])
def test_contacts_with_characters_no_back_end_stores_are_refused_by_code(any_url, record, code):
    with segmenter.connect(any_url) as s:
        with pytest.raises(segmenter.ContactError) as caught:
            s.add_contacts([record])
        assert code in str(caught.value)
        assert str(caught.value).count("field 'email'") <= 1  # one reason, not also "is required"
        str(caught.value).encode("utf-8")
        assert s.total_contacts() == 0


def test_dates_in_the_first_centuries_read_back_with_four_digit_years(seg):
    seg.add_contacts([{"email": "a@x.example", "created_at": "0001-01-01"},
                      {"email": "b@x.example", "created_at": "0999-06-01T10:00:00Z"}])
    assert [c["created_at"] for c in seg.contacts([])] == ["0001-01-01T00:00:00Z", "0999-06-01T10:00:00Z"]


# ---- bounded pages -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_limit_and_offset_up_to_2_63_minus_1_answer_and_beyond_are_errors(any_url, backend):
    with segmenter.connect(any_url, backend=backend) as s:
        s.add_contacts(CONTACTS)
        assert len(s.contacts([], limit=2**63 - 1, offset=0)) == 3
        assert s.contacts([], limit=1, offset=2**63 - 1) == []
        for page in ({"limit": 2**63}, {"offset": 2**63}, {"limit": -1}):
            with pytest.raises(SegmenterError, match="at most 9,223,372,036,854,775,807|>= 0"):
                s.contacts([], **page)


# ---- a segment stored before these checks never breaks a list ---------------------------------------------------

def test_a_poison_segment_stored_by_an_older_version_is_listed_with_its_reason(any_url):
    with segmenter.connect(any_url) as s:
        s.add_contacts(CONTACTS)
        good = s.create_segment("good", [])
        bad = s.create_segment("to be poisoned", rule("score", "greater_than", 1))
        poison = '[{"field": "score", "operator": "greater_than", "value": 1' + "0" * 400 + "}]"
        engine = create_engine(any_url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            cast = "CAST(:r AS JSON)" if engine.dialect.name == "postgresql" else ":r"
            conn.execute(text(f"UPDATE segments SET rules = {cast} WHERE id = :i"), {"r": poison, "i": bad["id"]})
        engine.dispose()
        listed = {x["id"]: x for x in s.list_segments()}
        assert listed[good["id"]]["contacts_count"] == 3
        assert listed[bad["id"]]["contacts_count"] is None
        with pytest.raises(segmenter.RuleError, match="within ±1.8e308"):
            s.get_segment_contacts(bad["id"])


# ---- fuzz: hostile strings, numbers and nesting never raise anything but SegmenterError --------------------------

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(rules=st.lists(NODE, max_size=4), name=HOSTILE_TEXT)
def test_fuzz_rules_and_names_raise_only_segmenter_errors(hostile_db, rules, name):
    for call in (lambda: hostile_db.count(rules), lambda: hostile_db.create_segment(name, rules)):
        try:
            call()
        except SegmenterError as exc:
            str(exc).encode("utf-8")  # the message itself is printable
    for s in hostile_db.list_segments():  # whatever was stored reads back and counts
        assert s["contacts_count"] is not None


@FUZZ
@given(record=st.dictionaries(st.sampled_from(["email", "name", "score", "created_at", "vip"]) | HOSTILE_TEXT,
                              LEAF, max_size=4),
       email=HOSTILE_TEXT.map(lambda t: f"{t}@x.example"))
def test_fuzz_contacts_raise_only_contact_errors_and_what_is_stored_reads_back(hostile_db, record, email):
    try:
        hostile_db.add_contacts([{"email": email, **record}])
    except segmenter.ContactError as exc:
        str(exc).encode("utf-8")
    assert len(hostile_db.contacts([])) == hostile_db.count([])
