"""CSV import: reading the file, mapping headers to fields, inferring types and the date order of each column,
and per-row validation with physical line numbers. Pure functions over files and values; the store decides what to
write."""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gc
import io
import itertools
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import IO, Any

from .contacts import (
    EMAIL_RE,
    MAX_EXACT_INT,
    check_custom_name,
    field_name_for,
    key_index,
    match_key,
    name_new_keys,
    normalize_header,
    snake_case,
)
from .csv_export import FORMULA_TRIGGERS
from .errors import ContactError
from .fields import CORE_TYPES, FIELD_TYPES
from .values import coerce_bool, coerce_number, parse_datetime

# Header spellings that mean a core field although they do not normalise to its name.
HEADER_ALIASES = {"emailaddress": "email"}
FIRST_NAME_HEADERS = ("firstname",)
LAST_NAME_HEADERS = ("lastname",)
_FIRST_LAST = "first+last name → name"
_DMY_RE = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_LEADING_ZERO_RE = re.compile(r"^-?0\d")
_YMD_RE = re.compile(r"^(\d{4})([/.])(\d{1,2})\2(\d{1,2})$")
_ORDER_WORD = {"dayfirst": "day-first", "monthfirst": "month-first"}
_ORDER_TEXT = {"dayfirst": "day-first (DD-MM-YYYY)", "monthfirst": "month-first (MM-DD-YYYY)"}
_BOOL_WORDS = ("true", "false", "yes", "no")
MAX_TEXT_CELLS = 20  # cells listed as the reason a new column is text
_SAMPLE = 1_000  # first non-empty cells looked at before a whole column is tested
MOSTLY = 0.8  # a text column is "numbers except a few cells" when at least this share of its cells are numbers

Source = str | os.PathLike | bytes | bytearray | IO[bytes] | IO[str]


@dataclass
class ColumnPlan:
    """Where one CSV column goes: ``field`` None means the column is skipped. For a new field guessed as text whose
    cells are mostly of one other type (numbers except a few cells), ``would_be`` is that type and ``text_cells``
    the (line, cell) pairs that made it text, the first ``MAX_TEXT_CELLS``; ``text_cell_count`` counts them all."""

    header: str
    field: str | None
    type: str | None
    new: bool
    note: str
    would_be: str | None = None
    text_cells: list[tuple[int, str]] = dc_field(default_factory=list)
    text_cell_count: int = 0


@dataclass
class CsvPlan:
    """The preview shown before an import writes anything."""

    columns: list[ColumnPlan]
    new_fields: dict[str, str]
    row_count: int
    date_orders: dict[str, str]


@dataclass
class ParsedCSV:
    """Typed records with the physical line they start on, and the rows rejected with a reason and their original
    cells (as read, untrimmed), so a rejected row can be handed back whole to be fixed."""

    plan: CsvPlan
    rows: list[tuple[int, dict]] = dc_field(default_factory=list)
    rejected: list[tuple[int, str]] = dc_field(default_factory=list)
    headers: list[str] = dc_field(default_factory=list)
    rejected_cells: list[list[str]] = dc_field(default_factory=list)


# ---------------------------------------------------------------- reading the file

def _mb(n: int) -> str:
    x = n / 1_000_000
    return f"{x:.1f}".removesuffix(".0") if x >= 0.1 else f"{x:.2g}"


