"""Contact records: names for new keys, the email check, and validation and coercion of records — shared by
``add_contacts``, the demo loader and CSV import (the field catalogue itself is ``fields.py``)."""
from __future__ import annotations

import datetime as dt
import math
import operator
import re
import unicodedata
from typing import Any

import pandas as pd

from .fields import MAX_NAME_BYTES, RESERVED_NAMES, Catalogue, valid_field_name
from .operators import BOOLEAN, DATETIME, NUMBER, TEXT
from .values import (
    ASCII_INVISIBLE_RE,
    UNSTORABLE_RE,
    OutOfRange,
    char_code,
    coerce_bool,
    coerce_datetime,
    coerce_number,
    first_invisible,
    printable,
    short_repr,
    unstorable,
)

EMAIL_RE = re.compile(r"^[^@\s]+@(?:[^@\s.]+\.)+[^@\s.]+$")
MAX_EXACT_INT = 2**53  # beyond this a number column would silently lose digits (ids, card numbers): keep text
_ASCII_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "Ae",
                             "đ": "d", "Đ": "D", "œ": "oe", "Œ": "Oe", "ı": "i", "þ": "th"})


# ---- names -----------------------------------------------------------------------------------------------------

def ascii_fold(text: str) -> str:
    """``text`` with accents removed and letters such as ``ł``, ``ß`` spelled in ASCII; other characters dropped."""
    folded = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLD))
    return "".join(c for c in folded if c.isascii())


def normalize_header(h: str) -> str:
    """Lower-case, without spaces, ``_`` and ``-``: the key headers are matched on (``E-mail`` → ``email``)."""
    return re.sub(r"[\s_-]+", "", str(h).lower())


def field_name_for(key: str) -> str:
    """The field name a new key becomes (SPEC §1 *Keys and values*): snake_case that keeps Unicode letters
    (``Phone 1`` → ``phone_1``, ``customerID`` → ``customer_id``, ``日本`` → ``日本``), ``f_`` before a leading digit,
    cut to 63 bytes of UTF-8 at a character boundary; '' when the key has no letter or digit at all."""
    text = unicodedata.normalize("NFC", str(key))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = unicodedata.normalize("NFC", text.lower())
    name = "".join(c if unicodedata.category(c)[0] in "LMN" else "_" for c in text)
    name = re.sub(r"_+", "_", name).strip("_")
    if name and unicodedata.category(name[0])[0] != "L":
        name = "f_" + name.lstrip("_")
    while len(name.encode("utf-8")) > MAX_NAME_BYTES:
        name = name[:-1]
    return name.rstrip("_")


def snake_case(h: str, position: int = 1) -> str:
    """A custom field name for a CSV header: ``field_name_for``, or ``column_<position>`` when nothing is left."""
    return field_name_for(h) or f"column_{position}"


def match_key(key: str, by_key: dict[str, str]) -> str | None:
    """The existing field a key means (``by_key`` from ``key_index``): by its exact name, by the header rule
    (``E-mail`` → ``email``), or by its snake_case or ASCII spelling (``Straße`` → an existing ``strasse``)."""
    for candidate in (key, normalize_header(key), normalize_header(field_name_for(key)),
                      normalize_header(ascii_fold(key))):
        name = by_key.get(candidate)
        if name is not None:
            return name
    return None


def key_index(names) -> dict[str, str]:
    index: dict[str, str] = {}
    for name in names:
        index.setdefault(name, name)
    for name in names:
        index.setdefault(normalize_header(name), name)
    return index


def name_new_keys(keys: list[tuple[str, str]], what: str = "key") -> list[str]:
    """Problems with the names new keys become — (key as the user wrote it, name) pairs: a name that is not valid
    or is reserved, and two different keys that become the same name (never merged). One implementation for
    ``add_contacts`` and CSV import."""
    problems: list[str] = []
    first: dict[str, str] = {}
    for key, name in keys:
        if not name:
            problems.append(f"{what} {key!r} has no letter or digit to make a field name from")
            continue
        reason = check_custom_name(name)
        if reason:
            problems.append(f"{what} {key!r}: {reason}")
            continue
        if name in first and first[name] != key:
            problems.append(f"{what}s {first[name]!r} and {key!r} would both become field {name!r}; "
                            "rename one of them")
        first.setdefault(name, key)
    return problems


