"""Reading the contacts table column by column for the snapshot: ids as int64, text as Arrow strings (None for
empty), numbers as float64 (NaN empty), datetimes as int64 UTC microseconds (NAT empty), booleans as int8 (-1)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection

from .fields import Catalogue
from .operators import BOOLEAN, NUMBER, TEXT

NAT = np.iinfo(np.int64).min  # an empty datetime (microseconds since the epoch otherwise)
_SEP = 0x1F  # ASCII unit separator between values in one group_concat; a value holding it takes the slow path
STRING = pa.large_string()  # every text column and dictionary


def read(conn: Connection, catalogue: Catalogue, ids: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """(ids sorted ascending, {field: values}) for every contact, or for the given ids only."""
    fields = [f for f in catalogue if f.name != "id"]
    if conn.dialect.name == "sqlite":
        got = _read_sqlite(conn, fields, ids)
        if got is not None:
            return _sorted(*got)
    return _sorted(*_read_rows(conn, fields, ids))


def _where(ids: np.ndarray | None) -> str:
    if ids is None:
        return ""
    return " WHERE id IN (" + ",".join(str(int(i)) for i in ids) + ")" if len(ids) else " WHERE 0"


def _sorted(ids: np.ndarray, columns: dict) -> tuple[np.ndarray, dict]:
    if len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1])):
        return ids, columns
    order = np.argsort(ids, kind="stable")
    return ids[order], {k: (v.take(pa.array(order)) if isinstance(v, pa.Array) else v[order])
                        for k, v in columns.items()}


# ---- SQLite: each column aggregated into one string inside the database, split with numpy -----------------------

def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _aggregate(name: str, field_type: str) -> str:
    col = _quote(name)
    if field_type == NUMBER:
        # quote() prints a REAL so that it reads back to the same double (it is what .dump relies on)
        value = f"CASE WHEN typeof({col}) IN ('integer', 'real') THEN quote({col}) ELSE '' END"
    elif field_type == BOOLEAN:
        value = f"CASE WHEN {col} IS NULL THEN '' WHEN {col} THEN '1' ELSE '0' END"
    else:
        value = f"ifnull({col}, '')"
    return f"CAST(group_concat({value}, char(31)) AS BLOB)"


def _read_sqlite(conn: Connection, fields: list, ids: np.ndarray | None):
    """None when a value holds the separator or fails to parse (the row-by-row reader then answers)."""
    columns = [("id", NUMBER)] + [(f.name, f.type) for f in fields]
    sql = "SELECT count(*), " + ", ".join(_aggregate(n, t) for n, t in columns) + " FROM contacts" + _where(ids)
    row = conn.exec_driver_sql(sql).one()
    n = row[0]
    try:
        parts = [_split(blob, n) for blob in row[1:]]
        if any(p is None for p in parts):
            return None
        id_values = pc.cast(parts[0], pa.int64()).to_numpy(zero_copy_only=False)
        typed = {f.name: _typed(f.type, p) for f, p in zip(fields, parts[1:])}
    except (pa.ArrowInvalid, ValueError, OverflowError):
        return None
    return id_values, typed


def _split(blob: bytes | None, n: int) -> pa.Array | None:
    """``n`` values joined by the separator → an Arrow string array ('' as null); None if the count is off."""
    if n == 0:
        return pa.array([], type=STRING)
    buf = np.frombuffer(blob or b"", dtype=np.uint8)
    is_sep = buf == _SEP
    seps = np.flatnonzero(is_sep)
    if len(seps) != n - 1:
        return None
    data = buf[~is_sep] if len(seps) else buf
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:n] = seps + 1 - np.arange(1, n)
    offsets[n] = len(data)
    valid = np.diff(offsets) > 0
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    array = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data.tobytes()), bitmap,
                                             int(n - np.count_nonzero(valid)))
    array.validate(full=True)  # invalid UTF-8 raises ArrowInvalid: the slow path decides what to do with it
    return array


def _typed(field_type: str, values: pa.Array):
    if field_type == TEXT:
        return values
    if field_type == NUMBER:
        return pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
    if field_type == BOOLEAN:
        return pc.fill_null(pc.cast(values, pa.int8()), -1).to_numpy(zero_copy_only=False)
    return datetimes(values)


def datetimes(values) -> np.ndarray:
    """ISO 8601 text (naive = UTC) or datetime objects → int64 UTC microseconds; unparseable or empty → NAT."""
    if isinstance(values, pa.Array):
        series = pd.Series(values, dtype=pd.ArrowDtype(values.type))
    else:
        series = pd.Series(values, dtype=object)
    if len(series) == 0:
        return np.empty(0, dtype=np.int64)
    parsed = pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce")
    out = parsed.dt.as_unit("us").to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT"))
    return out.view(np.int64).copy()


# ---- any database: rows through the driver --------------------------------------------------------------------

def _read_rows(conn: Connection, fields: list, ids: np.ndarray | None) -> tuple[np.ndarray, dict]:
    names = ["id"] + [f.name for f in fields]
    quote = conn.dialect.identifier_preparer.quote
    sql = f"SELECT {', '.join(quote(n) for n in names)} FROM contacts{_where(ids)} ORDER BY id"
    rows = conn.exec_driver_sql(sql).fetchall()
    cols = list(zip(*rows)) if rows else [() for _ in names]
    id_values = np.array(cols[0], dtype=np.int64)
    return id_values, {f.name: convert(f.type, list(c)) for f, c in zip(fields, cols[1:])}


def convert(field_type: str, values: list[Any]):
    """Python values from a driver → the column shapes above."""
    if field_type == TEXT:
        return pa.array([None if v is None or v == "" else str(v) for v in values], type=STRING)
    if field_type == NUMBER:
        numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
        return numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    if field_type == BOOLEAN:
        return np.array([-1 if v is None else int(bool(v)) for v in values], dtype=np.int8)
    return datetimes(values)
