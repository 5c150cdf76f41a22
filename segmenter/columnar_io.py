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
import os
import threading
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
    if name == "id":  # INTEGER PRIMARY KEY: always an integer, printed as one
        return "CAST(group_concat(id, char(31)) AS BLOB)"
    if field_type == NUMBER:
        # quote() prints a REAL so that it reads back to the same double (it is what .dump relies on)
        value = f"CASE WHEN typeof({col}) IN ('integer', 'real') THEN quote({col}) ELSE '' END"
    elif field_type == BOOLEAN:
        value = f"CASE WHEN {col} IS NULL THEN '' WHEN {col} THEN '1' ELSE '0' END"
    else:
        value = f"ifnull({col}, '')"
    return f"CAST(group_concat({value}, char(31)) AS BLOB)"


PARALLEL_FROM = 200_000  # contacts; a full read of a SQLite file this large is split over connections and threads
_COST = {TEXT: 3, DATETIME: 3, BOOLEAN: 3, NUMBER: 5}  # relative cost of one column's aggregate (measured)
_CANONICAL = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$"  # how SQLAlchemy stores a DateTime on SQLite


def _read_sqlite(conn: Connection, fields: list, ids: np.ndarray | None):
    """None when a value holds the separator or fails to parse (the row-by-row reader then answers)."""
    columns = [("id", NUMBER)] + [(f.name, f.type) for f in fields]
    if ids is None and _parallel(conn):
        got = _read_sqlite_parallel(conn, columns)
        if got is not _RETRY:
            return got
    try:
        found = _aggregated(conn, columns, _where(ids))
    except (pa.ArrowInvalid, ValueError, OverflowError):
        return None
    if found is None:
        return None
    return _assemble(fields, found[2])


_RETRY = object()


def _parallel(conn: Connection) -> bool:
    """Whether a full read may use a second connection: a SQLite file (an in-memory database is one connection's
    own) with enough rows for two threads to pay off (SQLite and Arrow work without the GIL)."""
    database = conn.engine.url.database or ""
    if database in ("", ":memory:") or "mode=memory" in database or (os.cpu_count() or 1) < 2:
        return False
    return _rows_bound(conn) >= PARALLEL_FROM


def _rows_bound(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT max(id) FROM contacts").scalar() or 0)  # an estimate, from the index


def _aggregated(conn: Connection, columns: list[tuple[str, str]], where: str = ""):
    """(rows, log watermark, {name: typed values}) for the given columns, aggregated in one statement (one consistent
    view of the table); None when a value cannot take the fast path."""
    sql = ("SELECT count(*), (SELECT coalesce(max(seq), 0) FROM contact_changes), "
           + ", ".join(_aggregate(n, t) for n, t in columns) + " FROM contacts" + where)
    row = conn.exec_driver_sql(sql).one()
    n, mark = row[0], row[1]
    out = {}
    for (name, field_type), blob in zip(columns, row[2:]):
        values = _split(blob, n)
        if values is None:
            return None
        out[name] = pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False) if name == "id" else \
            _typed(field_type, values)
    return n, mark, out


def _read_sqlite_parallel(conn: Connection, columns: list[tuple[str, str]]):
    """The columns in two groups of similar cost, one on ``conn`` and one on a second connection in a thread; each
    group is one statement, so each is consistent, and both are the same table when the change log's newest entry
    (every write to contacts adds one, a schema change too) and the row count agree. _RETRY when they do not."""
    groups: list[list[tuple[str, str]]] = [[], []]
    costs = [0, 0]
    for column in sorted(columns, key=lambda c: -_COST[c[1]]):
        i = costs.index(min(costs))
        groups[i].append(column)
        costs[i] += _COST[column[1]]
    results: list[Any] = [None, None]

    def other() -> None:
        try:
            with conn.engine.connect() as second:
                results[1] = _aggregated(second, groups[1])
        except Exception as exc:  # noqa: BLE001 - reported to the caller's thread below
            results[1] = exc

    worker = threading.Thread(target=other, name="segmenter-read", daemon=True)
    worker.start()
    try:
        results[0] = _aggregated(conn, groups[0])
    except (pa.ArrowInvalid, ValueError, OverflowError):
        results[0] = None
    finally:
        worker.join()
    if isinstance(results[1], (pa.ArrowInvalid, ValueError, OverflowError)):
        return None
    if isinstance(results[1], Exception):
        log.info("parallel read failed, reading on one connection: %s", results[1])
        return _RETRY
    if results[0] is None or results[1] is None:
        return None
    (n0, mark0, first), (n1, mark1, second) = results
    if (n0, mark0) != (n1, mark1):
        return _RETRY  # a write was committed between the two statements: read again on one connection
    return _assemble([c for c in columns[1:]], {**first, **second}, named=True)


def _assemble(fields: list, typed: dict, named: bool = False) -> tuple[np.ndarray, dict]:
    names = [f[0] for f in fields] if named else [f.name for f in fields]
    return typed["id"], {name: typed[name] for name in names}


def _split(blob: bytes | None, n: int) -> pa.Array | None:
    """``n`` values joined by the separator → an Arrow string array ('' as null); None if the count is off. Split
    in C by Arrow over the bytes as SQLite handed them (no copy); invalid UTF-8 raises ArrowInvalid."""
    if n == 0:
        return pa.array([], type=STRING)
    blob = blob or b""
    whole = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), 1, [None, pa.py_buffer(np.array([0, len(blob)], dtype=np.int64)), pa.py_buffer(blob)])
    values = pc.split_pattern(whole, "\x1f").values
    if len(values) != n:
        return None
    values = values.cast(STRING)  # validates the UTF-8
    return pc.if_else(pc.equal(pc.binary_length(values), 0), pa.scalar(None, STRING), values)


def _typed(field_type: str, values: pa.Array):
    if field_type == TEXT:
        return values
    if field_type == NUMBER:
        return pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
    if field_type == BOOLEAN:
        return pc.fill_null(pc.cast(values, pa.int8()), -1).to_numpy(zero_copy_only=False)
    return datetimes(values)


_PANDAS_RANGE = (np.datetime64("1677-09-22", "us").astype(np.int64), np.datetime64("2262-04-11", "us").astype(np.int64))


def _arrow_datetimes(values: pa.Array) -> np.ndarray | None:
    """The common case in C: every value as SQLAlchemy stores it on SQLite (``YYYY-MM-DD HH:MM:SS[.ffffff]``, UTC),
    parsed by Arrow. None (pandas decides) for anything else, an invalid date, or a year pandas may not hold, so
    the answer is always pandas' own."""
    if values.null_count == len(values) or not pc.all(pc.match_substring_regex(values, _CANONICAL)).as_py():
        return None
    try:
        micros = pc.cast(pc.cast(values, pa.timestamp("us")), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    low, high = pc.min_max(micros).values()
    if low.as_py() < _PANDAS_RANGE[0] or high.as_py() > _PANDAS_RANGE[1]:
        return None
    return pc.fill_null(micros, NAT).to_numpy(zero_copy_only=False)


def datetimes(values) -> np.ndarray:
    """ISO 8601 text (naive = UTC) or datetime objects → int64 UTC microseconds; unparseable or empty → NAT."""
    if isinstance(values, pa.Array):
        fast = _arrow_datetimes(values) if pa.types.is_large_string(values.type) and len(values) else None
        if fast is not None:
            return fast
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