def python_type_of(value: object) -> str | None:
    """The field type a Python value implies for a new custom field (None: no value to tell from)."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, (dt.date, dt.datetime)):
        return DATETIME
    if isinstance(value, str):
        return TEXT
    return None


def check_custom_name(name: str) -> str | None:
    """A reason the name cannot be a custom field, or None when it can."""
    if name in RESERVED_NAMES:
        return f"'{name}' is a reserved field name"
    if not valid_field_name(name):
        return (f"'{name}' is not a valid field name (lower-case letters of any script, digits and _, starting "
                f"with a letter, at most {MAX_NAME_BYTES} bytes of UTF-8)")
    return None


# ---- records ---------------------------------------------------------------------------------------------------

def plain_values(series: pd.Series) -> list:
    """A column as plain Python values: datetime, float, bool, str, with None for missing."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return [None if v is pd.NaT else v for v in series.dt.to_pydatetime()]
    values = series.astype(object)
    return values.where(series.notna(), None).tolist()


_COERCE = {NUMBER: coerce_number, DATETIME: coerce_datetime, BOOLEAN: coerce_bool}


def known_types(catalogue: Catalogue) -> dict[str, str]:
    return {f.name: f.type for f in catalogue if f.name != "id"}


def coerce(field_type: str, value: Any) -> Any:
    if value is None:
        return None
    if field_type == TEXT:
        if not isinstance(value, str):
            raise ValueError(f"expects text, got {short_repr(value)}")
        reason = unstorable(value)  # a lone surrogate or NUL: no back end could store or read it back
        if reason:
            raise ValueError(reason)
        return value if value != "" else None  # kept as given (CSV import trims its cells)
    try:
        coerced = _COERCE[field_type](value)
    except OutOfRange as exc:
        raise ValueError(f"expects a {field_type}: {exc}") from None
    except ValueError:
        raise ValueError(f"expects a {field_type}, got {short_repr(value)}") from None
    if isinstance(coerced, int) and not isinstance(coerced, bool) and abs(coerced) > MAX_EXACT_INT:
        raise ValueError(f"got {short_repr(value)}, an integer beyond ±2^53: numbers are stored as 64-bit floats and "
                         f"it would lose digits; give it as text (a string) in a text field instead")
    return coerced


_NOT_PLAIN = object()


def _plain(field_type: str, value: Any) -> Any:
    """The stored value when ``value`` is already what ``coerce`` would return (the common case of a million
    records, checked without a call chain); ``_NOT_PLAIN`` otherwise, and ``coerce`` decides."""
    kind = type(value)
    if value is None:
        return None
    if field_type == TEXT:
        if kind is str and UNSTORABLE_RE.search(value) is None:
            return value if value != "" else None
    elif field_type == DATETIME:
        if kind is dt.datetime and value.tzinfo is dt.UTC:
            return value
    elif field_type == NUMBER:
        if (kind is float and math.isfinite(value)) or (kind is int and -MAX_EXACT_INT <= value <= MAX_EXACT_INT):
            return value
    elif field_type == BOOLEAN and kind is bool:
        return value
    return _NOT_PLAIN


class _Label:
    """``record N (email)`` as problems name a record, made only when one is said."""

    __slots__ = ("i", "email")

    def __init__(self, i: int, email: Any):
        self.i, self.email = i, email

    def __str__(self) -> str:
        email = self.email
        return f"record {self.i}" + (f" ({printable(email.strip())})" if isinstance(email, str) and email.strip()
                                     else "")

    def __format__(self, spec: str) -> str:  # f-strings call this
        return format(str(self), spec)


