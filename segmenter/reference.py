"""The oracle: SPEC §2 read literally, one contact (a dict) at a time, on the rules exactly as the user gives them.

It shares no evaluation code with the back ends on purpose: it does not use ``operators.py`` (its predicates,
value parsing or date helpers), ``rules.Condition`` or ``values.py``. It has its own date parsing, its own
lower-casing (Python ``str.lower``), its own empty-field rule and its own groups, so a wrong operator in the
back ends' shared compilation cannot hide behind the same mistake here (tests/test_oracle_mutants.py shows it).
It assumes the rules passed ``segmenter.rules.validate_rules`` (it does not re-check them) and infers each
rule's field type from its operator and value, so it needs no catalogue. SPEC §9's pseudo-fields are read
literally too: ``segment`` through the saved segments' raw rules it is given (no resolver, no loop check: it
trusts validation), ``sample`` with its own sha256 and exact fractions (no ``sampling.py``).

Also the "plain Python loop" in bench/, and what explains one contact's result rule by rule.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

_UTC = dt.UTC
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # a plain date; anything else a validated rule holds is ISO 8601

_NEGATIVE = {"not_equals": "equals", "not_contains": "contains", "not_in": "in"}
Segments = Mapping[int, Any] | None  # saved segment id → its raw rules (SPEC §9 in_segment)


# ---- values -------------------------------------------------------------------------------------------------

def is_empty(x: Any) -> bool:
    """SPEC: missing/NULL, or the empty string for text. NaN and NaT are how pandas spells NULL."""
    if x is None:
        return True
    if isinstance(x, str):
        return x == ""
    try:
        return bool(x != x)  # NaN, NaT
    except TypeError:  # pandas.NA
        return True


def _aware(x: dt.datetime) -> dt.datetime:
    """A datetime in UTC; naive means UTC."""
    return x.replace(tzinfo=_UTC) if x.tzinfo is None else x.astimezone(_UTC)


@functools.lru_cache(maxsize=4096)  # a rule's value is read once per contact: parse it once
def _moment(raw: Any) -> dt.date | dt.datetime:
    """A rule's date/datetime value: ``YYYY-MM-DD`` is a date (the whole UTC day); other text is ISO 8601 with
    or without an offset (naive = UTC). Python date and datetime objects are taken as they are."""
    if isinstance(raw, dt.datetime):
        return _aware(raw)
    if isinstance(raw, dt.date):
        return dt.date(raw.year, raw.month, raw.day)
    text = str(raw).strip()
    if _DATE.fullmatch(text):
        return dt.date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    return _aware(dt.datetime.fromisoformat(text))


def _field_time(x: Any) -> dt.datetime:
    """A contact's datetime value (a datetime, a pandas Timestamp, or ISO text) in UTC."""
    if isinstance(x, dt.datetime):
        return _aware(x)
    moment = _moment(x)
    return moment if isinstance(moment, dt.datetime) else dt.datetime(moment.year, moment.month, moment.day,
                                                                      tzinfo=_UTC)


def _is_day(v: Any) -> bool:
    return isinstance(v, dt.date) and not isinstance(v, dt.datetime)


# ---- one rule -----------------------------------------------------------------------------------------------

def _text(op: str, x: str, value: Any) -> bool:
    low = x.lower()
    if op == "in":
        return low in [v.lower() for v in value]
    v = value.lower()
    if op == "equals":
        return low == v
    if op == "contains":
        return v in low
    if op == "starts_with":
        return low.startswith(v)
    if op == "ends_with":
        return low.endswith(v)
    raise ValueError(f"no text operator {op!r}")


def _number(op: str, x: Any, value: Any) -> bool:
    x = float(x)
    if op == "between":
        return float(value[0]) <= x <= float(value[1])
    v = float(value)
    return {"equals": x == v, "greater_than": x > v, "less_than": x < v,
            "greater_than_or_equal": x >= v, "less_than_or_equal": x <= v}[op]


def _datetime(op: str, x: Any, value: Any, now: dt.datetime) -> bool:
    t = _field_time(x)
    day = t.date()  # the UTC day the moment falls on; comparing days avoids D+1 past 9999-12-31
    if op == "in_last_days":
        return now - dt.timedelta(days=int(value)) <= t <= now
    if op == "more_than_days_ago":
        return t < now - dt.timedelta(days=int(value))
    if op == "between":
        a, b = _moment(value[0]), _moment(value[1])
        return a <= day <= b if _is_day(a) else a <= t <= b
    v = _moment(value)
    if op == "on":
        return day == v
    if op == "before":
        return day < v if _is_day(v) else t < v  # before D 00:00 is any earlier day
    if op == "after":
        return day > v if _is_day(v) else t > v  # from D+1 00:00 on: a later day
    raise ValueError(f"no datetime operator {op!r}")


_DATETIME_OPS = {"before", "after", "on", "in_last_days", "more_than_days_ago"}
_NUMBER_OPS = {"greater_than", "less_than", "greater_than_or_equal", "less_than_or_equal"}


def _positive(op: str, x: Any, value: Any, now: dt.datetime) -> bool:
    """A positive operator on a filled field. The field's type follows from the operator and the value."""
    if op in ("is_true", "is_false"):
        return bool(x) == (op == "is_true")
    if op in _DATETIME_OPS:
        return _datetime(op, x, value, now)
    if op in _NUMBER_OPS:
        return _number(op, x, value)
    if op == "between":
        first = value[0]
        is_number = isinstance(first, (int, float)) and not isinstance(first, bool)
        return _number(op, x, value) if is_number else _datetime(op, x, value, now)
    if op == "equals" and not isinstance(value, str):
        return _number(op, x, value)
    return _text(op, x, value)