def _check_size(size: int, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise ContactError(f"file is {_mb(size)} MB; the limit is {_mb(max_bytes)} MB")


def _read_source(source: Source, max_bytes: int | None) -> bytes | str:
    if isinstance(source, str) and "\n" in source:  # CSV text itself, as typed in a notebook
        source = source.encode("utf-8")
    if isinstance(source, (bytes, bytearray, memoryview)):
        _check_size(len(source), max_bytes)
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        try:
            _check_size(os.path.getsize(source), max_bytes)
            return Path(source).read_bytes()
        except OSError as e:
            raise ContactError(f"cannot read {os.fspath(source)!r}: {e.strerror or e}") from None
    if hasattr(source, "read"):
        if getattr(source, "seekable", lambda: False)():
            source.seek(0, io.SEEK_END)
            _check_size(source.tell(), max_bytes)
            source.seek(0)  # a preview may already have read the same upload
        data = source.read()
        _check_size(len(data.encode("utf-8") if isinstance(data, str) else data), max_bytes)
        return data
    raise ContactError(f"cannot read a CSV from {type(source).__name__}; give a path, bytes or a file")


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    if data.startswith(b"PK\x03\x04"):
        raise ContactError("not a CSV file: this looks like an Excel workbook or a zip; save it as CSV UTF-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ContactError("the file is UTF-16 text; save it as CSV UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ContactError(
            f"the file is not UTF-8 text: byte 0x{data[e.start]:02x} on line {line} cannot be decoded; "
            "save it as CSV UTF-8") from None


def _delimiter(text: str) -> str:
    # a comma unless the header only splits on ';' or tab (spreadsheets in many locales save those)
    first = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]  # old Mac files end lines with a CR alone
    try:
        widths = {d: len(next(csv.reader([first], delimiter=d), [])) for d in (",", ";", "\t")}
    except csv.Error:
        return ","
    best = max(widths, key=lambda d: widths[d])
    return best if widths[","] == 1 and widths[best] > 1 else ","


def _records(text: str) -> list[tuple[int, list[str]]]:
    """(physical start line, cells) for every record; blank records are left out."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    records, start = [], 1
    try:
        for cells in reader:
            if "".join(cells).strip():
                records.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as e:
        raise ContactError(f"not a readable CSV file: line {start}: {e}") from None
    return records


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    # millions of small lists and dicts would trigger the cyclic collector over and over (it doubles the time);
    # none of them form cycles, so it is paused while a file is read
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_table(source: Source, max_bytes: int | None) -> tuple[list[str], list[tuple[int, list[str]]]]:
    text = _decode(_read_source(source, max_bytes))
    if "\x00" in text:
        raise ContactError("not a CSV file: it contains binary data (NUL bytes)")
    records = _records(text)
    if not records:
        raise ContactError("the file is empty: no header row")
    return [h.strip() for h in records[0][1]], records[1:]


def _columns(records: list[tuple[int, list[str]]], width: int) -> list[list[str]]:
    """The trimmed cell texts of each of the first ``width`` columns; short rows read as empty cells."""
    transposed = itertools.zip_longest(*(cells for _, cells in records), fillvalue="")
    columns = [_clean(col) for col, _ in zip(transposed, range(width))]
    return columns + [[""] * len(records) for _ in range(width - len(columns))]


def _clean(column: Iterable[str]) -> list[str]:
    values = [c.strip() for c in column]
    for i in [i for i, v in enumerate(values) if v[:1] == "'"]:
        # undo the formula-injection guard of our own export so export → edit → import round-trips
        if len(values[i]) > 1 and values[i][1] in FORMULA_TRIGGERS:
            values[i] = values[i][1:]
    return values


# ---------------------------------------------------------------- mapping headers to fields

@dataclass
class _Target:
    field: str | None
    type: str | None = None
    new: bool = False
    note: str = ""


def _known_types(known_fields: dict[str, str] | None) -> dict[str, str]:
    known = {**(known_fields or {}), **CORE_TYPES}
    known.pop("id", None)
    return {k: (t if t in FIELD_TYPES else "text") for k, t in known.items()}


def _lookup(known: dict[str, str]) -> dict[str, str]:
    return key_index(list(known))


def _mapped_target(header: str, target: str | None, known: dict[str, str], by_norm: dict[str, str]) -> _Target:
    if target is None:
        return _Target(None, note="skipped (mapping)")
    name = target if target in known else by_norm.get(normalize_header(target), target)
    if name == "id":
        raise ContactError(f"column {header!r} cannot be mapped to 'id': the store assigns ids; map it to None")
    if name in known:
        return _Target(name, known[name], note="mapped by you")
    reason = check_custom_name(name)
    if reason:
        hint = field_name_for(target)
        raise ContactError(f"column {header!r} is mapped to {target!r}: {reason}"
                           + (f" (e.g. {hint!r})" if hint and hint != name and not check_custom_name(hint) else ""))
    return _Target(name, None, new=True, note="mapped by you")


def _mapping_index(headers: list[str], mapping: dict[str, str | None]) -> dict[int, str | None]:
    by_header: dict[int, str | None] = {}
    for key, target in mapping.items():
        hits = [j for j, h in enumerate(headers) if key in (h, h.strip()) or key.strip() == h]
        if not hits:
            listed = ", ".join(repr(h) for h in headers)
            raise ContactError(f"the mapping names column {key!r}, which is not in the file; columns: {listed}")
        by_header.update({j: target for j in hits})
    return by_header


def _auto_targets(headers: list[str], targets: dict[int, _Target], known: dict[str, str],
                  by_norm: dict[str, str]) -> None:
    for j, h in enumerate(headers):
        if j in targets:
            continue
        norm = normalize_header(h)
        name = match_key(h, by_norm) if norm != "id" else None
        if norm == "id":
            targets[j] = _Target(None, note="ignored: the store assigns ids")
        elif name is not None:
            targets[j] = _Target(name, known[name])


def _name_targets(headers: list[str], targets: dict[int, _Target], known: dict[str, str]) -> None:
    taken = {t.field for t in targets.values()}
    free = {normalize_header(h): j for j, h in reversed(list(enumerate(headers))) if j not in targets}
    for alias, name in HEADER_ALIASES.items():
        if name not in taken and alias in free:
            targets[free[alias]] = _Target(name, known[name], note=f"{headers[free[alias]]} → {name}")
    if "name" in taken:
        return
    first = next((free[h] for h in FIRST_NAME_HEADERS if h in free), None)
    last = next((free[h] for h in LAST_NAME_HEADERS if h in free), None)
    if first is not None and last is not None:
        for j in (first, last):
            targets[j] = _Target("name", "text", note=_FIRST_LAST)


def _new_targets(headers: list[str], targets: dict[int, _Target], known: dict[str, str], has_values) -> None:
    """New fields for the columns left over, named as ``add_contacts`` names new keys (``contacts.name_new_keys``):
    a reserved or clashing name is an error naming the columns, never a silent rename or merge."""
    pairs = []
    for j, h in enumerate(headers):
        if j in targets:
            continue
        if not h and not has_values(j):
            targets[j] = _Target(None, note="ignored: no header and no values")
            continue
        name = snake_case(h, j + 1)  # a header with no letter or digit is named after its position
        pairs.append((h or f"(column {j + 1}, no header)", name))
        targets[j] = _Target(name, None, new=True)
    problems = name_new_keys(pairs, what="column")
    if problems:
        raise ContactError(problems)


def _check_collisions(headers: list[str], targets: dict[int, _Target]) -> None:
    seen: dict[str, int] = {}
    for j in sorted(targets):
        f = targets[j].field
        if f is None or targets[j].note == _FIRST_LAST:
            continue
        if f in seen:
            raise ContactError(
                f"columns {headers[seen[f]]!r} and {headers[j]!r} both go to field {f!r}; "
                "map one of them to None (skip) or to another field")
        seen[f] = j


def _targets(headers, known, mapping, has_values) -> dict[int, _Target]:
    by_norm = _lookup(known)
    targets = {j: _mapped_target(headers[j], t, known, by_norm)
               for j, t in _mapping_index(headers, mapping or {}).items()}
    _auto_targets(headers, targets, known, by_norm)
    _name_targets(headers, targets, known)
    _new_targets(headers, targets, known, has_values)
    _check_collisions(headers, targets)
    if not any(t.field == "email" for t in targets.values()):
        listed = ", ".join(repr(h) for h in headers)
        raise ContactError(
            f"no email column: the header has {listed}; name a column 'email' "
            "or pass a mapping such as {'Your column': 'email'}")
    return targets


# ---------------------------------------------------------------- values

def _is_number_text(v: str) -> bool:
    if v[0] == "+" or _LEADING_ZERO_RE.match(v):
        return False
    try:
        n = coerce_number(v)
    except ValueError:
        return False
    return not isinstance(n, int) or abs(n) <= MAX_EXACT_INT


def _exact_number(v: str) -> float | int:
    n = coerce_number(v)
    if isinstance(n, int) and abs(n) > MAX_EXACT_INT:
        raise ValueError(v)
    return n


def _dmy(v: str) -> tuple[int, int, int, int, int, int] | None:
    m = _DMY_RE.match(v)
    if not m:
        return None
    a, _, b, y, hh, mm, ss = m.groups()
    return int(a), int(b), int(y), int(hh or 0), int(mm or 0), int(ss or 0)


def _make_datetime(y: int, month: int, day: int, hh: int = 0, mm: int = 0, ss: int = 0) -> dt.datetime | None:
    try:
        return dt.datetime(y, month, day, hh, mm, ss, tzinfo=dt.UTC)
    except ValueError:
        return None


def _dmy_as(parts: tuple, order: str) -> dt.datetime | None:
    a, b, y, hh, mm, ss = parts
    day, month = (a, b) if order == "dayfirst" else (b, a)
    return _make_datetime(y, month, day, hh, mm, ss)


def _other_date(v: str) -> dt.datetime | None:
    """ISO 8601 / ``YYYY-MM-DD`` / ``YYYY/MM/DD``: dates whose order never depends on the column."""
    m = _YMD_RE.match(v)
    if m:
        return _make_datetime(int(m[1]), int(m[3]), int(m[4]))
    try:
        return parse_datetime(v)
    except ValueError:
        return None


def _is_date_text(v: str) -> bool:
    parts = _dmy(v)
    if parts is not None:
        return _dmy_as(parts, "dayfirst") is not None or _dmy_as(parts, "monthfirst") is not None
    return _other_date(v) is not None


def _date_order(values: Iterable[str], dayfirst: bool | None) -> tuple[str, str | None]:
    """The column's order and a value that decided it (None when nothing decided)."""
    has_dmy, month_only = False, None
    for v in values:
        parts = _dmy(v)
        if parts is None:
            continue
        has_dmy = True
        as_day, as_month = _dmy_as(parts, "dayfirst"), _dmy_as(parts, "monthfirst")
        if as_day and not as_month:
            return "dayfirst", v
        if as_month and not as_day and month_only is None:
            month_only = v
    if not has_dmy:
        return "iso", None
    if month_only is not None:
        return "monthfirst", month_only
    return ("dayfirst" if dayfirst else "monthfirst"), None


def _infer_type(values: list[str]) -> str:
    if not values:
        return "text"
    if all(_is_number_text(v) for v in values):
        return "number"
    if all(_is_date_text(v) for v in values):
        return "datetime"
    if all(v.lower() in _BOOL_WORDS for v in values):
        return "boolean"
    return "text"


_FITS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("number", _is_number_text), ("datetime", _is_date_text), ("boolean", lambda v: v.lower() in _BOOL_WORDS))


