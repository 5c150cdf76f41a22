"""The plain row-by-row evaluator: SPEC §2 read literally, one contact (a dict) at a time.
It is the oracle the fast back ends are tested against, the 'plain Python loop' in bench/, and what
explains a single contact's result rule by rule."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from .operators import BoolPred, EmptyPred, RangePred, TextPred
from .rules import Condition, Group, Node, Rules
from .values import to_utc


def is_empty(value: Any) -> bool:
    if value is None or value == "":
        return True
    return isinstance(value, float) and math.isnan(value)


def _text_test(pred: TextPred, x: str) -> bool:
    low = x.lower()
    v = pred.values
    if pred.kind == "equals":
        return low == v[0]
    if pred.kind == "contains":
        return v[0] in low
    if pred.kind == "starts_with":
        return low.startswith(v[0])
    if pred.kind == "ends_with":
        return low.endswith(v[0])
    return low in v  # in


def _range_test(pred: RangePred, x: Any) -> bool:
    if isinstance(x, dt.datetime):
        x = to_utc(x)
    if pred.lo is not None and not (x >= pred.lo if pred.lo_inclusive else x > pred.lo):
        return False
    if pred.hi is not None and not (x <= pred.hi if pred.hi_inclusive else x < pred.hi):
        return False
    return True


def condition_matches(cond: Condition, contact: dict, now: dt.datetime) -> bool:
    x: Any = contact.get(cond.field)
    pred = cond.pred(now)
    if isinstance(pred, EmptyPred):
        return is_empty(x) != cond.negate
    if is_empty(x):
        return cond.negate
    if isinstance(pred, TextPred):
        hit = _text_test(pred, x)
    elif isinstance(pred, RangePred):
        hit = _range_test(pred, x)
    elif isinstance(pred, BoolPred):
        hit = bool(x) == pred.value
    else:  # pragma: no cover - the registry has no other kind
        raise TypeError(pred)
    return hit != cond.negate


def node_matches(node: Node, contact: dict, now: dt.datetime) -> bool:
    if isinstance(node, Group):
        results = (node_matches(m, contact, now) for m in node.members)
        return any(results) if node.match == "any" else all(results)
    return condition_matches(node, contact, now)


def matches(rules: Rules, contact: dict, now: dt.datetime) -> bool:
    return all(node_matches(n, contact, now) for n in rules.nodes)


def matching_ids(rules: Rules, contacts: Iterable[dict], now: dt.datetime) -> list[int]:
    return [c["id"] for c in contacts if matches(rules, c, now)]


def explain(rules: Rules, contact: dict, now: dt.datetime) -> list[dict]:
    """Each top-level rule (groups as one line) with whether this contact passes it."""
    from .rules import describe
    return [{"position": n.position, "rule": describe([n.raw]), "passes": node_matches(n, contact, now)}
            for n in rules.nodes]