def _sample(value: dict, email: str) -> bool:
    """SPEC §9 word for word: n is the first 8 bytes of sha256(salt + ":" + email) read big-endian, and the rule
    holds when A·2⁶⁴ <= 100·n < B·2⁶⁴ — on exact fractions, never floats (a float bound is its exact value)."""
    n = int.from_bytes(hashlib.sha256((value["salt"] + ":" + email).encode("utf-8")).digest()[:8], "big")
    return Fraction(value["from"]) * 2**64 <= 100 * n < Fraction(value["to"]) * 2**64


def rule_matches(rule: dict, contact: dict, now: dt.datetime, segments: Segments = None) -> bool:
    if rule["field"] == "segment":  # SPEC §9: the saved segment's rules, now, on this contact
        if segments is None or rule["value"] not in segments:
            raise ValueError(f"the oracle was not given segment {rule['value']}'s rules")
        inside = all(node_matches(n, contact, now, segments) for n in _nodes(segments[rule["value"]]))
        return inside if rule["operator"] == "in_segment" else not inside
    if rule["field"] == "sample":
        return _sample(rule["value"], contact["email"])
    op, x = rule["operator"], contact.get(rule["field"])
    empty = is_empty(x)
    if op == "is_empty":
        return empty
    if op == "is_not_empty":
        return not empty
    if op in _NEGATIVE:
        return empty or not _positive(_NEGATIVE[op], x, rule.get("value"), now)
    return not empty and _positive(op, x, rule.get("value"), now)


def node_matches(node: dict, contact: dict, now: dt.datetime, segments: Segments = None) -> bool:
    if "match" in node:
        results = (node_matches(m, contact, now, segments) for m in node["rules"])
        return any(results) if node["match"] == "any" else all(results)
    return rule_matches(node, contact, now, segments)


# ---- the public face ----------------------------------------------------------------------------------------

def _nodes(raw_rules: Any) -> list[dict]:
    nodes = list(raw_rules)
    return [n.model_dump(exclude_unset=True) if hasattr(n, "model_dump") else n for n in nodes]


def _now(now: dt.datetime) -> dt.datetime:
    return _aware(now)


def matches(raw_rules: Any, contact: dict, now: dt.datetime, segments: Segments = None) -> bool:
    """Whether a contact matches every top-level rule (an empty list matches everyone). ``segments`` maps saved
    segment ids to their raw rules, for ``in_segment`` / ``not_in_segment``."""
    now = _now(now)
    return all(node_matches(n, contact, now, segments) for n in _nodes(raw_rules))


def matching_ids(raw_rules: Any, contacts: Iterable[dict], now: dt.datetime, segments: Segments = None) -> list[int]:
    """The ids of the matching contacts, in the order given."""
    nodes, now = _nodes(raw_rules), _now(now)
    return [c["id"] for c in contacts if all(node_matches(n, c, now, segments) for n in nodes)]


def _sample_point(value: dict, email: str) -> float:
    """The contact's sample point p (0 ≤ p < 100) for the rule's salt, for showing beside the rule."""
    n = int.from_bytes(hashlib.sha256((value["salt"] + ":" + email).encode("utf-8")).digest()[:8], "big")
    return 100 * n / 2**64


def _explain_node(node: dict, position: str, contact: dict, now: dt.datetime, segments: Segments) -> dict:
    from .rules import describe  # plain English only; no evaluation comes from there
    passes = node_matches(node, contact, now, segments)
    out: dict[str, Any] = {"position": position, "rule": describe([node], top=False), "passes": passes}
    if "match" in node:
        out["match"] = node["match"]
        out["rules"] = [_explain_node(m, f"{position}.{i}", contact, now, segments)
                        for i, m in enumerate(node["rules"], 1)]
        return out
    out["field"] = node["field"]
    if node["field"] == "sample":
        out["actual"] = _sample_point(node["value"], contact["email"])
    elif node["field"] != "segment":
        x = contact.get(node["field"])
        out["actual"] = None if is_empty(x) else x
    return out


def explain(raw_rules: Any, contact: dict, now: dt.datetime, segments: Segments = None) -> list[dict]:
    """Each top-level rule with whether this contact passes it: ``{"position", "rule", "passes"}``; a rule adds
    ``"field"`` and ``"actual"`` (the contact's value, None when empty; for ``sample`` the contact's sample point;
    none for ``segment``); a group adds ``"match"`` and its members' explanations in ``"rules"`` (positions
    ``3.1``, ``3.2``, …, as rule errors number them), down to every level."""
    now = _now(now)
    return [_explain_node(n, str(i), contact, now, segments) for i, n in enumerate(_nodes(raw_rules), 1)]


class ReferenceBackend:
    """The oracle over a fixed list of contact dicts (each with an ``id``), shaped like a back end; ``segments``:
    saved segment id → raw rules."""

    def __init__(self, contacts: Iterable[dict], segments: Segments = None):
        self.contacts = list(contacts)
        self.segments = segments

    def ids(self, raw_rules: Any, now: dt.datetime) -> list[int]:
        return matching_ids(raw_rules, sorted(self.contacts, key=lambda c: c["id"]), now, self.segments)

    def count(self, raw_rules: Any, now: dt.datetime) -> int:
        return len(self.ids(raw_rules, now))
