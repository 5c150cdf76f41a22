"""The operator registry: each operator key → the field types it applies to, the value it takes, and the
predicate it means. Validation, every back end, the app's menus and docs/rules.md all read this one table."""
from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from .values import UTC, OutOfRange, coerce_datetime, is_date_text, parse_date, parse_datetime, short_repr, unstorable

TEXT, NUMBER, DATETIME, BOOLEAN = "text", "number", "datetime", "boolean"
FIELD_TYPES = (TEXT, NUMBER, DATETIME, BOOLEAN)
# The types of the pseudo-fields `segment` and `sample` (SPEC §9): no column, evaluated by segmenter.compose and
# segmenter.sampling.
SEGMENT, SAMPLE = "segment", "sample"

MAX_STRING = 1_000
MAX_LIST = 1_000
MAX_DAYS = 36_500
MAX_FLOAT = int(sys.float_info.max)  # the largest integer a 64-bit float holds; beyond it float() overflows


# ---- predicates: the small intermediate form every back end evaluates -------------------------------------

TextKind = Literal["equals", "contains", "starts_with", "ends_with", "in"]
TEXT_KINDS: tuple[TextKind, ...] = get_args(TextKind)

@dataclass(frozen=True)
class TextPred:
    """Case-insensitive text test; ``values`` are already lower-cased (Python ``str.lower``)."""
    kind: TextKind
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.kind not in TEXT_KINDS:  # a back end dispatches on kind: an unknown one must not pass for another
            raise ValueError(f"unknown text predicate kind {self.kind!r}; expected one of: {', '.join(TEXT_KINDS)}")


@dataclass(frozen=True)
class RangePred:
    """``lo (<|<=) x (<|<=) hi``; ``None`` bounds are open. Numbers, or aware UTC datetimes."""
    lo: Any = None
    lo_inclusive: bool = True
    hi: Any = None
    hi_inclusive: bool = True


@dataclass(frozen=True)
class BoolPred:
    value: bool


@dataclass(frozen=True)
class EmptyPred:
    """Matches exactly the empty fields (NULL, or '' for text)."""


@dataclass(frozen=True)
class PseudoPred:
    """Placeholder of the pseudo-fields' operators: their checked rules become ``rules.SegmentRef`` and
    ``rules.Sample`` nodes, which every back end evaluates itself."""


Pred = TextPred | RangePred | BoolPred | EmptyPred | PseudoPred


# ---- value kinds: what an operator takes, and how a raw JSON/Python value is checked ------------------------

class ValueProblem(ValueError):
    """A value of the wrong kind; the message says what was expected."""


def _describe(raw: Any) -> str:
    return short_repr(raw)  # bounded: a list nested 5,000 deep or a 400-digit number is not spelled out


