"""What a back end answers (the ``Backend`` protocol) and the choice between them: ``memory`` (the snapshot),
``sql`` (pushdown) or ``auto`` (memory while the snapshot fits the memory budget, SQL once it would not)."""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from . import settings, store
from .errors import SegmenterError
from .evaluate import MemoryBackend
from .fields import Catalogue
from .operators import BOOLEAN, DATETIME, NUMBER, TEXT
from .order import Order
from .rules import Rules
from .snapshot import UNIQUE_TEXT, Snapshot
from .sql import SqlBackend

BACKENDS = ("auto", "memory", "sql")
log = logging.getLogger(__name__)


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

    def record_batches(self, rules: Rules, now: dt.datetime, batch: int = 10_000, *,
                       order: Order | None = None) -> Iterator[list[dict]]:
        """The matching contacts as ``page``'s records, at most ``batch`` at a time, in ``order``: a large result
        is never held whole (the JSON contacts endpoint streams it); at least one list (maybe empty)."""
        ...

    def breakdown(self, rules: Rules, now: dt.datetime, field: str, limit: int) -> list[dict]:
        """The matching contacts by ``field``: ``[{"value", "count"}]`` (``"values"`` too on ``(other)``), grouped
        and labelled by segmenter/breakdown.py; the same rows on every back end."""
        ...

    def total(self) -> int: ...

    def record(self, contact_id: int) -> dict | None: ...

    def find_email(self, email: str) -> dict | None: ...

    def top_values(self, field: str, limit: int) -> list[str]: ...


