"""The in-memory contacts, one array per field, kept in step with the database through the change log.
Text is dictionary-encoded (codes + distinct values, lower-cased once) so a text rule is evaluated once per
distinct value; numbers, datetimes and booleans are plain numpy arrays."""
from __future__ import annotations

import bisect
import ctypes
import datetime as dt
import itertools
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from . import columnar_io, snapshot_cache, store
from .columnar_io import NAT
from .columnar_io import STRING as _STRING
from .fields import Catalogue
from .operators import BOOLEAN, DATETIME, NUMBER, TEXT

log = logging.getLogger("segmenter")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# whatever a damaged or foreign cache file can raise while it is read and applied: each means "read the table"
_CACHE_DOUBTS = (snapshot_cache.CacheError, OSError, pa.ArrowException, ValueError, IndexError, KeyError, TypeError)
LOOKUP_MAX = 250_000  # above this many distinct values a text column keeps no value → code dict (memory)
_GENERATIONS = itertools.count(1)


def to_micros(value: dt.datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=int(value))


class Growable:
    """A numpy array with spare room at the end, so appending k rows costs O(k), not a copy of the table."""

    def __init__(self, values: np.ndarray):
        # Arrow hands out read-only views; refresh writes in place, so own a writable buffer.
        self.buf = values if values.flags.writeable else values.copy()
        self.n = len(values)

    @property
    def view(self) -> np.ndarray:
        return self.buf[:self.n]

    def append(self, values: np.ndarray) -> None:
        need = self.n + len(values)
        if need > len(self.buf):
            grown = np.empty(max(need, len(self.buf) + len(self.buf) // 4 + 1024), dtype=self.buf.dtype)
            grown[:self.n] = self.view
            self.buf = grown
        self.buf[self.n:need] = values
        self.n = need

    def mutable(self) -> np.ndarray:
        """The view, copied first if it is read-only (arrays mapped from the cache file are copied on first write)."""
        if not self.buf.flags.writeable:
            self.buf = self.buf.copy()
        return self.view

    def replace(self, values: np.ndarray) -> None:
        self.buf = values
        self.n = len(values)


def python_lower(values: pa.Array) -> pa.Array:
    """``str.lower`` of every value: Arrow's ASCII lowering where a value is ASCII (the same result), Python's
    own ``str.lower`` for the others (Unicode rules such as 'İ' → 'i̇' are Python's, not ICU's)."""
    lowered = pc.ascii_lower(values)
    ascii_ = pc.fill_null(pc.string_is_ascii(values), True)
    if pc.all(ascii_).as_py() is False:
        odd = pc.invert(ascii_)
        fixed = pa.array([v.lower() for v in pc.filter(values, odd).to_pylist()], type=_STRING)
        lowered = pc.replace_with_mask(lowered, odd, fixed)
    return lowered


class TextColumn:
    """Codes into a dictionary of non-empty strings; code -1 is empty (NULL or ''). The dictionary may hold a value
    more than once (a unique column appends instead of looking values up); every code still maps to one value."""

    kind = TEXT

    def __init__(self, codes: np.ndarray, dictionary: pa.Array, *, unique: bool = False,
                 lowered: pa.Array | None = None):
        self.unique = unique
        self._start(codes, dictionary, lowered)

    def _start(self, codes: np.ndarray, dictionary: pa.Array, lowered: pa.Array | None = None) -> None:
        """(Re)set every row and the dictionary: on creation, and when ``_compact`` rebuilds the column."""
        # Codes keep their values while the dictionary only grows; a rebuild (_compact) or a reload starts a new
        # generation. Caches of per-value results (sampling's hashes) are valid within one generation.
        self.generation = next(_GENERATIONS)
        self._codes = Growable(codes)
        self._chunks: list[pa.Array] = []
        self._low_chunks: list[pa.Array] = []
        self._starts: list[int] = []
        self.size = 0
        self._pending: list[str] = []
        self._lookup: dict[str, int] | None = None
        self._add_chunk(dictionary.cast(_STRING) if dictionary.type != _STRING else dictionary, lowered)

    @classmethod
    def encode(cls, values: pa.Array, *, unique: bool = False) -> TextColumn:
        """Dictionary-encode Arrow strings (null and '' are empty)."""
        codes, dictionary = cls._encoded(values, unique)
        return cls(codes, dictionary, unique=unique)

    @staticmethod
    def _encoded(values: pa.Array, unique: bool) -> tuple[np.ndarray, pa.Array]:
        values = values.cast(_STRING) if values.type != _STRING else values
        empty = pc.fill_null(pc.equal(pc.binary_length(values), 0), True).to_numpy(zero_copy_only=False)
        if unique:  # every value distinct (email): the column is its own dictionary, no hashing needed
            codes = np.arange(len(values), dtype=np.int32)
            dictionary = pc.fill_null(values, "")
        else:
            encoded = pc.dictionary_encode(values)
            codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32)
            dictionary = encoded.dictionary
        codes[empty] = -1
        return codes, dictionary

    def parts(self, positions: np.ndarray | None = None) -> tuple[np.ndarray, pa.Array, pa.Array | None]:
        """(codes of all rows or of ``positions``, dictionary, lowered dictionary or None when it is the same)."""
        codes = self.codes if positions is None else self.codes[positions]
        lowered = self.lowered().combine_chunks()
        dictionary = self.dictionary().combine_chunks()
        same = all(low is chunk for low, chunk in zip(self._low_chunks, self._chunks))
        return codes, dictionary, None if same else lowered

    # ---- the dictionary ----
    def _add_chunk(self, chunk: pa.Array, lowered: pa.Array | None = None) -> None:
        if lowered is None:
            lowered = python_lower(chunk)
            # Share the buffers when lowering changes nothing (emails are stored lower-cased): half the memory.
            same = len(chunk) == 0 or pc.all(pc.equal(lowered, chunk)).as_py()
        else:
            same = lowered is chunk
        self._starts.append(self.size)
        self._chunks.append(chunk)
        self._low_chunks.append(chunk if same else lowered)
        self.size += len(chunk)
        if len(self._chunks) > 16:
            self._chunks = [pa.concat_arrays(self._chunks)]
            self._low_chunks = [pa.concat_arrays(self._low_chunks)]
            self._starts = [0]

    def _flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, []
            self.size -= len(pending)  # they were counted when their codes were handed out
            self._add_chunk(pa.array(pending, type=_STRING))

    def lowered(self) -> pa.ChunkedArray:
        """Every dictionary value lower-cased with Python's ``str.lower``, in code order."""
        self._flush()
        return pa.chunked_array(self._low_chunks, type=_STRING)

    def dictionary(self) -> pa.ChunkedArray:
        self._flush()
        return pa.chunked_array(self._chunks, type=_STRING)

    def value(self, code: int) -> str:
        self._flush()
        i = bisect.bisect_right(self._starts, code) - 1
        return self._chunks[i][code - self._starts[i]].as_py()

    def values_of(self, codes: np.ndarray) -> list[str | None]:
        """The values of the given codes (None for -1)."""
        codes = np.asarray(codes, dtype=np.int64)
        if len(codes) == 0:
            return []
        indices = pa.array(codes, mask=codes < 0)
        return self.dictionary().take(indices).to_pylist()

    def codes_equal_to(self, value: str) -> np.ndarray:
        """Every code whose value is exactly ``value`` (usually one)."""
        hit = pc.equal(self.dictionary(), value).to_numpy(zero_copy_only=False) if self.size else np.zeros(0, bool)
        return np.flatnonzero(hit)

    def value_counts(self, mask: np.ndarray) -> tuple[list[tuple[str, int]], int]:
        """(value, rows) for the rows under ``mask``, most common first (ties: first seen first), and the
        number of empty rows. Equal values under several codes are added up."""
        codes = self.codes[mask]
        empty = int(np.count_nonzero(codes < 0))
        counts = np.bincount(codes[codes >= 0], minlength=self.size)
        used = np.flatnonzero(counts)
        totals = pd.Series(counts[used]).groupby(pd.Index(self.values_of(used)), sort=False).sum()
        top = np.argsort(-totals.to_numpy(), kind="stable")
        return [(totals.index[i], int(totals.iloc[i])) for i in top], empty

    def _code_of(self, value: Any, current: int = -2) -> int:
        if value is None or value == "":
            return -1
        value = str(value)
        if self._lookup is None and not self.unique and self.size <= LOOKUP_MAX:
            self._flush()
            self._lookup = {v: i for i, v in enumerate(self.dictionary().to_pylist())}
        if self._lookup is not None:
            code = self._lookup.get(value)
            if code is not None:
                return code
        elif current >= 0 and self.value(current) == value:
            return current
        code = self.size
        self._pending.append(value)
        self.size += 1
        if self._lookup is not None:
            self._lookup[value] = code
            if self.size > LOOKUP_MAX:
                self._lookup = None
        return code

    # ---- rows ----
    @property
    def codes(self) -> np.ndarray:
        return self._codes.view

    def set(self, positions: np.ndarray, values: Sequence[Any]) -> None:
        current = self.codes[positions]
        self._codes.mutable()[positions] = [self._code_of(v, int(c)) for v, c in zip(values, current)]
        self._compact()

    def append(self, values: Sequence[Any]) -> None:
        self._codes.append(np.array([self._code_of(v) for v in values], dtype=np.int32))
        self._compact()

    def reorder(self, order: np.ndarray) -> None:
        self._codes.replace(self.codes[order])

    def _compact(self) -> None:
        # Values appended without a lookup (or orphaned by updates) pile up; rebuild when they outnumber the rows.
        if self.size > 2 * len(self.codes) + 4_096:
            values = self.dictionary().take(pa.array(self.codes, mask=self.codes < 0)).combine_chunks()
            self._start(*TextColumn._encoded(values, self.unique))

    def empty(self) -> np.ndarray:
        return self.codes < 0

    def take(self, positions: np.ndarray) -> list[str | None]:
        return self.values_of(self.codes[positions])

    def to_pandas(self, positions: np.ndarray) -> Any:
        return pd.array(self.take(positions), dtype="string")

    def nbytes(self) -> int:
        chunks = self._chunks + [c for c, o in zip(self._low_chunks, self._chunks) if c is not o]
        lookup = 0 if self._lookup is None else len(self._lookup) * 100  # dict slot + key object, roughly
        return self._codes.buf.nbytes + sum(c.nbytes for c in chunks) + sum(len(v) + 49 for v in self._pending) + lookup


class _ArrayColumn:
    """A numpy array with a sentinel for empty."""

    dtype: Any

    def __init__(self, values: np.ndarray):
        self._values = Growable(np.asarray(values, dtype=self.dtype))  # no copy when the type is right

    @property
    def values(self) -> np.ndarray:
        return self._values.view

    def set(self, positions: np.ndarray, values: np.ndarray) -> None:
        self._values.mutable()[positions] = values

    def append(self, values: np.ndarray) -> None:
        self._values.append(np.asarray(values, dtype=self.dtype))

    def reorder(self, order: np.ndarray) -> None:
        self._values.replace(self.values[order])

    def nbytes(self) -> int:
        return self._values.buf.nbytes


class NumberColumn(_ArrayColumn):
    kind = NUMBER
    dtype = np.float64

    def empty(self):
        return np.isnan(self.values)

    def take(self, positions):
        out = []
        for v in self.values[positions]:
            out.append(None if np.isnan(v) else (int(v) if v.is_integer() and abs(v) < 2**53 else float(v)))
        return out

    def to_pandas(self, positions: np.ndarray) -> Any:
        return self.values[positions]


class DatetimeColumn(_ArrayColumn):
    kind = DATETIME
    dtype = np.int64

    def empty(self):
        return self.values == NAT

    def take(self, positions):
        return [None if v == NAT else from_micros(v) for v in self.values[positions]]

    def to_pandas(self, positions: np.ndarray) -> Any:
        v = self.values[positions]
        return (pd.Series(np.where(v == NAT, np.datetime64("NaT"), v.view("datetime64[us]")).astype("datetime64[us]"))
                .dt.tz_localize("UTC"))


class BoolColumn(_ArrayColumn):
    kind = BOOLEAN
    dtype = np.int8

    def empty(self):
        return self.values < 0

    def take(self, positions):
        return [None if v < 0 else bool(v) for v in self.values[positions]]

    def to_pandas(self, positions: np.ndarray) -> Any:
        return pd.array([None if x < 0 else bool(x) for x in self.values[positions]], dtype="boolean")


COLUMN_CLASSES = {TEXT: TextColumn, NUMBER: NumberColumn, DATETIME: DatetimeColumn, BOOLEAN: BoolColumn}
UNIQUE_TEXT = frozenset({"email"})  # the store keeps these unique: no dictionary hashing at load


def make_column(name: str, field_type: str, values) -> Any:
    if field_type == TEXT:
        return TextColumn.encode(values, unique=name in UNIQUE_TEXT)
    return COLUMN_CLASSES[field_type](values)


def make_columns(fields: list, values: dict) -> dict[str, Any]:
    """Every field's column from the values read; a large table's columns are encoded on a few threads at once
    (Arrow's hashing and lowering run without the GIL)."""
    if len(fields) < 2 or not values or len(next(iter(values.values()))) < 100_000:
        return {f.name: make_column(f.name, f.type, values[f.name]) for f in fields}
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        built = pool.map(lambda f: make_column(f.name, f.type, values[f.name]), fields)
        return dict(zip([f.name for f in fields], built))


class Snapshot:
    """All contacts of one database in memory. ``refresh()`` brings it in step with the database, reading only
    the rows changed since the last refresh (or everything after a schema change or a very large change)."""

    FULL_RELOAD_FRACTION = 0.2
    READ_CHUNK = 5_000  # ids per incremental read
    cache_min_rows = 50_000  # smaller tables load from the database in well under a second: no cache file

    def __init__(self, engine: Engine):
        self.engine = engine
        self.lock = threading.RLock()
        self.catalogue = Catalogue()
        self.version = 0  # bumps whenever the data changes; keys caches of masks
        self.seq = -1  # the newest change-log entry applied (-1: nothing loaded)
        self.counter = 0  # the change log's counter when last read (store.changes_since)
        self.schema = ""  # store.schema_token when last loaded: a column added or dropped by anyone reloads
        self._may_have_ghosts = False  # the changes applied may hide rows deleted by SQLite's REPLACE
        self._ids = Growable(np.empty(0, dtype=np.int64))
        self._alive = Growable(np.empty(0, dtype=bool))
        self.columns: dict[str, Any] = {}
        self.alive_count = 0
        self.last_load: dict[str, Any] = {}  # how the last full load went (source, seconds), for bench/ and docs
        self.progress: dict[str, int] = {"rows": 0, "total": 0}  # of a full load from the database, while it runs

    # The arrays are views of growable buffers; assigning one (sql.AutoBackend frees memory that way) resets it.
    @property
    def ids(self) -> np.ndarray:
        return self._ids.view

    @ids.setter
    def ids(self, values: np.ndarray) -> None:
        self._ids = Growable(np.asarray(values, dtype=np.int64))

    @property
    def alive(self) -> np.ndarray:
        return self._alive.view

    @alive.setter
    def alive(self, values: np.ndarray) -> None:
        self._alive = Growable(np.asarray(values, dtype=bool))

    # ---- keeping in step ----
    def refresh(self) -> None:
        with self.lock, self.engine.connect() as conn:
            limit = max(1_000, int(self.alive_count * self.FULL_RELOAD_FRACTION))
            changed: set[int] | None = None
            if self.seq >= 0 and store.schema_token(conn) == self.schema:
                position, changed = store.changes_since(conn, store.LogPosition(self.seq, self.counter), limit)
            if changed is None:  # first use, a schema change (by anyone, even by hand), or the log cannot tell
                self._load_all(conn)
                _release_memory()  # after _load_all returned, so its raw columns are freed
            elif changed:
                self._apply(conn, changed)
                self.seq, self.counter = position
                self.version += 1
                try:
                    self._drop_ghosts(conn)
                except snapshot_cache.CacheError:  # pragma: no cover - see _drop_ghosts
                    self._load_all(conn)
            else:
                self.counter = position.counter

    def _drop_ghosts(self, conn) -> None:
        """SQLite's ``REPLACE`` (``INSERT OR REPLACE``, ``REPLACE INTO``, ``UPDATE OR REPLACE``) deletes the rows
        it replaces without firing delete triggers unless the writer's connection set ``recursive_triggers``, so
        the log never names them. Every insert and update is logged, so such a ghost is always an extra live row:
        after applying changes, a count that differs from the table's finds them, whatever the writer's pragmas."""
        maybe, self._may_have_ghosts = self._may_have_ghosts, False
        if not maybe or conn.dialect.name != "sqlite" or store.count_contacts(conn) == self.alive_count:
            return  # a REPLACE always brings a new id or moves an email: plain updates cost no count
        stored = np.fromiter(conn.exec_driver_sql("SELECT id FROM contacts ORDER BY id").scalars(), dtype=np.int64)
        if len(np.setdiff1d(stored, self.ids, assume_unique=True)):  # pragma: no cover - inserts are always logged
            raise snapshot_cache.CacheError("the table has rows the change log never named")
        gone = self.alive & ~np.isin(self.ids, stored, assume_unique=True)
        log.info("snapshot: %d contacts replaced by plain SQL without a delete trigger; dropped", int(gone.sum()))
        self.alive[gone] = False
        self.alive_count = int(np.count_nonzero(self.alive))

    def _load_all(self, conn) -> None:
        # Read the log position first: a change committed while we read is then seen again, never missed.
        started = time.perf_counter()
        self._may_have_ghosts = False
        self.schema = store.schema_token(conn)
        position = store.log_position(conn)
        self.catalogue = store.load_catalogue(conn)
        if not self._load_cache(conn, position):
            info: dict[str, Any] = {}
            self.progress = {"rows": 0, "total": max(self.progress["total"], 0)}
            ids, columns = columnar_io.read(conn, self.catalogue, info=info, progress=self._progressed)
            self._set(position.seq, ids, make_columns(self._fields(), columns))
            self.last_load = {"source": "database", "rows": len(ids), **info}
            self._save_cache(conn)
        self.counter = position.counter
        self.version += 1
        self.last_load["seconds"] = time.perf_counter() - started

    def _progressed(self, rows: int) -> None:
        self.progress = {"rows": rows, "total": max(rows, self.progress["total"])}

    def _fields(self):
        return [f for f in self.catalogue if f.name != "id"]

    def _set(self, seq: int, ids: np.ndarray, columns: dict) -> None:
        self.ids = ids
        self.alive = np.ones(len(ids), dtype=bool)
        self.alive_count = len(ids)
        self.columns = columns
        self.seq = seq

    # ---- the columnar copy on disk (SQLite files) ----
    def _schema(self) -> list[tuple[str, str]]:
        return [(f.name, f.type) for f in self._fields()]

    def _load_cache(self, conn, position: store.LogPosition) -> bool:
        """Start from the cache file and apply the changes since it was written; False to read the table. Any
        doubt about the file (checksum, metadata, shape, content) is logged and answered by reading the table."""
        path = snapshot_cache.path_for(self.engine)
        if not path or not path.exists():
            return False
        try:
            found = snapshot_cache.load(conn, path, self._schema(), position.seq)
            if found is None:
                return False
            seq, table = found
            limit = max(1_000, int(table.num_rows * self.FULL_RELOAD_FRACTION))
            # the counter is not kept in the file: entries after seq are checked one by one (SQLite has no gaps)
            now, changed = store.changes_since(conn, store.LogPosition(seq, seq), limit)
            if changed is None:
                return False
            columns = {}
            for f in self._fields():
                if f.type == TEXT:
                    codes, dictionary, lowered = snapshot_cache.text_parts(table, f.name)
                    column = TextColumn(codes, dictionary, unique=f.name in UNIQUE_TEXT,
                                        lowered=dictionary if lowered is None else lowered)
                else:
                    column = COLUMN_CLASSES[f.type](snapshot_cache.column_values(table, f.name))
                columns[f.name] = column
            self._set(seq, table.column("id").to_numpy(), columns)
            self._check_shape(table.num_rows)
            if changed:
                self._apply(conn, changed)
                self.seq = now.seq
                self._drop_ghosts(conn)
            if not self._spot_check(conn):
                raise snapshot_cache.CacheError("its rows differ from the table's")
        except _CACHE_DOUBTS as exc:
            log.warning("snapshot cache %s not used (%s); rebuilding it from the table", path, exc)
            self._set(-1, np.empty(0, dtype=np.int64), {})
            return False
        self.last_load = {"source": "cache", "rows": table.num_rows, "changes_applied": len(changed)}
        return True

    def _check_shape(self, rows: int) -> None:
        """Every column as long as the ids, ids ascending, text codes inside their dictionary."""
        ids = self.ids
        if len(ids) != rows or (len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1]))):
            raise snapshot_cache.CacheError("its ids are not in order")
        for name, column in self.columns.items():
            if isinstance(column, TextColumn):
                codes = column.codes
                if len(codes) != rows or (len(codes) and (codes.min() < -1 or codes.max() >= column.size)):
                    raise snapshot_cache.CacheError(f"column {name!r} points outside its dictionary")
            elif len(column.values) != rows:
                raise snapshot_cache.CacheError(f"column {name!r} has the wrong length")

    def _spot_check(self, conn, rows: int = 32) -> bool:
        """Whether a few rows spread over the snapshot, and the largest id, read the same from the database (a
        file recreated at the same path can repeat the inode and the change log, but not the data)."""
        live = np.flatnonzero(self.alive)
        pos = live[np.unique(np.linspace(0, len(live) - 1, min(rows, len(live))).astype(np.int64))]
        top = conn.exec_driver_sql("SELECT max(id) FROM contacts").scalar()
        if (top is None) != (len(live) == 0) or (len(live) and int(top) != int(self.ids[live[-1]])):
            return False
        ids, columns = columnar_io.read(conn, self.catalogue, self.ids[pos])
        if not np.array_equal(ids, self.ids[pos]):
            return False
        for name, column in self.columns.items():
            theirs = columns[name].to_pylist() if isinstance(column, TextColumn) else columns[name]
            if not _same(column.take(pos) if isinstance(column, TextColumn) else column.values[pos], theirs):
                return False
        return True

    def _save_cache(self, conn) -> None:
        path = snapshot_cache.path_for(self.engine)
        if path is None or self.alive_count < self.cache_min_rows:
            return
        keep = None if self.alive_count == len(self.ids) else np.flatnonzero(self.alive)
        columns = {name: c.parts(keep) if isinstance(c, TextColumn) else (c.values if keep is None else c.values[keep])
                   for name, c in self.columns.items()}
        ids = self.ids if keep is None else self.ids[keep]
        self.last_load["cache_written"] = snapshot_cache.save(conn, path, self.seq, self._schema(), ids, columns)

    def _apply(self, conn, changed: set[int]) -> None:
        """Apply the rows of the changed ids: update in place, append new ids, mark vanished ids deleted."""
        wanted = np.array(sorted(changed), dtype=np.int64)
        for start in range(0, len(wanted), self.READ_CHUNK):
            part = wanted[start:start + self.READ_CHUNK]
            ids, columns = columnar_io.read(conn, self.catalogue, part)
            self._apply_rows(part, ids, columns)
        self.alive_count = int(np.count_nonzero(self.alive))

    def _apply_rows(self, wanted: np.ndarray, ids: np.ndarray, columns: dict) -> None:
        gone = self._find(np.setdiff1d(wanted, ids, assume_unique=True))
        self.alive[gone[gone >= 0]] = False
        pos = self._find(ids)
        known = pos >= 0
        if not known.all():
            self._may_have_ghosts = True  # a new id: it may have replaced a row (SQLite REPLACE)
        if known.any():
            rows = np.flatnonzero(known)
            if not self._may_have_ghosts and "email" in self.columns:
                # an email moved onto another row: UPDATE OR REPLACE deletes the row that had it
                before = self.columns["email"].take(pos[known])
                self._may_have_ghosts = before != _subset(columns["email"], rows)
            self.alive[pos[known]] = True  # an id written again by plain SQL after a delete comes back
            for name, column in self.columns.items():
                column.set(pos[known], _subset(columns[name], rows))
        if not known.all():
            rows = np.flatnonzero(~known)
            ordered = len(self.ids) == 0 or ids[rows[0]] > self.ids[-1]
            self._ids.append(ids[rows])
            self._alive.append(np.ones(len(rows), dtype=bool))
            for name, column in self.columns.items():
                column.append(_subset(columns[name], rows))
            if not ordered:  # an id below the largest one (written by hand): keep the rows sorted by id
                self._sort()

    def _sort(self) -> None:
        order = np.argsort(self.ids, kind="stable")
        self._ids.replace(self.ids[order])
        self._alive.replace(self.alive[order])
        for column in self.columns.values():
            column.reorder(order)

    # ---- reading ----
    def _find(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of the given ids, deleted rows included (-1 where absent)."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(self.ids) == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return np.where(self.ids[pos] == ids, pos, -1)

    def positions_of(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of the given ids (-1 where absent or deleted)."""
        pos = self._find(ids)
        ok = pos >= 0
        ok[ok] = self.alive[pos[ok]]
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
            data[name] = column.to_pandas(positions)  # each column class knows its pandas type
        return pd.DataFrame(data).reset_index(drop=True)

    def release(self) -> None:
        """Free the memory held; the snapshot reloads from scratch if it is ever used again (the SQL back end took
        over, so keeping a copy of a table that outgrew memory would only waste it)."""
        with self.lock:
            self.ids = np.empty(0, dtype=np.int64)
            self.alive = np.empty(0, dtype=bool)
            self.columns = {}
            self.alive_count = 0
            self.seq = -1
            self.version += 1

    def nbytes(self) -> int:
        return self._ids.buf.nbytes + self._alive.buf.nbytes + sum(c.nbytes() for c in self.columns.values())


def _release_memory() -> None:
    """Give the scratch memory of a full load back to the system: Arrow's pool, and glibc's heap, which otherwise
    keeps the freed strings of a table read (about 150 MB at a million contacts)."""
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to trim
        pass


def _same(ours, theirs) -> bool:
    if isinstance(ours, list):
        return ours == theirs
    return bool(np.array_equal(ours, theirs, equal_nan=ours.dtype.kind == "f"))


def _subset(values, rows: np.ndarray):
    """The given rows of a column as read by ``columnar_io`` (an Arrow array for text, numpy otherwise)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.take(pa.array(rows)).to_pylist()
    return values[rows]
