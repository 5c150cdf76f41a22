"""Parsing and formatting of field values shared by rules, records and CSV: UTC datetimes, numbers, booleans."""
from __future__ import annotations

import datetime as dt
import math
import re
import reprlib
import unicodedata
from typing import overload

UTC = dt.UTC
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_START_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
UNSTORABLE_RE = re.compile("[\ud800-\udfff\x00]")  # what unstorable() refuses, in one pass
ASCII_INVISIBLE_RE = re.compile("[\x00-\x1f\x7f]")  # the Cc characters of ASCII (it has no Cf)


# ---- text every back end can hold ------------------------------------------------------------------------------

def char_code(ch: str) -> str:
    """A character by its code, as messages show it: ``U+200B``."""
    return f"U+{ord(ch):04X}"


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored or compared by every back end (SPEC §2), or None when it can: a lone surrogate
    (no UTF-8 encoding: Arrow, SQLite and PostgreSQL all refuse it) or NUL (PostgreSQL text cannot hold it)."""
    if UNSTORABLE_RE.search(text) is None:  # the common case, in one pass
        return None
    found = _SURROGATE_RE.search(text)
    if found:
        return f"contains a lone surrogate {char_code(found.group())}, which UTF-8 cannot encode"
    if "\x00" in text:
        return f"contains the NUL character {char_code(chr(0))}"
    return None


def is_invisible(ch: str) -> bool:
    """Format and control characters (``U+200B``, ``U+FEFF``, ``U+0000``, …): nothing a reader can see."""
    return unicodedata.category(ch) in ("Cf", "Cc")


def first_invisible(text: str) -> str | None:
    """The first invisible character (``is_invisible``) of ``text``, or None; ASCII text in one regex pass."""
    if text.isascii():
        found = ASCII_INVISIBLE_RE.search(text)
        return found.group() if found else None
    return next((c for c in text if is_invisible(c)), None)


def printable(text: str) -> str:
    """``text`` safe to print, log and send as UTF-8 JSON: a lone surrogate becomes its ``\\udXXX`` escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


_SHORT = reprlib.Repr()  # keyword arguments only from Python 3.12
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 3, 60, 60, 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 6


def short_repr(value: object) -> str:
    """``repr`` for messages, bounded in length and depth (a list nested 5,000 deep or a 400-digit number)."""
    return _SHORT.repr(value)


class OutOfRange(ValueError):
    """A date or time that exists with its offset but not in UTC within years 1–9999."""


def to_utc(value: dt.datetime) -> dt.datetime:
    """An aware UTC datetime: naive values are taken as UTC, offsets are converted. A time whose UTC reading falls
    outside years 1–9999 (``9999-12-31T23:00-05:00``) is a ValueError."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is in year 10000 in UTC
        raise OutOfRange(f"{value.isoformat()} is outside the years 1 to 9999 in UTC") from None


def is_date_text(text: str) -> bool:
    """True for a plain ``YYYY-MM-DD`` date."""
    return bool(_DATE_RE.match(text))


def parse_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` → date; ValueError otherwise."""
    if not is_date_text(text):
        raise ValueError(f"{short_repr(text)} is not a date (YYYY-MM-DD)")
    return dt.date.fromisoformat(text)


def parse_datetime(text: str) -> dt.datetime:
    """``YYYY-MM-DD`` or ISO 8601 with or without offset (``Z`` allowed) → aware UTC datetime."""
    s = text.strip()
    if is_date_text(s):
        d = dt.date.fromisoformat(s)
        return dt.datetime(d.year, d.month, d.day, tzinfo=UTC)
    if not _ISO_START_RE.match(s):
        raise ValueError(f"{short_repr(text)} is not a date or ISO 8601 datetime")
    try:
        parsed = dt.datetime.fromisoformat(s.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{short_repr(text)} is not a valid ISO 8601 datetime") from None
    return to_utc(parsed)


def coerce_datetime(value: object) -> dt.datetime:
    """A Python date/datetime/str (or pandas Timestamp) → aware UTC datetime; ValueError otherwise."""
    if isinstance(value, dt.datetime):
        return to_utc(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        return parse_datetime(value)
    raise ValueError(f"{short_repr(value)} is not a date or datetime")


def coerce_number(value: object) -> float | int:
    """An int/float (not bool) or numeric string → number; NaN/inf and anything else → ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{short_repr(value)} is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{short_repr(value)} is not a finite number")
        return value
    if isinstance(value, str):
        s = value.strip()
        if _INT_RE.fullmatch(s):
            return int(s)
        try:
            f = float(s)
        except ValueError:
            raise ValueError(f"{short_repr(value)} is not a number") from None
        if not math.isfinite(f) or not _FLOAT_RE.fullmatch(s):
            raise ValueError(f"{short_repr(value)} is not a number")
        return f
    raise ValueError(f"{short_repr(value)} is not a number")


_TRUE = {"true", "yes"}
_FALSE = {"false", "no"}


def coerce_bool(value: object) -> bool:
    """bool, or the text true/false/yes/no (any case) → bool; ValueError otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        s = value.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    raise ValueError(f"{short_repr(value)} is not a boolean (true/false/yes/no)")


@overload
def format_datetime(value: dt.datetime) -> str: ...


@overload
def format_datetime(value: None) -> None: ...


def format_datetime(value: dt.datetime | None) -> str | None:
    """UTC datetime → ``2026-01-05T10:00:00Z`` (microseconds kept when present)."""
    if value is None:
        return None
    v = to_utc(value)
    text = f"{v.year:04d}-{v:%m-%dT%H:%M:%S}"  # strftime's %Y drops the zeros of years before 1000
    if v.microsecond:
        text += f".{v.microsecond:06d}"
    return text + "Z"