COLUMNS_FROM = 1_000  # records; from here a uniform list is first tried a column at a time (_check_columns)
_STORED_KINDS: dict[str, set[type]] = {TEXT: {str, type(None)}, NUMBER: {float, int, type(None)},
                                        DATETIME: {dt.datetime, type(None)}, BOOLEAN: {bool, type(None)}}


def _check_columns(records: list, by_key: dict[str, str],
                   types: dict[str, str]) -> tuple[list[dict], dict[str, str]] | None:
    """The usual shape of a big write, checked a column at a time (loops in C, not ~10 Python steps per value):
    every record a dict with the same keys in the same order, each key an existing field other than ``id`` or a new
    one whose type the first record's value gives, every value already in its stored shape, every email valid.
    Gives the rows and new fields the record-by-record check gives; None as soon as anything is otherwise, and then
    that check runs and says exactly what is wrong, record by record."""
    first = records[0]
    if type(first) is not dict or not first or set(map(type, records)) != {dict}:
        return None
    keys = tuple(first)
    if any(type(k) is not str for k in keys) or len(set(map(tuple, records))) != 1:
        return None
    fields: list[str] = []
    new_fields: dict[str, str] = {}
    for key, value in first.items():
        name = match_key(key, by_key)
        if name is None:  # a new field, typed by its first value (a first None would leave it untyped: not here)
            name, field_type = field_name_for(key), python_type_of(value)
            if field_type is None or name in types or name_new_keys([(key, name)]):
                return None
            new_fields[name] = field_type
        fields.append(name)
    if "id" in fields or len(set(fields)) != len(fields) or "email" not in fields:
        return None
    types = {**types, **new_fields}
    columns: list[Any] = [list(map(operator.itemgetter(k), records)) for k in keys]
    original = list(columns)
    for j, (field, column) in enumerate(zip(fields, columns)):
        field_type = types[field]
        kinds = set(map(type, column))
        if not kinds <= _STORED_KINDS[field_type]:
            return None
        present = [v for v in column if v is not None] if type(None) in kinds else column
        if field_type == TEXT:
            if UNSTORABLE_RE.search("".join(present)):  # a character class: joining adds no match
                return None
            if field == "email":
                if len(present) != len(column) or not all(column):
                    return None  # required
                emails = [e.strip().lower() for e in column]
                joined = "".join(emails)
                if not joined.isascii() or ASCII_INVISIBLE_RE.search(joined) or \
                        not all(map(EMAIL_RE.match, emails)):
                    return None  # invisible characters and bad addresses are said record by record
                if emails != column:
                    columns[j] = emails
            elif "" in present:
                columns[j] = [v if v != "" else None for v in column]
        elif field_type == NUMBER:
            if float in kinds and not all(map(math.isfinite, (v for v in present if type(v) is float))):
                return None
            if int in kinds and any(abs(v) > MAX_EXACT_INT for v in present if type(v) is int):
                return None
        elif field_type == DATETIME:
            if field == "created_at" and len(present) != len(column):
                return None  # created_at is never cleared: the record-by-record path drops the key
            if {v.tzinfo for v in present} - {dt.UTC}:
                return None
    if fields == list(keys) and all(c is column for c, column in zip(columns, original)):
        return list(records), new_fields  # nothing renamed or changed: the records are their own rows
    return [dict(zip(fields, values)) for values in zip(*columns)], new_fields


def check_uniform(records: list, catalogue: Catalogue) -> tuple[list[dict], dict[str, str], list[str]] | None:
    """``check_records``' column path alone: its result when the records are a big uniform write of values in their
    stored shape (then they hold no NaN, NaT, pd.NA or numpy scalar either: ``without_missing`` would change
    nothing), else None."""
    if len(records) < COLUMNS_FROM:
        return None
    checked = _check_columns(records, key_index([f.name for f in catalogue]), {f.name: f.type for f in catalogue})
    return None if checked is None else (checked[0], checked[1], [])


