"""What a back end answers (the ``Backend`` protocol) and the choice between them: ``memory`` (the snapshot),
``sql`` (pushdown) or ``auto`` (memory while the contacts fit, SQL once they outgrow it)."""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from . import store
from .errors import SegmenterError
from .evaluate import MemoryBackend
from .fields import Catalogue
from .order import Order
from .rules import Rules
from .snapshot import Snapshot
from .sql import SqlBackend

BACKENDS = ("auto", "memory", "sql")
DEFAULT_MEMORY_LIMIT = 2_000_000


class Backend(Protocol):
    """Answers about checked rules at one ``now``. Implemented by ``MemoryBackend``, ``SqlBackend``, ``AutoBackend``
    and the oracle's ``reference.ReferenceBackend``; every one must give the same answers (the parity tests)."""

    name: str

    def catalogue(self) -> Catalogue: ...

    def count(self, rules: Rules, now: dt.datetime) -> int: ...

    def funnel(self, rules: Rules, now: dt.datetime) -> list[int]: ...

    def count_many(self, rules: list[Rules], now: dt.datetime) -> list[int]:
        """The counts of several rule sets at one ``now`` over one state of the data (overlap, split)."""
        ...

    def member_ids(self, rules: Rules, now: dt.datetime) -> np.ndarray:
        """The ids of the matching contacts, ascending (membership records)."""
        ...

    def page(self, rules: Rules, now: dt.datetime, limit: int | None, offset: int, *,
             order: Order | None = None) -> list[dict]:
        """Rows ``offset`` .. ``offset + limit`` of the whole matching result in ``order`` (None: id order; SPEC §3
        *Order*: empty values last, ties by id ascending)."""
        ...

    def frames(self, rules: Rules, now: dt.datetime, batch: int = 50_000, *,
               order: Order | None = None) -> Iterator[pd.DataFrame]:
        """The matching contacts as DataFrames of at most ``batch`` rows, in ``order`` (None: id order); at least one
        (maybe empty)."""
        ...

    def breakdown(self, rules: Rules, now: dt.datetime, field: str, limit: int) -> list[tuple[str, int]]: ...

    def total(self) -> int: ...

    def record(self, contact_id: int) -> dict | None: ...

    def find_email(self, email: str) -> dict | None: ...

    def top_values(self, field: str, limit: int) -> list[str]: ...


class AutoBackend:
    """In memory while the contacts fit under ``limit``; SQL (pushdown) once they outgrow it. The count is checked
    before the snapshot would load or grow, so a large table is never read into memory."""

    name = "auto"

    def __init__(self, engine: Engine, snapshot: Snapshot, limit: int):
        self.memory = MemoryBackend(snapshot)
        self.sql = SqlBackend(engine)
        self.snapshot = snapshot
        self.limit = limit
        self.in_sql = False
        self._lock = threading.Lock()

    def current(self) -> Backend:
        with self._lock:
            if not self.in_sql and self._too_big():
                self.in_sql = True
                self.snapshot.release()
            return self.sql if self.in_sql else self.memory

    def _too_big(self) -> bool:
        snap = self.snapshot
        with self.sql.engine.connect() as conn:
            if snap.seq >= 0:
                pending = store.change_watermark(conn) - snap.seq  # at most this many rows were added since
                if 0 <= pending and snap.alive_count + pending <= self.limit:  # < 0: the log was emptied
                    return False
            return store.count_contacts(conn) > self.limit

    def catalogue(self) -> Catalogue:
        return self.current().catalogue()

    def count(self, rules: Rules, now: dt.datetime) -> int:
        return self.current().count(rules, now)

    def funnel(self, rules: Rules, now: dt.datetime) -> list[int]:
        return self.current().funnel(rules, now)

    def count_many(self, rules: list[Rules], now: dt.datetime) -> list[int]:
        return self.current().count_many(rules, now)

    def member_ids(self, rules: Rules, now: dt.datetime) -> np.ndarray:
        return self.current().member_ids(rules, now)

    def page(self, rules: Rules, now: dt.datetime, limit: int | None, offset: int, *,
             order: Order | None = None) -> list[dict]:
        return self.current().page(rules, now, limit, offset, order=order)

    def frames(self, rules: Rules, now: dt.datetime, batch: int = 50_000, *,
               order: Order | None = None) -> Iterator[pd.DataFrame]:
        return self.current().frames(rules, now, batch, order=order)

    def breakdown(self, rules: Rules, now: dt.datetime, field: str, limit: int) -> list[tuple[str, int]]:
        return self.current().breakdown(rules, now, field, limit)

    def total(self) -> int:
        return self.current().total()

    def record(self, contact_id: int) -> dict | None:
        return self.current().record(contact_id)

    def find_email(self, email: str) -> dict | None:
        return self.current().find_email(email)

    def top_values(self, field: str, limit: int) -> list[str]:
        return self.current().top_values(field, limit)


def memory_limit(value: Any = None) -> int:
    """The contact count above which ``auto`` evaluates in SQL: ``value`` (an argument or
    ``$SEGMENTER_MEMORY_LIMIT`` as written), else the default."""
    if value is None or value == "":
        return DEFAULT_MEMORY_LIMIT
    try:
        limit = int(str(value).replace("_", "").replace(",", ""))
    except ValueError:
        limit = -1
    if limit < 0 or isinstance(value, bool):
        raise SegmenterError(f"the in-memory limit (SEGMENTER_MEMORY_LIMIT) must be a whole number of contacts "
                             f">= 0, got {value!r}")
    return limit


def make_backend(engine: Engine, snapshot: Snapshot, backend: str | None = None, limit: Any = None) -> Backend:
    """The back end for ``backend`` (an argument or ``$SEGMENTER_BACKEND``; None means ``auto``)."""
    mode = backend or "auto"
    if mode not in BACKENDS:
        raise SegmenterError(f"backend must be one of {', '.join(BACKENDS)} (argument or SEGMENTER_BACKEND), "
                             f"got {mode!r}")
    if mode == "memory":
        return MemoryBackend(snapshot)
    if mode == "sql":
        return SqlBackend(engine)
    return AutoBackend(engine, snapshot, memory_limit(limit))
