"""How a breakdown groups the matching contacts (``Segmenter.breakdown``): round number ranges, a time period chosen
by the span of the dates, top text values then "(other)". Pure Python on totals the back ends have already counted,
so the memory and SQL back ends label and fold the same way; docs/rules.md (*Breakdown*) says it in words.

- **Numbers**: ranges on round edges, steps of 1, 2 or 5 × 10ⁿ — the smallest step that needs at most ``limit``
  ranges (at least 2) from the lowest to the highest value; each range holds its lower edge, not its upper
  (``200–400`` is 200 ≤ x < 400); ranges between with no contact are kept (0), so the axis has no gaps.
- **Datetimes** (UTC): one bar per day, week (Monday to Sunday), month or year — the finest whose bars from the first
  to the last value fit ``MAX_PERIODS`` (days: 62; weeks: 26) — then blocks of 2, 5, 10, 20, 50, … years; periods with
  no contact are kept (0).
- **Text**: the ``limit`` most common values (ties: the value of the lowest contact id first), then ``(other)``
  counting every remaining contact, with how many values it gathers.
- **Booleans**: ``true``, ``false`` (those that occur).
- Every type: ``(empty)`` last, counting the contacts with the field empty.
"""
from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable
from fractions import Fraction

EMPTY = "(empty)"
OTHER = "(other)"
MAX_PERIODS = {"day": 62, "week": 26, "month": 60, "year": 60}
YEAR_BLOCKS = 60  # at most this many blocks of N years
MAX_LIMIT = 1_000

Row = tuple[str, int]


# ---- numbers --------------------------------------------------------------------------------------------------------

def _edge(k: int, step: Fraction) -> float:
    """The k-th edge as the float nearest k × step (exact arithmetic, one rounding; ±inf past the float range)."""
    try:
        return float(k * step)
    except OverflowError:
        return math.inf if k > 0 else -math.inf


def _index(x: float, step: Fraction) -> int:
    """The k with edge(k) <= x < edge(k + 1), judged on the float edges (as the back ends compare)."""
    k = math.floor(Fraction(x) / step)
    while _edge(k, step) > x:
        k -= 1
    while _edge(k + 1, step) <= x:
        k += 1
    return k


def _steps(start_exponent: int) -> Iterable[tuple[Fraction, int]]:
    """1, 2, 5 × 10ⁿ from 10^start_exponent upwards, with n (for the labels' decimals)."""
    for n in range(start_exponent, 400):
        for m in (1, 2, 5):
            yield Fraction(m) * Fraction(10) ** n, n


def _exponent(q: Fraction) -> int:
    """floor(log10(q)) for q > 0, give or take one (digit counts; no float overflow)."""
    return len(str(q.numerator)) - len(str(q.denominator))


def number_edges(lo: float, hi: float, limit: int) -> tuple[list[float], int]:
    """The round edges covering [lo, hi] (len = ranges + 1) and the step's power of ten (for labels)."""
    bins = max(2, limit)
    if lo == hi:  # one value: the power of ten below it (0 → 0–1)
        n = 0 if lo == 0 else _exponent(abs(Fraction(lo)))
        step = Fraction(10) ** n
        if lo != 0 and abs(Fraction(lo)) < step:  # the digit count overshot by one
            n -= 1
            step /= 10
        k = _index(lo, step)
        return [_edge(k, step), _edge(k + 1, step)], n
    span = Fraction(hi) - Fraction(lo)
    for step, n in _steps(_exponent(span / bins) - 2):
        k0, k1 = _index(lo, step), _index(hi, step)
        if k1 - k0 + 1 <= bins:
            return [_edge(k, step) for k in range(k0, k1 + 2)], n
    raise AssertionError("no step fits")  # pragma: no cover - 10^400 holds every float


def number_label(a: float, b: float, exponent: int) -> str:
    """``1,800–2,000``, ``0.5–1``, ``-10 – 0``: as many decimals as the step needs, none trailing (``2e+14`` beyond
    a trillion or below 10⁻⁹)."""
    def one(x: float) -> str:
        if not math.isfinite(x) or abs(x) >= 1e12 or exponent < -9:
            return f"{x:g}"
        text = f"{x:,.{max(0, -exponent)}f}"
        text = text.rstrip("0").rstrip(".") if "." in text else text
        return "0" if text in ("-0", "") else text
    if b == math.inf:  # the range past the largest float
        return f"{one(a)} and above"
    sep = " – " if a < 0 or b < 0 else "–"
    return f"{one(a)}{sep}{one(b)}"