def check_records(records: list, catalogue: Catalogue, *,
                  columns: bool = True) -> tuple[list[dict], dict[str, str], list[str]]:
    """Typed rows of the records, the custom fields they create, and every problem found. A row may be the very
    dict given when nothing in it needed changing (the column path): copy before changing one. ``columns=False``
    skips the column path (for a caller whose ``check_uniform`` already said no)."""
    uniform = check_uniform(records, catalogue) if columns else None
    if uniform is not None:
        return uniform
    by_key = key_index([f.name for f in catalogue])
    types = {f.name: f.type for f in catalogue}
    new_fields: dict[str, str] = {}
    names: dict[str, str | None] = {}  # key → field name, None when the key itself is a problem (said once)
    claimed: dict[str, str] = {}  # new field name → the first key that became it
    ready: dict[str, tuple[str, str]] = {}  # key → (field, type) once both are settled: the per-value fast path
    out, problems = [], []
    for i, rec in enumerate(records, 1):
        if not isinstance(rec, dict):
            problems.append(f"record {i}: must be a dict of field → value, got {type(rec).__name__}")
            continue
        label = _Label(i, rec.get("email"))  # said only in a problem
        row: dict[str, Any] = {}
        given: dict[str, str] = {}  # field → the key of this record that set it
        reported = len(problems)
        for key, value in rec.items():
            fast = ready.get(key) if type(key) is str else None
            if fast is not None:
                field, field_type = fast
                if field in given:
                    problems.append(f"{label}: keys {given[field]!r} and {key!r} both set field {field!r}")
                    continue
                given[field] = key
                plain = _plain(field_type, value)
                if plain is not _NOT_PLAIN:
                    row[field] = plain
                    continue
                try:
                    row[field] = coerce(field_type, value)
                except ValueError as exc:
                    problems.append(f"{label}: field '{field}' {exc}")
                continue
            if not isinstance(key, str):
                problems.append(f"{label}: field names must be text, got {key!r}")
                continue
            if key not in names:  # resolved once per key, not once per record (ingest of a million records)
                name = match_key(key, by_key) or field_name_for(key)
                if name not in types:
                    clash = name_new_keys([(claimed.setdefault(name, key), name), (key, name)])
                    if clash:
                        problems.extend(dict.fromkeys(clash))  # an invalid name is said once, not twice
                        names[key] = None
                        continue
                names[key] = name
            resolved = names[key]
            if resolved is None or resolved == "id":
                continue  # a bad key (reported once); the store assigns ids
            name = resolved
            if name in given:
                problems.append(f"{label}: keys {given[name]!r} and {key!r} both set field {name!r}")
                continue
            given[name] = key
            if name not in types and name not in new_fields:
                ftype = python_type_of(value)
                if ftype is None and value is not None:
                    problems.append(f"{label}: field {key!r}: cannot store a {type(value).__name__}")
                    continue
                if ftype is None:
                    continue  # a new field with no value tells no type; nothing to store
                new_fields[name] = ftype
            ftype = types.get(name) or new_fields[name]
            ready[key] = (name, ftype)
            try:
                row[name] = coerce(ftype, value)
            except ValueError as exc:
                problems.append(f"{label}: field '{name}' {exc}")
        email = row.get("email")
        if not isinstance(email, str) or not email:
            if not any(p.startswith(f"{label}: field 'email' ") for p in problems[reported:]):  # said already
                problems.append(f"{label}: field 'email' is required")
            continue
        email = email.strip().lower()
        hidden = first_invisible(email)
        if hidden is not None:
            problems.append(f"{label}: field 'email' {email!r} contains the invisible character {char_code(hidden)}")
            continue
        if not EMAIL_RE.match(email):
            problems.append(f"{label}: field 'email' {email!r} does not look like an address (local@domain.tld)")
            continue
        row["email"] = email
        if row.get("created_at", 0) is None:
            del row["created_at"]  # created_at is never cleared
        out.append(row)
    return out, new_fields, problems