def _text_because(texts: list[str], lines: list[int]) -> tuple[str | None, list[tuple[int, str]], int]:
    """For a column guessed as text: the type most of its cells have (at least ``MOSTLY`` of the non-empty ones),
    the first ``MAX_TEXT_CELLS`` (line, cell) pairs that are not of that type, and how many such cells there are.
    (None, [], 0) when no type comes close: the column is text by nature, not because of a few cells."""
    # A look at the first cells first: a column that is text by nature (names, notes, phone numbers) is passed over
    # without testing a million values (1M unique names: 7.6 s without this look, under load)
    sample = list(itertools.islice((v for v in texts if v), _SAMPLE))
    likely = [(t, fits) for t, fits in _FITS if sum(map(fits, sample)) >= len(sample) / 2]
    if not likely:
        return None, [], 0
    counts = Counter(v for v in texts if v)
    filled = sum(counts.values())
    allowed = filled - math.ceil(MOSTLY * filled)  # at most this many cells may be the odd ones out
    for ftype, fits in likely:
        odd, bad = 0, set()
        for v, n in counts.items():
            if not fits(v):
                odd += n
                bad.add(v)
                if odd > allowed:
                    break
        if 0 < odd <= allowed:
            cells = list(itertools.islice(((line, v) for line, v in zip(lines, texts) if v in bad), MAX_TEXT_CELLS))
            return ftype, cells, odd
    return None, [], 0


