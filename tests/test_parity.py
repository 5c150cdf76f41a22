"""Property: through the public API, the in-memory back end gives exactly the ids, count and funnel of the
independent oracle (segmenter.reference: SPEC §2 on the raw rules, fed from a plain SQL read of the database)."""
from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

import segmenter
from segmenter import reference
from segmenter.operators import operators_for

UTC = dt.timezone.utc
WORDS = ["Acme Inc", "acme inc.", "MÜLLER GmbH", "müller gmbh", "Straße", "STRASSE", "İstanbul", "ΟΔΟΣ", "100%",
         "a_b", "O'Brien", 'say "hi"', " spaced ", "Ltd", "ltd", "zoë", "ZOË", "", "x"]
texts = st.one_of(st.sampled_from(WORDS), st.sampled_from(WORDS), st.text(alphabet="aAbBüÜß%_' .", max_size=6))
# Rule values: the stored words in other cases, and pieces of them, so that matches are frequent.
variants = st.sampled_from([w for w in WORDS if w]).flatmap(
    lambda w: st.sampled_from([w, w.upper(), w.lower(), w.swapcase(), w[:3], w[-3:], w[1:4]]).filter(bool))
BASE = dt.datetime(2024, 3, 10, 22, 0, tzinfo=UTC)
# Any second from 18:00 on the 10th to 04:00 on the 12th, or a midnight (D 00:00, D+1 00:00) to the microsecond.
EDGES = st.sampled_from([dt.timedelta(0), dt.timedelta(microseconds=1), -dt.timedelta(microseconds=1)])
moments = st.one_of(
    st.integers(min_value=-4 * 3600, max_value=30 * 3600).map(lambda s: BASE + dt.timedelta(seconds=s)),
    st.builds(lambda h, e: BASE + dt.timedelta(hours=h) + e, st.sampled_from([2, 26]), EDGES))
offsets = st.sampled_from([0, 2, -5, 14])


def _iso(moment: dt.datetime, hours: int) -> str:
    return moment.astimezone(dt.timezone(dt.timedelta(hours=hours))).isoformat()


@st.composite
def contacts(draw):
    n = draw(st.integers(min_value=0, max_value=25))
    out = []
    for i in range(n):
        c = {"email": f"c{i}@x.com"}
        for name in ("name", "company", "status", "plan"):
            value = draw(st.one_of(st.none(), texts))
            if value is not None:
                c[name] = value
        if draw(st.booleans()):
            c["created_at"] = _iso(draw(moments), draw(offsets))
        c["mrr"] = draw(st.one_of(st.none(), st.integers(-3, 3), st.sampled_from([0.5, 2.25, -1.5])))
        c["vip"] = draw(st.one_of(st.none(), st.booleans()))
        out.append(c)
    return out


FIELDS = {"email": "text", "name": "text", "company": "text", "status": "text", "plan": "text",
          "created_at": "datetime", "mrr": "number", "vip": "boolean"}


def _value(draw, ftype: str, op: str):
    if op in ("is_empty", "is_not_empty", "is_true", "is_false"):
        return None
    if ftype == "text":
        word = st.one_of(variants, variants, st.text(alphabet="aAüÜß%_' .", min_size=1, max_size=3))
        return draw(st.lists(word, min_size=1, max_size=3)) if op in ("in", "not_in") else draw(word)
    if ftype == "number":
        num = st.one_of(st.integers(-3, 3), st.sampled_from([0.5, 2.25, -1.5]))
        return sorted(draw(st.lists(num, min_size=2, max_size=2))) if op == "between" else draw(num)
    if op in ("in_last_days", "more_than_days_ago"):
        return draw(st.integers(1, 36_500))
    as_date = op == "on" or draw(st.booleans())
    def one():
        m = draw(moments)
        return m.date().isoformat() if as_date else _iso(m, draw(offsets))
    if op == "between":
        a, b = one(), one()
        key = (lambda v: v) if as_date else dt.datetime.fromisoformat
        return sorted([a, b], key=key)
    return one()


@st.composite
def conditions(draw):
    field = draw(st.sampled_from(sorted(FIELDS)))
    op = draw(st.sampled_from(operators_for(FIELDS[field])))
    rule = {"field": field, "operator": op}
    value = _value(draw, FIELDS[field], op)
    if value is not None:
        rule["value"] = value
    return rule


def nodes(depth: int = 0):
    if depth >= 3:
        return conditions()
    group = st.builds(lambda match, rules: {"match": match, "rules": rules},
                      st.sampled_from(["any", "all"]), st.lists(st.deferred(lambda: nodes(depth + 1)), min_size=1, max_size=3))
    return st.one_of(conditions(), conditions(), group)


def read_back(path: Path) -> list[dict]:
    """The stored contacts through plain SQL: independent of the snapshot's loader."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    rows = []
    for row in conn.execute("SELECT * FROM contacts ORDER BY id"):
        c = dict(row)
        if c["created_at"] is not None:
            c["created_at"] = dt.datetime.fromisoformat(c["created_at"]).replace(tzinfo=UTC)
        if c.get("vip") is not None:
            c["vip"] = bool(c["vip"])
        rows.append(c)
    conn.close()
    return rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(people=contacts(), rule_sets=st.lists(st.lists(nodes(), max_size=3), min_size=1, max_size=8))
def test_memory_back_end_equals_row_by_row_reference(people, rule_sets):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.db"
        with segmenter.connect(f"sqlite:///{path}") as seg:
            seg.add_contacts(people)
            seg.add_contacts([{"email": "schema@x.com", "plan": "p", "mrr": 1, "vip": True}])  # fields always exist
            stored = read_back(path)
            for rules in rule_sets:
                now = dt.datetime.now(UTC)
                expected = reference.matching_ids(rules, stored, now)
                got = [c["id"] for c in seg.contacts(rules)]
                assert got == expected, rules
                assert seg.count(rules) == len(expected)
                funnel = [len(reference.matching_ids(rules[:i], stored, now)) for i in range(1, len(rules) + 1)]
                assert [step["count"] for step in seg.funnel(rules)] == funnel, rules
