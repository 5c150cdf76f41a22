"""The in-memory contacts, one array per field, kept in step with the database through the change log.
Text is dictionary-encoded (codes + distinct values, lower-cased once) so a text rule is evaluated once per
distinct value; numbers, datetimes and booleans are plain numpy arrays."""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine

from . import store
from .fields import CORE_FIELDS, Catalogue
from .operators import BOOLEAN, DATETIME, NUMBER, TEXT

NAT = np.iinfo(np.int64).min  # empty datetime
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def to_micros(value: dt.datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=int(value))


class TextColumn:
    """Codes into a dictionary of distinct non-empty strings; code -1 is empty (NULL or '')."""

    kind = TEXT

    def __init__(self, values: Sequence[Any]):
        series = pd.Series(values, dtype=object).replace("", None)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        self.codes = codes.astype(np.int32)
        self.dictionary: list[str] = [str(v) for v in uniques]
        self.lookup = {v: i for i, v in enumerate(self.dictionary)}
        self._lowered_chunks = [pa.array([v.lower() for v in self.dictionary], type=pa.large_string())]
        self._pending: list[str] = []

    def code_of(self, value: Any) -> int:
        if value is None or value == "":
            return -1
        value = str(value)
        code = self.lookup.get(value)
        if code is None:
            code = len(self.dictionary)
            self.dictionary.append(value)
            self.lookup[value] = code
            self._pending.append(value.lower())
        return code

    def lowered(self) -> pa.ChunkedArray:
        """Every distinct value lower-cased with Python's ``str.lower``, in code order."""
        if self._pending:
            self._lowered_chunks.append(pa.array(self._pending, type=pa.large_string()))
            self._pending = []
            if len(self._lowered_chunks) > 32:
                self._lowered_chunks = [pa.concat_arrays(self._lowered_chunks)]
        return pa.chunked_array(self._lowered_chunks, type=pa.large_string())

    def set(self, positions: np.ndarray, values: Iterable[Any]) -> None:
        self.codes[positions] = [self.code_of(v) for v in values]

    def append(self, values: Iterable[Any]) -> None:
        self.codes = np.concatenate([self.codes, np.array([self.code_of(v) for v in values], dtype=np.int32)])

    def empty(self) -> np.ndarray:
        return self.codes < 0

    def take(self, positions: np.ndarray) -> list[str | None]:
        d = self.dictionary
        return [d[c] if c >= 0 else None for c in self.codes[positions]]

    def nbytes(self) -> int:
        return self.codes.nbytes + sum(c.nbytes for c in self._lowered_chunks) + sum(len(v) + 49 for v in self.dictionary)


class _ArrayColumn:
    """A numpy array with a sentinel for empty."""

    dtype: Any
    sentinel: Any

    def __init__(self, values: Sequence[Any]):
        self.values = self.convert(values)

    def set(self, positions: np.ndarray, values: Iterable[Any]) -> None:
        self.values[positions] = self.convert(list(values))

    def append(self, values: Iterable[Any]) -> None:
        self.values = np.concatenate([self.values, self.convert(list(values))])

    def nbytes(self) -> int:
        return self.values.nbytes


class NumberColumn(_ArrayColumn):
    kind = NUMBER

    @staticmethod
    def convert(values):
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)

    def empty(self):
        return np.isnan(self.values)

    def take(self, positions):
        out = []
        for v in self.values[positions]:
            out.append(None if np.isnan(v) else (int(v) if v.is_integer() and abs(v) < 2**53 else float(v)))
        return out


class DatetimeColumn(_ArrayColumn):
    kind = DATETIME

    @staticmethod
    def convert(values):
        if len(values) == 0:
            return np.empty(0, dtype=np.int64)
        parsed = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601", errors="coerce")
        return parsed.dt.as_unit("us").to_numpy(dtype="datetime64[us]").view(np.int64).copy()

    def empty(self):
        return self.values == NAT

    def take(self, positions):
        return [None if v == NAT else from_micros(v) for v in self.values[positions]]


class BoolColumn(_ArrayColumn):
    kind = BOOLEAN

    @staticmethod
    def convert(values):
        return np.array([-1 if v is None else int(bool(v)) for v in values], dtype=np.int8)

    def empty(self):
        return self.values < 0

    def take(self, positions):
        return [None if v < 0 else bool(v) for v in self.values[positions]]


COLUMN_CLASSES = {TEXT: TextColumn, NUMBER: NumberColumn, DATETIME: DatetimeColumn, BOOLEAN: BoolColumn}