class _Bad(str):
    """A problem found in a cell, kept in the column in place of its value."""


_MISSING_EMAIL = _Bad("email is empty (required)")


def _show(v: str) -> str:
    return repr(v if len(v) <= 80 else v[:77] + "...")


def _email_converter(v: str) -> str:
    e = v.lower()
    return e if EMAIL_RE.match(e) else _Bad(f"email {_show(v)} does not look like an address (local@domain.tld)")


def _checked(fn, problem: str):
    def convert(v: str):
        try:
            return fn(v)
        except ValueError:
            return _Bad(problem.format(_show(v)))
    return convert


def _converter(name: str, ftype: str, order: str | None, example: str | None) -> Callable[[str], Any] | None:
    if name == "email":
        return _email_converter
    if ftype == "number":
        return _checked(_exact_number, f"{name} {{}} is not a number, or an integer beyond ±2^53 that a number "
                                       "field would round (store it in a text field)")
    if ftype == "boolean":
        return _checked(coerce_bool, f"{name} {{}} is not a boolean (true/false/yes/no)")
    if ftype == "datetime":
        decided = order or "monthfirst"  # a datetime column always has its order decided (_date_order)
        return lambda v: _parse_date(name, v, decided, example)
    return None


def _parse_date(name: str, v: str, order: str, example: str | None) -> dt.datetime | _Bad:
    parts = _dmy(v)
    if parts is None:
        value = _other_date(v)
        if value is not None:
            return value
        try:
            parse_datetime(v)
        except ValueError as e:
            if "outside the years" in str(e):
                return _Bad(f"{name} {_show(v)} is outside the years 1–9999 once converted to UTC")
        return _Bad(f"{name} {_show(v)} is not a date (YYYY-MM-DD, ISO 8601, DD-MM-YYYY or MM-DD-YYYY)")
    value = _dmy_as(parts, "monthfirst" if order == "iso" else order)
    if value is not None:
        return value
    other = "monthfirst" if order == "dayfirst" else "dayfirst"
    if example is not None and _dmy_as(parts, other) is not None:
        return _Bad(f"{name} {_show(v)} is not a valid {_ORDER_TEXT[order]} date; other dates in this column, "
                    f"such as {example!r}, are {_ORDER_WORD[order]}")
    return _Bad(f"{name} {_show(v)} is not a valid date")