def number_rows(edges: list[float], exponent: int, counts: dict[int, int]) -> list[Row]:
    """One row per range (``counts``: range index → contacts), empty ranges kept."""
    return [(number_label(edges[i], edges[i + 1], exponent), int(counts.get(i, 0))) for i in range(len(edges) - 1)]


def bucket_of(x: float, edges: list[float]) -> int:
    """The range of x: the last i with edges[i] <= x (x within [edges[0], edges[-1]))."""
    return min(bisect.bisect_right(edges, x) - 1, len(edges) - 2)


# ---- datetimes ------------------------------------------------------------------------------------------------------

def _monday(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.weekday())


def choose_period(first: dt.date, last: dt.date) -> tuple[str, int]:
    """("day" | "week" | "month" | "year", 1) or ("years", N): the finest that fits; see the module doc."""
    if (last - first).days + 1 <= MAX_PERIODS["day"]:
        return "day", 1
    if (_monday(last) - _monday(first)).days // 7 + 1 <= MAX_PERIODS["week"]:
        return "week", 1
    if (last.year * 12 + last.month) - (first.year * 12 + first.month) + 1 <= MAX_PERIODS["month"]:
        return "month", 1
    if last.year - first.year + 1 <= MAX_PERIODS["year"]:
        return "year", 1
    for n in (2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if last.year // n - first.year // n + 1 <= YEAR_BLOCKS:
            return "years", n
    raise AssertionError("years 1-9999 fit in blocks of 10,000")  # pragma: no cover


def base_unit(period: str) -> str:
    """What the back ends group by before folding: day (for days and weeks), month, or year."""
    return {"day": "day", "week": "day", "month": "month"}.get(period, "year")


def _period_start(d: dt.date, period: str, n: int) -> dt.date:
    if period == "day":
        return d
    if period == "week":
        return _monday(d)
    if period == "month":
        return d.replace(day=1)
    if period == "year":
        return dt.date(d.year, 1, 1)
    return dt.date(max(1, d.year // n * n), 1, 1)


def _next(d: dt.date, period: str, n: int) -> dt.date | None:
    try:
        if period == "day":
            return d + dt.timedelta(days=1)
        if period == "week":
            return d + dt.timedelta(days=7)
        if period == "month":
            return dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
        return dt.date((d.year // n + 1) * n, 1, 1)
    except (OverflowError, ValueError):  # past 9999-12-31
        return None


def period_label(start: dt.date, period: str, n: int) -> str:
    if period == "day":
        return start.isoformat()
    if period == "week":
        return f"week of {start.isoformat()}"
    if period == "month":
        return start.isoformat()[:7]
    if period == "year":
        return f"{start.year:04d}"
    first = start.year // n * n
    return f"{max(first, 1):04d}–{first + n - 1:04d}"


def period_rows(groups: Iterable[tuple[dt.date, int]], period: str, n: int) -> list[Row]:
    """Fold per-day/month/year totals (each keyed by the first day of its unit) into the chosen periods, in time
    order, from the first to the last period with contacts, periods with none kept as 0."""
    totals: dict[dt.date, int] = {}
    for day, count in groups:
        start = _period_start(day, period, n)
        totals[start] = totals.get(start, 0) + int(count)
    if not totals:
        return []
    out: list[Row] = []
    at: dt.date | None = min(totals)
    last = max(totals)
    while at is not None and at <= last:
        out.append((period_label(at, period, n), totals.get(at, 0)))
        at = _next(at, period, n)
    return out


def as_date(value: object) -> dt.date:
    """A back end's datetime (aware, naive UTC, or SQLite's 'YYYY-MM-DD …' text) → its UTC date."""
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo else value).date()
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"not a datetime: {value!r}")


# ---- text and booleans ----------------------------------------------------------------------------------------------

def text_rows(ranked: list[tuple[str, int]], distinct: int, filled: int, limit: int) -> list[dict]:
    """The top ``limit`` of values ranked most common first, then ``(other)``: every remaining filled contact and
    how many values that is."""
    top = ranked[:limit]
    out: list[dict] = [{"value": v, "count": int(c)} for v, c in top]
    other = filled - sum(c for _, c in top)
    if other:
        out.append({"value": OTHER, "count": int(other), "values": int(distinct - len(top))})
    return out


def with_empty(rows: list[dict], empty: int) -> list[dict]:
    return rows + ([{"value": EMPTY, "count": int(empty)}] if empty else [])