class Snapshot:
    """All contacts of one database in memory. ``refresh()`` brings it in step with the database, reading only
    the rows changed since the last refresh (or everything after a schema change or a very large change)."""

    FULL_RELOAD_FRACTION = 0.2

    def __init__(self, engine: Engine):
        self.engine = engine
        self.lock = threading.RLock()
        self.catalogue = Catalogue()
        self.version = 0  # bumps whenever the data changes; keys caches of masks
        self.seq = -1
        self.ids = np.empty(0, dtype=np.int64)
        self.alive = np.empty(0, dtype=bool)
        self.columns: dict[str, Any] = {}
        self.alive_count = 0

    # ---- keeping in step ----
    def refresh(self) -> None:
        with self.lock, self.engine.connect() as conn:
            limit = max(1_000, int(self.alive_count * self.FULL_RELOAD_FRACTION))
            top, changed = store.changes_since(conn, self.seq, limit) if self.seq >= 0 else (None, None)
            if changed is None:
                self._load_all(conn)
            elif changed:
                self._apply(conn, changed)
                self.seq = top
                self.version += 1

    def _select(self, conn, where_ids: list[int] | None):
        names = [f.name for f in self.catalogue]
        table = store.table_for(self.catalogue)
        cols = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
        sql = f"SELECT {cols} FROM {table.name}"
        if where_ids is not None:
            sql += " WHERE id IN (" + ",".join(str(int(i)) for i in where_ids) + ")"
        sql += " ORDER BY id"
        cursor = conn.exec_driver_sql(sql)
        rows = cursor.fetchall()
        return names, (list(col) for col in zip(*rows)) if rows else (list() for _ in names)

    def _load_all(self, conn) -> None:
        # Read the watermark first: a change committed while we read is then seen again, never missed.
        top = store.change_watermark(conn)
        self.catalogue = store.load_catalogue(conn)
        names, columns = self._select(conn, None)
        columns = dict(zip(names, columns))
        self.ids = np.array(columns.pop("id"), dtype=np.int64)
        self.alive = np.ones(len(self.ids), dtype=bool)
        self.alive_count = len(self.ids)
        self.columns = {f.name: COLUMN_CLASSES[f.type](columns[f.name]) for f in self.catalogue if f.name != "id"}
        self.seq = top
        self.version += 1

    def _apply(self, conn, changed: set[int]) -> None:
        ids = sorted(changed)
        found: dict[str, list] = {}
        for i in range(0, len(ids), 5_000):
            names, cols = self._select(conn, ids[i:i + 5_000])
            for name, col in zip(names, cols):
                found.setdefault(name, []).extend(col)
        present = np.array(found.get("id", []), dtype=np.int64)
        pos = self.positions_of(present)
        existing = pos >= 0
        gone = np.setdiff1d(np.array(ids, dtype=np.int64), present)
        gone_pos = self.positions_of(gone)
        self.alive[gone_pos[gone_pos >= 0]] = False
        for name, column in self.columns.items():
            values = found.get(name, [])
            if existing.any():
                column.set(pos[existing], [v for v, e in zip(values, existing) if e])
        new = ~existing
        if new.any():
            new_ids = present[new]
            self.ids = np.concatenate([self.ids, new_ids])
            self.alive = np.concatenate([self.alive, np.ones(len(new_ids), dtype=bool)])
            for name, column in self.columns.items():
                column.append([v for v, n in zip(found[name], new) if n])
            if len(self.ids) > 1 and not np.all(self.ids[1:] > self.ids[:-1]):
                self._sort()
        self.alive_count = int(self.alive.sum())

    def _sort(self) -> None:
        order = np.argsort(self.ids, kind="stable")
        self.ids = self.ids[order]
        self.alive = self.alive[order]
        for column in self.columns.values():
            if isinstance(column, TextColumn):
                column.codes = column.codes[order]
            else:
                column.values = column.values[order]

    # ---- reading ----
    def positions_of(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of the given ids (-1 where absent or deleted)."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(self.ids) == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.searchsorted(self.ids, ids)
        pos = np.minimum(pos, len(self.ids) - 1)
        ok = (self.ids[pos] == ids) & self.alive[pos]
        return np.where(ok, pos, -1)

    def records(self, positions: np.ndarray) -> list[dict]:
        """Contacts at the given positions as JSON-ready dicts in SPEC's key order (datetimes as datetime)."""
        positions = np.asarray(positions, dtype=np.int64)
        cols = {"id": [int(i) for i in self.ids[positions]]}
        for name, column in self.columns.items():
            cols[name] = column.take(positions)
        keys = list(cols)
        return [dict(zip(keys, vals)) for vals in zip(*cols.values())]

    def frame(self, positions: np.ndarray) -> pd.DataFrame:
        """Contacts at the given positions as a typed DataFrame (for notebooks and CSV export)."""
        positions = np.asarray(positions, dtype=np.int64)
        data: dict[str, Any] = {"id": self.ids[positions]}
        for name, column in self.columns.items():
            if isinstance(column, TextColumn):
                data[name] = pd.array(column.take(positions), dtype="string")
            elif isinstance(column, NumberColumn):
                data[name] = column.values[positions]
            elif isinstance(column, DatetimeColumn):
                v = column.values[positions]
                data[name] = pd.Series(np.where(v == NAT, np.datetime64("NaT"), v.view("datetime64[us]"))
                                       .astype("datetime64[us]")).dt.tz_localize("UTC")
            else:
                v = column.values[positions]
                data[name] = pd.array([None if x < 0 else bool(x) for x in v], dtype="boolean")
        return pd.DataFrame(data).reset_index(drop=True)

    def nbytes(self) -> int:
        return self.ids.nbytes + self.alive.nbytes + sum(c.nbytes() for c in self.columns.values())