def _convert(values: list[str], fn) -> list:
    """Cell texts → values, None for empty cells and _Bad for problems; each distinct text converted once."""
    if fn is None:
        return [v or None for v in values]
    cache: dict[str, object] = {}
    out: list = []
    for v in values:
        if not v:
            out.append(None)
            continue
        r = cache.get(v)
        if r is None:
            r = cache[v] = fn(v)
        out.append(r)
    return out


# ---------------------------------------------------------------- plan and parse

@dataclass
class _Prepared:
    plan: CsvPlan
    width: int
    shapes: list[tuple[int, int]]  # per record: physical line, number of cells when too many (else 0)
    outputs: list[tuple[str, list[str], Callable[[str], Any] | None]]  # field, cell texts, converter
    headers: list[str] = dc_field(default_factory=list)
    records: list[tuple[int, list[str]]] = dc_field(default_factory=list)  # the rows as read (rejected ones go back)


def _note(t: _Target, ftype: str, order: str | None, values: list[str]) -> str:
    parts = [t.note] if t.note else []
    if t.new:
        parts.append(f"new {ftype} field")
        if ftype == "text" and values and all(re.fullmatch(r"[+-]?\d+(\.\d+)?", v) for v in values):
            parts.append("kept as text: leading zeros, a leading + or very long numbers")
        if not values:
            parts.append("no values")
    elif t.field == "email":
        parts.append("trimmed and lower-cased")
    elif not t.note:
        parts.append(f"existing {ftype} field")
    if order in _ORDER_WORD:
        parts.append(f"{_ORDER_WORD[order]} dates")
    return "; ".join(parts)