class AutoBackend:
    """In memory while the snapshot's estimated size fits the memory budget; SQL (pushdown) once it would not. The
    estimate is checked before the snapshot would load or grow, so a table too large for the budget is never read
    into memory. ``status()`` says which back end answers and why."""

    name = "auto"
    BACKGROUND_FROM = 200_000  # contacts; a snapshot this large loads in a background thread, SQL answering meanwhile

    def __init__(self, engine: Engine, snapshot: Snapshot, budget: MemoryBudget, limit: int | None = None):
        self.memory = MemoryBackend(snapshot)
        self.sql = SqlBackend(engine)
        self.snapshot = snapshot
        self.budget = budget
        self.limit = limit  # the deprecated contact count (memory_limit=, $SEGMENTER_MEMORY_LIMIT), None if unset
        self.in_sql = False
        self._rows = 0
        self.reason = "not decided yet: nothing has been asked"
        self.estimate = 0
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None
        self.load_error: str | None = None

    def current(self) -> Backend:
        with self._lock:
            if self.loading():
                return self.sql  # the snapshot is being read: SQL answers until it is ready
            if not self.in_sql and self._too_big():
                self.in_sql = True
                self.snapshot.release()
            if self.in_sql:
                return self.sql
            if self.snapshot.seq < 0 and self._rows >= self.BACKGROUND_FROM:
                self._start_loading()
                return self.sql
            return self.memory

    def loading(self) -> bool:
        """Whether a background load of the snapshot is running now."""
        return self._loader is not None and self._loader.is_alive()

    def _start_loading(self) -> None:
        def load() -> None:
            try:
                self.snapshot.refresh()
            except Exception as exc:  # the database went away mid-read, say: stay on SQL, say why
                log.warning("loading the snapshot failed; counts stay in SQL: %s", exc)
                self.load_error = f"{exc.__class__.__name__}: {exc}"
                with self._lock:
                    self.in_sql = True
                    self.reason = f"loading the snapshot failed ({self.load_error}); counts are answered in SQL"
                self.snapshot.release()

        self.snapshot.progress = {"rows": 0, "total": self._rows}
        self._loader = threading.Thread(target=load, name="segmenter-snapshot-load", daemon=True)
        self._loader.start()

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Wait for a background load (tests, scripts that want memory speed before they start); True when none
        is running any more."""
        loader = self._loader
        if loader is not None:
            loader.join(timeout)
        return not self.loading()

    def _too_big(self) -> bool:
        snap = self.snapshot
        with self.sql.engine.connect() as conn:
            if snap.seq >= 0:
                pending = max(0, store.change_watermark(conn) - snap.seq)  # rows added since at most (< 0: log emptied)
                rows = snap.alive_count + pending
                self.estimate = estimate_loaded(snap, rows)
            else:
                rows = store.count_contacts(conn)
                self.estimate = estimate_bytes(store.load_catalogue(conn), rows)
        self._rows = rows
        if self.limit is not None:
            too_big = rows > self.limit
            self.reason = (f"{rows:,} contacts {'above' if too_big else 'within'} the in-memory limit of "
                           f"{self.limit:,} contacts (deprecated SEGMENTER_MEMORY_LIMIT / memory_limit=)")
            return too_big
        too_big = self.estimate > self.budget.bytes
        self.reason = (f"snapshot of {rows:,} contacts estimated at {format_size(self.estimate)}, "
                       f"{'over' if too_big else 'within'} the memory budget of {self.budget.describe()}")
        return too_big

    def status(self) -> dict[str, Any]:
        """Which back end answers now and why: ``{"backend", "reason", "estimate_bytes", "budget_bytes",
        "budget"}`` (decided afresh, as before a count)."""
        current = self.current()
        loading = dict(self.snapshot.progress) if self.loading() else None
        reason = self.reason + ("; loading it into memory meanwhile, SQL answers until it is ready" if loading else "")
        return {"backend": current.name, "reason": reason, "estimate_bytes": self.estimate,
                "budget_bytes": self.budget.bytes, "budget": self.budget.describe(), "loading": loading}

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

    def record_batches(self, rules: Rules, now: dt.datetime, batch: int = 10_000, *,
                       order: Order | None = None) -> Iterator[list[dict]]:
        return self.current().record_batches(rules, now, batch, order=order)

    def breakdown(self, rules: Rules, now: dt.datetime, field: str, limit: int) -> list[dict]:
        return self.current().breakdown(rules, now, field, limit)

    def total(self) -> int:
        return self.current().total()

    def record(self, contact_id: int) -> dict | None:
        return self.current().record(contact_id)

    def find_email(self, email: str) -> dict | None:
        return self.current().find_email(email)

    def top_values(self, field: str, limit: int) -> list[str]:
        return self.current().top_values(field, limit)


def memory_limit(value: Any = None) -> int | None:
    """The deprecated contact count above which ``auto`` evaluates in SQL (``memory_limit=`` or
    ``$SEGMENTER_MEMORY_LIMIT`` as written); None when unset."""
    if value is None or value == "":
        return None
    try:
        limit = int(str(value).replace("_", "").replace(",", ""))
    except ValueError:
        limit = -1
    if limit < 0 or isinstance(value, bool):
        raise SegmenterError(f"the in-memory limit (SEGMENTER_MEMORY_LIMIT) must be a whole number of contacts "
                             f">= 0, got {value!r}")
    return limit


def make_backend(engine: Engine, snapshot: Snapshot, backend: str | None = None, limit: Any = None,
                 budget: MemoryBudget | None = None) -> Backend:
    """The back end for ``backend`` (an argument or ``$SEGMENTER_BACKEND``; None means ``auto``)."""
    mode = backend or "auto"
    if mode not in BACKENDS:
        raise SegmenterError(f"backend must be one of {', '.join(BACKENDS)} (argument or SEGMENTER_BACKEND), "
                             f"got {mode!r}")
    if mode == "memory":
        return MemoryBackend(snapshot)
    if mode == "sql":
        return SqlBackend(engine)
    return AutoBackend(engine, snapshot, budget or memory_budget(), memory_limit(limit))


# ---- the memory budget ---------------------------------------------------------------------------------------

BUDGET_SHARE = 0.25  # of the process's memory limit (cgroup) or, without one, of the machine's RAM
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


@dataclass(frozen=True)
class MemoryBudget:
    bytes: int
    source: str  # where the figure comes from, e.g. "SEGMENTER_MEMORY_BUDGET=2GB" or "25% of RAM (23.4 GB)"

    def describe(self) -> str:
        return f"{format_size(self.bytes)} ({self.source})"


def parse_size(value: Any) -> int:
    """``2GB``, ``500MB``, ``1.5 GiB``, ``800000000`` (bytes) → bytes; a SegmenterError naming the value else."""
    text = str(value).strip().upper().replace("_", "").replace(",", "")
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]I?B|B)?", text)
    if isinstance(value, bool) or not match:
        raise SegmenterError(f"the memory budget (SEGMENTER_MEMORY_BUDGET) must be a size such as 2GB, 500MB or "
                             f"a number of bytes, got {value!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2) or ""])


def format_size(n: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _cgroup_files(proc_cgroup: Path = Path("/proc/self/cgroup"), root: Path = Path("/sys/fs/cgroup")) -> list[Path]:
    """Where this process's cgroup memory limit may be written: its own cgroup's file (from /proc/self/cgroup)
    first, then the mount's root (inside a container the root is the container's cgroup)."""
    own: list[Path] = []
    try:
        for line in proc_cgroup.read_text().splitlines():
            _h, controllers, path = line.split(":", 2)
            rel = path.lstrip("/")
            if controllers == "":  # v2 unified
                own.append(root / rel / "memory.max")
            elif "memory" in controllers.split(","):
                own.append(root / "memory" / rel / "memory.limit_in_bytes")
    except (OSError, ValueError):
        pass
    return list(dict.fromkeys(own + [root / "memory.max", root / "memory" / "memory.limit_in_bytes"]))


def cgroup_limit(files: list[Path] | None = None) -> int | None:
    """The memory limit of this process's cgroup (v2 ``memory.max``, v1 ``memory.limit_in_bytes``); None when there
    is none (``max``, or v1's huge "unlimited" figure) or no file can be read."""
    for path in _cgroup_files() if files is None else files:
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and int(raw) < 2**62:  # v1 writes 9223372036854771712 for "no limit", v2 "max"
            return int(raw)
    return None


def machine_ram() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 * 10**9


def memory_budget(value: Any = None, *, cgroup: int | None | bool = False, ram: int | None = None) -> MemoryBudget:
    """The budget for this process's snapshot: ``value`` (``connect(memory_budget=)`` or
    ``$SEGMENTER_MEMORY_BUDGET``), else 25% of the cgroup memory limit, else 25% of the machine's RAM (the smaller
    of the two when both exist). ``cgroup``/``ram`` replace what the system says (tests)."""
    if value is None:
        value = settings.load().memory_budget
    if value is not None and value != "":
        return MemoryBudget(parse_size(value), f"SEGMENTER_MEMORY_BUDGET={value}")
    limit = cgroup_limit() if cgroup is False else cgroup
    total = machine_ram() if ram is None else ram
    if isinstance(limit, int) and not isinstance(limit, bool) and limit < total:
        return MemoryBudget(int(limit * BUDGET_SHARE), f"{BUDGET_SHARE:.0%} of the cgroup memory limit, "
                                                        f"{format_size(limit)}")
    return MemoryBudget(int(total * BUDGET_SHARE), f"{BUDGET_SHARE:.0%} of the machine's RAM, {format_size(total)}")


# Measured on the demo shape (bench/, 1M contacts, Snapshot.nbytes(); docs/performance.md): 97 bytes per contact
# in all — id 8 + alive 1; per text column a 4-byte code, plus about 41 bytes per distinct value (the value, its
# offset, its lower-cased copy when that differs: name, 59,136 distinct values, took 6.4 bytes per contact); email,
# every value distinct, 48.5 bytes per contact; numbers and datetimes 8, booleans 1.
BYTES_PER_ROW = {"id": 8 + 1, TEXT: 4, NUMBER: 8, DATETIME: 8, BOOLEAN: 1}
BYTES_PER_DISTINCT = 48  # measured 41, rounded up: a dictionary with longer values
DISTINCT_SHARE = 0.1  # distinct values per contact assumed for a text column before it is read (name: 0.06)
UNIQUE_TEXT_BYTES = 50  # email: every contact is a distinct value (measured 48.5 at about 22 characters)


def estimate_bytes(catalogue: Catalogue, rows: int) -> int:
    """The snapshot's size for ``rows`` contacts before it is loaded, from the per-contact and per-distinct-value
    figures above (generous: a column's distinct values are not known until it is read)."""
    total = rows * BYTES_PER_ROW["id"]
    for f in catalogue:
        if f.name == "id":
            continue
        total += rows * BYTES_PER_ROW[f.type]
        if f.type == TEXT:
            total += rows * (UNIQUE_TEXT_BYTES if f.name in UNIQUE_TEXT else int(BYTES_PER_DISTINCT * DISTINCT_SHARE))
    return total


def estimate_loaded(snapshot: Snapshot, rows: int) -> int:
    """The loaded snapshot's measured size, scaled to ``rows`` contacts (the figures above while it holds too few
    contacts for a measure to mean much)."""
    have = len(snapshot.ids)
    if have < 10_000:
        return max(snapshot.nbytes(), estimate_bytes(snapshot.catalogue, rows))
    return int(snapshot.nbytes() * max(rows, have) / have)
