"""The one hand-worked table of operator cases (SPEC §2), shared by tests/test_operators.py (every back end through
the Segmenter) and tests/test_sql_backend.py (the SQL back end on SQLite, PostgreSQL and DuckDB): nine contacts
whose answers are worked out from the spec by hand (case, Unicode, NULL vs '', LIKE wildcards, quotes, day
boundaries, offsets, relative dates). A case is (field, operator, value, expected letters[, per-engine answers])."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import text

import segmenter

NOW = dt.datetime.now(dt.timezone.utc)
CUSTOM = [("mrr", "number"), ("vip", "boolean"), ("plan", "text"), ("seen_at", "datetime")]

# Letters are ids 1..9 in order. Values the API never stores ('' and NULL over a default) are set by plain SQL.
CONTACTS = {
    "a": {"name": "MÜLLER", "company": "Acme Inc", "status": "active", "created_at": "2024-03-10T23:59:59Z",
          "mrr": 10, "vip": True, "plan": "pro", "seen_at": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)},
    "b": {"name": "müller", "company": "acme llc", "status": "Active", "created_at": "2024-03-11T00:00:00Z",
          "mrr": 0, "vip": False, "plan": "free"},
    "c": {"name": "Zoë", "company": "", "status": None, "created_at": "2024-03-11T01:30:00+02:00"},  # 03-10 23:30Z
    "d": {"name": "Dee", "company": "100% Pure_Co", "status": "inactive", "created_at": "2024-03-12T00:00:00",
          "mrr": 10.5},
    "e": {"name": "Eve", "company": "O'Brien \"Quotes\" Ltd", "status": "pending", "created_at": None},
    "f": {"name": "Fay", "company": None, "status": " active", "created_at": NOW - dt.timedelta(days=2)},
    "g": {"name": "Gus", "company": None, "status": "", "created_at": NOW - dt.timedelta(days=40)},
    "h": {"name": "İSTANBUL", "company": "a/b%c", "status": "ΟΔΟΣ", "created_at": "2020-01-01T00:00:00Z"},
    "i": {"name": "Straße", "company": "Back\\slash Co", "status": "x_y", "created_at": "2030-06-15T12:00:00-05:00"},
}
ALL = set(CONTACTS)
# Where an engine's lower() is not Python's str.lower (ICU has it; DuckDB maps 'İ' to 'i' and has no final sigma),
# its different answer, so the documented difference is checked too.
DUCKDB = "duckdb"


def rule(field, operator, value=None):
    return {"field": field, "operator": operator, **({} if value is None else {"value": value})}


CASES = [
    # text equals / not_equals: case-insensitive, Unicode-aware, spaces kept, '' and NULL are empty
    ("status", "equals", "active", "ab"),
    ("status", "equals", "ACTIVE", "ab"),
    ("status", "equals", " active", "f"),
    ("status", "not_equals", "active", "cdefghi"),
    ("name", "equals", "müller", "ab"),
    ("name", "equals", "MÜLLER", "ab"),
    ("name", "equals", "ZOË", "c"),
    ("name", "equals", "STRAßE", "i"),
    ("name", "contains", "STRASSE", ""),  # lower() is not case folding: 'ß' stays 'ß'
    ("name", "equals", "İstanbul", "h", {DUCKDB: ""}),  # 'İ'.lower() is 'i̇' (i + combining dot)
    ("name", "equals", "istanbul", "", {DUCKDB: "h"}),
    ("status", "equals", "οδος", "h", {DUCKDB: ""}),  # final sigma
    ("status", "equals", "x_y", "i"),
    # contains / starts / ends: %, _ and the escape character '/' are literal; so are quotes and backslashes
    ("company", "contains", "inc", "a"),
    ("company", "contains", "%", "dh"),
    ("company", "contains", "_", "d"),
    ("company", "contains", "0% p", "d"),
    ("company", "contains", "x%", ""),
    ("company", "contains", "a_c", ""),
    ("company", "contains", "/", "h"),
    ("company", "contains", "a/b%", "h"),
    ("company", "contains", "/%", ""),
    ("company", "contains", "//", ""),
    ("company", "contains", "\\", "i"),
    ("company", "contains", "'", "e"),
    ("company", "contains", '"quotes"', "e"),
    ("company", "not_contains", "inc", "bcdefghi"),
    ("email", "contains", "@X.COM", "abcdefghi"),
    ("company", "starts_with", "ACME", "ab"),
    ("company", "starts_with", "cme", ""),
    ("company", "starts_with", "100%", "d"),
    ("status", "starts_with", "x_", "i"),
    ("status", "starts_with", "x%", ""),
    ("company", "ends_with", "ltd", "e"),
    ("company", "ends_with", "CO", "di"),
    ("company", "ends_with", "%c", "h"),
    # in / not_in
    ("status", "in", ["ACTIVE", "pending"], "abe"),
    ("status", "not_in", ["active"], "cdefghi"),
    ("plan", "in", ["PRO"], "a"),
    ("plan", "not_in", ["pro"], "bcdefghi"),
    # empty
    ("status", "is_empty", None, "cg"),
    ("status", "is_not_empty", None, "abdefhi"),
    ("company", "is_empty", None, "cfg"),
    ("created_at", "is_empty", None, "e"),
    ("mrr", "is_empty", None, "cefghi"),
    ("vip", "is_not_empty", None, "ab"),
    ("id", "is_empty", None, ""),
    # datetimes: whole UTC days, offsets converted, relative days from one `now`
    ("created_at", "on", "2024-03-10", "ac"),
    ("created_at", "on", "2024-03-11", "b"),
    ("created_at", "before", "2024-03-11", "ach"),
    ("created_at", "before", "2024-03-11T00:00:00Z", "ach"),
    ("created_at", "before", "2024-03-11T00:00:00.000001Z", "abch"),
    ("created_at", "after", "2024-03-10", "bdfgi"),
    ("created_at", "after", "2024-03-11T00:00:00Z", "dfgi"),
    ("created_at", "after", "2024-03-11T01:00:00+01:00", "dfgi"),
    ("created_at", "between", ["2024-03-10", "2024-03-11"], "abc"),
    ("created_at", "between", ["2024-03-10T23:30:00Z", "2024-03-11T00:00:00Z"], "abc"),
    ("created_at", "between", ["2024-03-11T01:29:59+02:00", "2024-03-11T01:30:00+02:00"], "c"),
    ("created_at", "in_last_days", 7, "f"),
    ("created_at", "in_last_days", 60, "fg"),
    ("created_at", "more_than_days_ago", 30, "abcdgh"),
    ("seen_at", "on", "2024-01-01", "a"),
    ("seen_at", "before", "2024-01-01", ""),
    # numbers, id included
    ("mrr", "equals", 10, "a"),
    ("mrr", "not_equals", 10, "bcdefghi"),
    ("mrr", "greater_than", 0, "ad"),
    ("mrr", "less_than", 10, "b"),
    ("mrr", "greater_than_or_equal", 10, "ad"),
    ("mrr", "less_than_or_equal", 10, "ab"),
    ("mrr", "between", [0, 10], "ab"),
    ("mrr", "between", [10.5, 10.5], "d"),
    ("id", "less_than", 2.5, "ab"),
    ("id", "equals", 1, "a"),
    ("id", "not_equals", 1, "bcdefghi"),
    # booleans
    ("vip", "is_true", None, "a"),
    ("vip", "is_false", None, "b"),
    # more boundaries, lists, complements and custom fields (worked by hand on the same contacts)
    ('name', 'equals', 'zoë', 'c'),
    ('company', 'ends_with', '_co', 'd'),
    ('name', 'starts_with', 'mü', 'ab'),
    ('company', 'in', ['ACME INC', 'acme llc'], 'ab'),
    ('company', 'in', ['acme'], ''),
    ('company', 'not_in', ['ACME INC', 'acme llc'], 'cdefghi'),
    ('status', 'in', ['pending', 'INACTIVE'], 'de'),
    ('company', 'is_not_empty', None, 'abdehi'),
    ('created_at', 'before', '2024-03-11T01:00:00+01:00', 'ach'),
    ('created_at', 'before', '2024-03-10T23:30:00Z', 'h'),
    ('created_at', 'after', '2024-03-11', 'dfgi'),
    ('created_at', 'after', '2024-03-10T23:59:58Z', 'abdfgi'),
    ('created_at', 'between', ['2024-03-11', '2024-03-11'], 'b'),
    ('created_at', 'between', ['2024-03-10T23:59:59Z', '2024-03-11T00:00:00Z'], 'ab'),
    ('created_at', 'between', ['2024-03-11T01:30:00+02:00', '2024-03-10T23:59:59'], 'ac'),
    ('created_at', 'in_last_days', 30, 'f'),
    ('created_at', 'in_last_days', 36500, 'abcdfgh'),
    ('created_at', 'more_than_days_ago', 1, 'abcdfgh'),
    ('mrr', 'equals', 10.0, 'a'),
    ('mrr', 'greater_than_or_equal', 0, 'abd'),
    ('mrr', 'between', [10, 10.5], 'ad'),
    ('vip', 'is_empty', None, 'cdefghi'),
    ('plan', 'equals', 'PRO', 'a'),
    ('plan', 'not_equals', 'pro', 'bcdefghi'),
    # segment membership (SPEC §9): saved segment 1 is ACTIVE_SEGMENT below
    ("segment", "in_segment", 1, "ab"),
    ("segment", "not_in_segment", 1, "cdefghi"),
    # samples (SPEC §9): p = 100·n/2⁶⁴, n the first 8 bytes of sha256("s1:" + email): a 85.5, b 84.9, c 32.4,
    # d 24.1, e 40.9, f 62.0, g 0.277, h 43.2, i 11.7
    ("sample", "in_range", {"salt": "s1", "from": 0, "to": 100}, "abcdefghi"),
    ("sample", "in_range", {"salt": "s1", "from": 0, "to": 25}, "dgi"),
    ("sample", "in_range", {"salt": "s1", "from": 25, "to": 50}, "ceh"),
    ("sample", "in_range", {"salt": "s1", "from": 50, "to": 90}, "abf"),
    ("sample", "in_range", {"salt": "s1", "from": 90, "to": 100}, ""),
    ("sample", "in_range", {"salt": "s1", "from": 0.27, "to": 0.28}, "g"),
]
# The one saved segment of the table's databases (id 1), for in_segment / not_in_segment.
ACTIVE_SEGMENT = [{"field": "status", "operator": "equals", "value": "active"}]
GROUPS = [
    ([{"match": "any", "rules": [rule("status", "equals", "active"), rule("mrr", "greater_than", 10)]}], "abd"),
    ([rule("company", "contains", "acme"), {"match": "any", "rules": [
        rule("vip", "is_true"),
        {"match": "all", "rules": [rule("mrr", "equals", 0), rule("status", "equals", "active")]}]}], "ab"),
    ([{"match": "all", "rules": [rule("company", "not_contains", "inc"), rule("status", "not_equals", "active")]}],
     "cdefghi"),
    ([], "abcdefghi"),
]


def fill_with_api(url: str) -> None:
    with segmenter.connect(url, backend="memory") as s:
        s.add_contacts([{"email": f"{k}@x.com", **{f: v for f, v in c.items() if v not in (None, "")}}
                        for k, c in CONTACTS.items()])
        s.create_segment("Active", ACTIVE_SEGMENT)  # id 1
        with s.engine.begin() as conn:  # what the API never writes: '' and NULL over the default created_at
            for k, c in CONTACTS.items():
                for f in ("company", "status", "created_at"):
                    if c.get(f) in (None, ""):
                        conn.execute(text(f"UPDATE contacts SET {f} = :v WHERE email = :e"),
                                     {"v": c[f], "e": f"{k}@x.com"})
