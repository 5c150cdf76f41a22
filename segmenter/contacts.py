"""Contact records: names for new keys, the email check, and validation and coercion of records — shared by
``add_contacts``, the demo loader and CSV import (the field catalogue itself is ``fields.py``)."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

import pandas as pd

from .fields import FIELD_NAME_RE, RESERVED_NAMES, Catalogue
from .operators import BOOLEAN, DATETIME, NUMBER, TEXT
from .values import coerce_bool, coerce_datetime, coerce_number

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


def snake_case(h: str, position: int = 1) -> str:
    """A custom field name for a header (``Phone 1`` → ``phone_1``); ``column_<position>`` when nothing is left."""
    text = ascii_fold(str(h))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not name:
        return f"column_{position}"
    if name[0].isdigit():
        name = "f_" + name
    return name[:63].rstrip("_")


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
    if not FIELD_NAME_RE.match(name):
        return f"'{name}' is not a valid field name (lower-case letters, digits and _, starting with a letter)"
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
            raise ValueError(f"expects text, got {value!r}")
        return value if value != "" else None  # kept as given (CSV import trims its cells)
    try:
        coerced = _COERCE[field_type](value)
    except ValueError:
        raise ValueError(f"expects a {field_type}, got {value!r}") from None
    if isinstance(coerced, int) and not isinstance(coerced, bool) and abs(coerced) > MAX_EXACT_INT:
        raise ValueError(f"got {value!r}, an integer beyond ±2^53: numbers are stored as 64-bit floats and it would "
                         f"lose digits; give it as text (a string) in a text field instead")
    return coerced


def check_records(records: list, catalogue: Catalogue) -> tuple[list[dict], dict[str, str], list[str]]:
    """Typed copies of the records, the custom fields they create, and every problem found."""
    by_key = {normalize_header(f.name): f.name for f in catalogue}
    types = {f.name: f.type for f in catalogue}
    new_fields: dict[str, str] = {}
    names: dict[str, str] = {}
    out, problems = [], []
    for i, rec in enumerate(records, 1):
        if not isinstance(rec, dict):
            problems.append(f"record {i}: must be a dict of field → value, got {type(rec).__name__}")
            continue
        email = rec.get("email")
        label = f"record {i}" + (f" ({email.strip()})" if isinstance(email, str) and email.strip() else "")
        row: dict[str, Any] = {}
        for key, value in rec.items():
            if not isinstance(key, str):
                problems.append(f"{label}: field names must be text, got {key!r}")
                continue
            name = names.get(key)
            if name is None:  # resolved once per key, not once per record (ingest of a million records)
                name = names[key] = key if key in types else by_key.get(normalize_header(key)) or snake_case(key)
            if name == "id":
                continue  # the store assigns ids
            if name not in types and name not in new_fields:
                reason = check_custom_name(name)
                ftype = python_type_of(value)
                if reason:
                    problems.append(f"{label}: field {key!r}: {reason}")
                    continue
                if ftype is None and value is not None:
                    problems.append(f"{label}: field {key!r}: cannot store a {type(value).__name__}")
                    continue
                if ftype is None:
                    continue  # a new field with no value tells no type; nothing to store
                new_fields[name] = ftype
            ftype = types.get(name) or new_fields[name]
            try:
                row[name] = coerce(ftype, value)
            except ValueError as exc:
                problems.append(f"{label}: field '{name}' {exc}")
        email = row.get("email")
        if not isinstance(email, str) or not email:
            problems.append(f"{label}: field 'email' is required")
            continue
        email = email.strip().lower()
        if not EMAIL_RE.match(email):
            problems.append(f"{label}: field 'email' {email!r} does not look like an address (local@domain.tld)")
            continue
        row["email"] = email
        if row.get("created_at", 0) is None:
            del row["created_at"]  # created_at is never cleared
        out.append(row)
    return out, new_fields, problems
