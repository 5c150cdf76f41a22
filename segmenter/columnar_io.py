"""Reading the contacts table column by column for the snapshot: ids as int64, text as Arrow strings (None for
empty), numbers as float64 (NaN empty), datetimes as int64 UTC microseconds (NAT empty), booleans as int8 (-1).

On PostgreSQL a full read goes through ADBC (``adbc-driver-postgresql``: ``COPY … TO STDOUT (FORMAT BINARY)``,
decoded into Arrow record batches in C, never Python objects). SQLite keeps its own reader (each column aggregated
inside the database, split with numpy): the ADBC SQLite driver links a second copy of the SQLite library, and two
copies in one process break each other's POSIX file locks ("disk I/O error" in the tests, and a corruption risk
SQLite's documentation warns of). A few ids (the change log's), and anything the Arrow path cannot read, go
through the row reader, which gives the same columns."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection

from .fields import Catalogue
from .operators import BOOLEAN, DATETIME, NUMBER, TEXT

NAT = np.iinfo(np.int64).min  # an empty datetime (microseconds since the epoch otherwise)
_SEP = 0x1F  # ASCII unit separator between values in one group_concat; a value holding it takes the slow path
STRING = pa.large_string()  # every text column and dictionary


Progress = Callable[[int], None]  # told the rows read so far while a full read runs
log = logging.getLogger(__name__)


def read(conn: Connection, catalogue: Catalogue, ids: np.ndarray | None = None,
         progress: Progress | None = None, info: dict | None = None) -> tuple[np.ndarray, dict]:
    """(ids sorted ascending, {field: values}) for every contact, or for the given ids only. ``info["reader"]``
    is set to the reader that answered (``adbc``, ``sqlite-columns`` or ``rows``)."""
    fields = [f for f in catalogue if f.name != "id"]
    info = {} if info is None else info
    if ids is None:
        got = read_arrow(conn, fields, progress)
        if got is not None:
            info["reader"] = "adbc"
            return _sorted(*got)
    if conn.dialect.name == "sqlite":
        got = _read_sqlite(conn, fields, ids)
        if got is not None:
            info["reader"] = "sqlite-columns"
            if progress:
                progress(len(got[0]))
            return _sorted(*got)
    info["reader"] = "rows"
    got = _read_rows(conn, fields, ids)
    if progress:
        progress(len(got[0]))
    return _sorted(*got)


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


# ---- ADBC: the table as Arrow record batches ------------------------------------------------------------------

def _adbc_connect(conn: Connection):
    """An ADBC connection to the PostgreSQL database ``conn`` is on (a new one: ADBC has its own driver); None for
    another dialect or without the driver."""
    url = conn.engine.url
    try:
        if conn.dialect.name == "postgresql":
            import adbc_driver_postgresql.dbapi as adbc_pg
            return adbc_pg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    except ImportError:
        return None
    return None


def _arrow_select(dialect: str, fields: list) -> str:
    """One SELECT whose columns already have the snapshot's Arrow types as far as the database can give them."""
    cols = ["id"] + [_quote(f.name) for f in fields]
    return f"SELECT {', '.join(cols)} FROM contacts ORDER BY id"


def read_arrow(conn: Connection, fields: list, progress: Progress | None = None) -> tuple[np.ndarray, dict] | None:
    """Every contact through ADBC; None when ADBC is not available for this database or the rows do not convert
    (the caller then reads the slower way)."""
    adbc = _adbc_connect(conn)
    if adbc is None:
        return None
    try:
        with adbc, adbc.cursor() as cur:
            cur.execute(_arrow_select(conn.dialect.name, fields))
            reader = cur.fetch_record_batch()
            batches, rows = [], 0
            for batch in reader:
                batches.append(batch)
                rows += batch.num_rows
                if progress:
                    progress(rows)
            table = pa.Table.from_batches(batches, schema=reader.schema)
        ids = pc.cast(table.column(0), pa.int64()).to_numpy()
        columns = {f.name: _from_arrow(f.type, table.column(i + 1)) for i, f in enumerate(fields)}
    except Exception as exc:  # a driver error or a value of an unexpected type: the row readers handle every case
        log.info("ADBC read failed, reading rows instead: %s", exc)
        return None
    return ids, columns


def _from_arrow(field_type: str, column: pa.ChunkedArray):
    """An Arrow column as ADBC gives it → the snapshot's shape for the field's type."""
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_null(values.type):
        values = values.cast(STRING if field_type in (TEXT, DATETIME) else pa.float64())
    if field_type == TEXT:
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            values = values.cast(STRING)
            return pc.if_else(pc.equal(pc.binary_length(values), 0), pa.scalar(None, STRING), values)
        raise TypeError(f"text column arrived as {values.type}")
    if field_type == NUMBER:
        return pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
    if field_type == BOOLEAN:
        return pc.fill_null(pc.cast(values, pa.int8()), -1).to_numpy(zero_copy_only=False)
    if pa.types.is_timestamp(values.type):
        micros = pc.cast(pc.cast(values, pa.timestamp("us", tz="UTC")), pa.int64())
        return pc.fill_null(micros, NAT).to_numpy(zero_copy_only=False)
    return datetimes(values.cast(STRING))


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