def _string(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueProblem(f"needs a non-empty string, got {_describe(raw)}")
    if raw == "":
        raise ValueProblem("needs a non-empty string, got ''")
    if len(raw) > MAX_STRING:
        raise ValueProblem(f"value is {len(raw):,} characters; at most {MAX_STRING:,} are allowed")
    reason = unstorable(raw)
    if reason:
        raise ValueProblem(f"value {reason}")
    return raw


def _string_list(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, (list, tuple)) or not raw:
        raise ValueProblem(f"needs a non-empty list of non-empty strings, got {_describe(raw)}")
    if len(raw) > MAX_LIST:
        raise ValueProblem(f"list has {len(raw):,} items; at most {MAX_LIST:,} are allowed")
    for item in raw:
        if not isinstance(item, str) or item == "":
            raise ValueProblem(f"needs a non-empty list of non-empty strings, got item {_describe(item)}")
        if len(item) > MAX_STRING:
            raise ValueProblem(f"list item is {len(item):,} characters; at most {MAX_STRING:,} are allowed")
        reason = unstorable(item)
        if reason:
            raise ValueProblem(f"list item {reason}")
    return tuple(raw)


def _number(raw: Any) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ValueProblem(f"needs a number, got {_describe(raw)}")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ValueProblem(f"needs a finite number, got {_describe(raw)}")
    if isinstance(raw, int) and abs(raw) > MAX_FLOAT:  # numbers are 64-bit floats on every back end
        raise ValueProblem(f"needs a number within ±1.8e308 (a 64-bit float), got {_describe(raw)}")
    return raw


def _pair(raw: Any, item: Callable[[Any], Any], kind: str) -> tuple[Any, Any]:
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        raise ValueProblem(f"needs a list of two {kind} [A, B], got {_describe(raw)}")
    return item(raw[0]), item(raw[1])


def _number_pair(raw: Any) -> tuple[Any, Any]:
    a, b = _pair(raw, _number, "numbers")
    if a > b:
        raise ValueProblem(f"needs A <= B, got [{a}, {b}]")
    return a, b


def _when(raw: Any) -> dt.date | dt.datetime:
    """A date (``YYYY-MM-DD`` or ``datetime.date``) or a datetime (ISO 8601, naive = UTC)."""
    try:
        if isinstance(raw, dt.datetime):
            return coerce_datetime(raw)
        if isinstance(raw, dt.date):
            return raw
        if isinstance(raw, str):
            text = raw.strip()
            return parse_date(text) if is_date_text(text) else parse_datetime(text)
    except OutOfRange:  # an offset that takes it past 9999-12-31 (or before 0001-01-01) in UTC
        problem = f"needs a date or datetime within the years 1 to 9999 in UTC, got {_describe(raw)}"
        raise ValueProblem(problem) from None
    except ValueError:
        pass
    raise ValueProblem(f"needs a date (YYYY-MM-DD) or an ISO 8601 datetime, got {_describe(raw)}")


def _date_only(raw: Any) -> dt.date:
    value = _when(raw)
    if isinstance(value, dt.datetime):
        raise ValueProblem(f"needs a date (YYYY-MM-DD), not a datetime, got {_describe(raw)}")
    return value


def _when_pair(raw: Any) -> tuple[Any, Any]:
    a, b = _pair(raw, _when, "dates or datetimes")
    if isinstance(a, dt.datetime) != isinstance(b, dt.datetime):
        raise ValueProblem("needs two values of the same kind: both dates or both datetimes")
    if a > b:
        raise ValueProblem(f"needs A <= B, got [{_describe(raw[0])}, {_describe(raw[1])}]")
    return a, b


def _days(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or (isinstance(raw, float) and not raw.is_integer()):
        raise ValueProblem(f"needs a whole number of days from 1 to {MAX_DAYS:,}, got {_describe(raw)}")
    if not 1 <= raw <= MAX_DAYS:
        raise ValueProblem(f"needs a whole number of days from 1 to {MAX_DAYS:,}, got {_describe(raw)}")
    return int(raw)


@dataclass(frozen=True)
class ValueKind:
    key: str
    description: str  # for messages, the UI and docs
    parse: Callable[[Any], Any] | None  # None: the operator takes no value


NONE = ValueKind("none", "no value", None)
STRING = ValueKind("string", "a non-empty string", _string)
STRING_LIST = ValueKind("string_list", "a non-empty list of non-empty strings", _string_list)
NUMBER_VALUE = ValueKind("number", "a number", _number)
NUMBER_PAIR = ValueKind("number_pair", "two numbers [A, B] with A <= B", _number_pair)
WHEN = ValueKind("when", "a date (YYYY-MM-DD) or an ISO 8601 datetime", _when)
DATE = ValueKind("date", "a date (YYYY-MM-DD)", _date_only)
WHEN_PAIR = ValueKind("when_pair", "two dates or two datetimes [A, B] with A <= B", _when_pair)
DAYS = ValueKind("days", f"a whole number of days from 1 to {MAX_DAYS:,}", _days)


def _segment_id(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ValueProblem(f"needs a saved segment's id (a whole number), got {_describe(raw)}")
    return raw


def _sample_range(raw: Any):
    from .sampling import check_range  # the sample's own module words its problems
    return check_range(raw)


SEGMENT_ID = ValueKind("segment_id", "a saved segment's id (a whole number)", _segment_id)
SAMPLE_RANGE = ValueKind("sample_range", '{"salt": S, "from": A, "to": B} with 0 <= A < B <= 100', _sample_range)


# ---- date helpers: a date D means the whole UTC day -----------------------------------------------------------

def _start(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=UTC)


def _next_day(d: dt.date) -> dt.datetime | None:
    """The start of the next day; None after 9999-12-31 (no datetime is that late: the range is open above)."""
    if d == dt.date.max:
        return None
    return _start(d) + dt.timedelta(days=1)


# The latest datetime there is: ``x > LATEST`` holds for no x, which is what "after 9999-12-31" means.
LATEST = dt.datetime.max.replace(tzinfo=UTC)


def _is_date(v: Any) -> bool:
    return isinstance(v, dt.date) and not isinstance(v, dt.datetime)


def _before(v, now):
    return RangePred(hi=_start(v) if _is_date(v) else v, hi_inclusive=False)


def _after(v, now):
    if not _is_date(v):
        return RangePred(lo=v, lo_inclusive=False)
    start = _next_day(v)
    return RangePred(lo=LATEST, lo_inclusive=False) if start is None else RangePred(lo=start, lo_inclusive=True)


def _whole_days(a: dt.date, b: dt.date) -> RangePred:
    """From the start of day ``a`` to the end of day ``b`` (open above after 9999-12-31)."""
    return RangePred(_start(a), True, _next_day(b), False)


def _between_when(v, now):
    a, b = v
    if _is_date(a):
        return _whole_days(a, b)
    return RangePred(a, True, b, True)


# ---- the registry ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Form:
    """How an operator works on one field type."""
    value: ValueKind
    build: Callable[[Any, dt.datetime], Pred]  # (checked value, now) → predicate


@dataclass(frozen=True)
class Operator:
    key: str
    label: str  # plain English, as in "company contains 'Inc'"
    forms: dict[str, Form]
    negate: bool = False  # True: the opposite of the predicate, and it matches empty fields
    doc: str = ""
    # How rules.describe words it (datasette's human_template): {field}, {value} as given, {low} and {high} for a
    # pair (said like other values). None: "{field} {label}" then the value, the usual way.
    human_template: str | None = None

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(self.forms)


def _text(kind: TextKind) -> Form:
    if kind == "in":
        return Form(STRING_LIST, lambda v, now: TextPred("in", tuple(s.lower() for s in v)))
    return Form(STRING, lambda v, now: TextPred(kind, (v.lower(),)))


_EQ_NUM = Form(NUMBER_VALUE, lambda v, now: RangePred(v, True, v, True))

_ENTRIES = [
    Operator("equals", "is", {TEXT: _text("equals"), NUMBER: _EQ_NUM},
             doc="text: same text ignoring case; number: equal"),
    Operator("not_equals", "is not", {TEXT: _text("equals"), NUMBER: _EQ_NUM}, negate=True,
             doc="not `equals`; matches empty fields"),
    Operator("contains", "contains", {TEXT: _text("contains")}, doc="the value is a substring, ignoring case"),
    Operator("not_contains", "does not contain", {TEXT: _text("contains")}, negate=True,
             doc="not `contains`; matches empty fields"),
    Operator("starts_with", "starts with", {TEXT: _text("starts_with")},
             doc="the text starts with the value, ignoring case"),
    Operator("ends_with", "ends with", {TEXT: _text("ends_with")}, doc="the text ends with the value, ignoring case"),
    Operator("in", "is one of", {TEXT: _text("in")}, doc="`equals` one of the listed values"),
    Operator("not_in", "is none of", {TEXT: _text("in")}, negate=True, doc="not `in`; matches empty fields"),
    Operator("before", "is before", {DATETIME: Form(WHEN, _before)},
             doc="date D: before D 00:00 UTC; datetime T: before T"),
    Operator("after", "is after", {DATETIME: Form(WHEN, _after)},
             doc="date D: from D+1 day 00:00 UTC (after the whole day); datetime T: after T"),
    Operator("on", "is on", {DATETIME: Form(DATE, lambda v, now: _whole_days(v, v))},
             doc="within the UTC day D"),
    Operator("between", "is between", {
        DATETIME: Form(WHEN_PAIR, _between_when),
        NUMBER: Form(NUMBER_PAIR, lambda v, now: RangePred(v[0], True, v[1], True)),
    }, doc="numbers and datetimes: A <= x <= B; dates: from A 00:00 to the end of day B",
        human_template="{field} is between {low} and {high}"),
    Operator("in_last_days", "is in the last (days)", {
        DATETIME: Form(DAYS, lambda v, now: RangePred(now - dt.timedelta(days=v), True, now, True)),
    }, doc="now - N days <= x <= now", human_template="{field} is in the last {value} days"),
    Operator("more_than_days_ago", "is more than (days) ago", {
        DATETIME: Form(DAYS, lambda v, now: RangePred(hi=now - dt.timedelta(days=v), hi_inclusive=False)),
    }, doc="x < now - N days", human_template="{field} is more than {value} days ago"),
    Operator("greater_than", "is greater than",
             {NUMBER: Form(NUMBER_VALUE, lambda v, now: RangePred(lo=v, lo_inclusive=False))}, doc="x > V"),
    Operator("less_than", "is less than",
             {NUMBER: Form(NUMBER_VALUE, lambda v, now: RangePred(hi=v, hi_inclusive=False))}, doc="x < V"),
    Operator("greater_than_or_equal", "is at least", {NUMBER: Form(NUMBER_VALUE, lambda v, now: RangePred(lo=v))},
             doc="x >= V"),
    Operator("less_than_or_equal", "is at most", {NUMBER: Form(NUMBER_VALUE, lambda v, now: RangePred(hi=v))},
             doc="x <= V"),
    Operator("is_true", "is true", {BOOLEAN: Form(NONE, lambda v, now: BoolPred(True))}, doc="x is true"),
    Operator("is_false", "is false", {BOOLEAN: Form(NONE, lambda v, now: BoolPred(False))}, doc="x is false"),
    Operator("is_empty", "is empty", {t: Form(NONE, lambda v, now: EmptyPred()) for t in FIELD_TYPES},
             doc="missing/NULL, or '' for text"),
    Operator("is_not_empty", "is not empty", {t: Form(NONE, lambda v, now: EmptyPred()) for t in FIELD_TYPES},
             negate=True, doc="has a value"),
    Operator("in_segment", "is in segment", {SEGMENT: Form(SEGMENT_ID, lambda v, now: PseudoPred())},
             doc="matches segment V's rules now (V: a saved segment's id)", human_template="is in segment {value}"),
    Operator("not_in_segment", "is not in segment", {SEGMENT: Form(SEGMENT_ID, lambda v, now: PseudoPred())},
             negate=True, doc="every contact that `in_segment` does not match",
             human_template="is not in segment {value}"),
    Operator("in_range", "is in range", {SAMPLE: Form(SAMPLE_RANGE, lambda v, now: PseudoPred())},
             doc="the contact's sample point p (sha256 of salt:email) has A <= p < B",
             human_template="sample from {value[from]}% to {value[to]}% (salt '{value[salt]}')"),
]

OPERATORS: dict[str, Operator] = {op.key: op for op in _ENTRIES}


def operators_for(field_type: str) -> list[str]:
    """Operator keys valid for a field type, in registry order (the UI's menu order)."""
    return [op.key for op in _ENTRIES if field_type in op.forms]