def _prepare(source, known_fields, mapping, dayfirst, max_bytes) -> _Prepared:
    headers, records = _read_table(source, max_bytes)
    known = _known_types(known_fields)
    columns = _columns(records, len(headers))
    lines = [line for line, _ in records]
    targets = _targets(headers, known, mapping, lambda j: any(columns[j]))
    plans, new_fields, orders, outputs = [], {}, {}, []
    for j, h in enumerate(headers):
        t = targets[j]
        if t.field is None:
            plans.append(ColumnPlan(h, None, None, False, t.note))
            continue
        distinct = list(dict.fromkeys(v for v in columns[j] if v))  # file order: messages cite the first example
        ftype = t.type or _infer_type(distinct)
        order, example = (None, None)
        if ftype == "datetime":
            order, example = _date_order(distinct, dayfirst)
            orders[t.field] = order
        if t.new:
            new_fields[t.field] = ftype
        column = ColumnPlan(h, t.field, ftype, t.new, _note(t, ftype, order, distinct))
        if t.new and ftype == "text" and t.note != _FIRST_LAST:
            column.would_be, column.text_cells, column.text_cell_count = _text_because(columns[j], lines)
        plans.append(column)
        if t.note != _FIRST_LAST:
            outputs.append((t.field, columns[j], _converter(t.field, ftype, order, example)))
    name_cols = [j for j in sorted(targets) if targets[j].note == _FIRST_LAST]
    if name_cols:
        joined = [" ".join(p for p in pair if p) for pair in zip(*(columns[j] for j in name_cols))]
        outputs.append(("name", joined, None))
    plan = CsvPlan(plans, new_fields, len(records), orders)
    return _Prepared(plan, len(headers), _shapes(records, len(headers)), outputs, headers, records)


def _shapes(records: list[tuple[int, list[str]]], width: int) -> list[tuple[int, int]]:
    # extra cells that are all empty (a trailing comma) lose nothing, so only non-empty extras count
    return [(line, len(cells) if len(cells) > width and "".join(cells[width:]).strip() else 0)
            for line, cells in records]


def plan_csv(source: Source, known_fields: dict[str, str] | None = None,
             mapping: dict[str, str | None] | None = None, dayfirst: bool | None = None,
             max_bytes: int | None = None) -> CsvPlan:
    """What an import would do with each column, the new fields and their types: the preview before writing."""
    with _gc_paused():
        return _prepare(source, known_fields, mapping, dayfirst, max_bytes).plan


def parse_csv(source: Source, known_fields: dict[str, str] | None = None,
              mapping: dict[str, str | None] | None = None, dayfirst: bool | None = None,
              max_bytes: int | None = None) -> ParsedCSV:
    """Read a CSV into typed records (non-empty cells only) and rejected rows with reasons, both by physical line."""
    with _gc_paused():
        return _parse(_prepare(source, known_fields, mapping, dayfirst, max_bytes))


def _parse(prep: _Prepared) -> ParsedCSV:
    names, outputs, bad = _convert_columns(prep.outputs)
    result = ParsedCSV(prep.plan, headers=prep.headers)
    width = prep.width
    for i, ((line, too_many), values) in enumerate(zip(prep.shapes, zip(*outputs))):
        if too_many:
            result.rejected.append((line, f"line {line}: {too_many} cells but the header has {width} columns"))
            result.rejected_cells.append(prep.records[i][1])
        elif i in bad:
            result.rejected.append((line, f"line {line}: " + "; ".join(v for v in values if type(v) is _Bad)))
            result.rejected_cells.append(prep.records[i][1])
        else:
            result.rows.append((line, {n: v for n, v in zip(names, values) if v is not None}))
    return result


def _convert_columns(specs) -> tuple[list[str], list[list], set[int]]:
    """Field names, their converted columns, and the indexes of rows with a problem."""
    names: list[str] = []
    outputs: list[list] = []
    bad: set[int] = set()
    for name, texts, fn in specs:
        out = _convert(texts, fn)
        if name == "email":
            out = [_MISSING_EMAIL if v is None else v for v in out]
        if fn is not None:
            bad.update(i for i, v in enumerate(out) if type(v) is _Bad)
        names.append(name)
        outputs.append(out)
    return names, outputs, bad
