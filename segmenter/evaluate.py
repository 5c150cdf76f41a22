"""The in-memory back end: checked rules → a boolean mask over the snapshot's rows.
A text rule is evaluated once per distinct value and mapped back through the codes; each rule's mask is cached
for the snapshot's version, so the funnel and a re-run with one rule edited reuse the others."""
from __future__ import annotations

import datetime as dt
import functools
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import breakdown as bd
from . import sampling
from .operators import BoolPred, EmptyPred, RangePred, TextKind, TextPred
from .order import Order, memory_order
from .rules import Condition, Group, Node, Rules, Sample, SegmentRef
from .snapshot import NAT, BoolColumn, DatetimeColumn, Snapshot, TextColumn, to_micros

_CACHE_SIZE = 64


_PARALLEL_FROM = 100_000  # dictionary entries; below this, handing work to threads costs more than it saves


@functools.cache
def _threads() -> tuple[ThreadPoolExecutor, int]:
    workers = min(os.cpu_count() or 1, 4)
    return ThreadPoolExecutor(workers, thread_name_prefix="segmenter-text"), workers


def _per_value(lowered: pa.ChunkedArray, pred: TextPred) -> np.ndarray:
    """The predicate on each lower-cased dictionary value."""
    if len(lowered) == 0:
        return np.zeros(0, dtype=bool)
    return _TEXT_KERNELS[pred.kind](lowered, pred.values).to_numpy(zero_copy_only=False)


# One Arrow kernel per text predicate kind (TextPred refuses any other kind).
_TEXT_KERNELS: dict[TextKind, Callable[[pa.ChunkedArray, tuple[str, ...]], pa.ChunkedArray]] = {
    "equals": lambda lowered, values: pc.equal(lowered, values[0]),
    "contains": lambda lowered, values: pc.match_substring(lowered, values[0]),
    "starts_with": lambda lowered, values: pc.starts_with(lowered, values[0]),
    "ends_with": lambda lowered, values: pc.ends_with(lowered, values[0]),
    "in": lambda lowered, values: pc.is_in(lowered, value_set=pa.array(values, type=pa.large_string())),
}


def _text_values(column: TextColumn, pred: TextPred) -> np.ndarray:
    lowered = column.lowered()
    n = len(lowered)
    pool, workers = _threads()
    if n >= _PARALLEL_FROM and workers > 1:
        # A big dictionary (a unique column such as email): Arrow's kernels release the GIL, so slices run at once.
        step = -(-n // workers)
        per_value = np.concatenate(list(pool.map(lambda start: _per_value(lowered.slice(start, step), pred),
                                                 range(0, n, step))))
    else:
        per_value = _per_value(lowered, pred)
    # One entry per code plus a False at the end, which code -1 (empty) reads.
    lut = np.zeros(n + 1, dtype=bool)
    lut[:-1] = per_value
    codes = column.codes
    return _by_slices(len(codes), lambda start, stop, out: lut.take(codes[start:stop], out=out))


_PARALLEL_ROWS = 500_000  # rows; numpy releases the GIL, so a big mask is filled one slice per thread


def _by_slices(n: int, fill) -> np.ndarray:
    """A boolean mask of ``n`` rows written by ``fill(start, stop, out)``; a big one in slices on the threads."""
    out = np.empty(n, dtype=bool)
    pool, workers = _threads()
    if n < _PARALLEL_ROWS or workers == 1:
        fill(0, n, out)
        return out
    step = -(-n // workers)
    list(pool.map(lambda start: fill(start, min(start + step, n), out[start:start + step]), range(0, n, step)))
    return out


_LOWER = {True: np.greater_equal, False: np.greater}
_UPPER = {True: np.less_equal, False: np.less}


def _range(values: np.ndarray, pred: RangePred, convert, sentinel=None) -> np.ndarray:
    """Where ``lo (<|<=) x (<|<=) hi``. Empty values never pass a lower bound (NaN compares False; the datetime
    ``sentinel`` is the smallest int64), so the sentinel is only tested when there is no lower bound."""
    lo = None if pred.lo is None else convert(pred.lo)
    hi = None if pred.hi is None else convert(pred.hi)

    def fill(start: int, stop: int, out: np.ndarray) -> None:
        part = values[start:stop]
        if lo is not None:
            _LOWER[pred.lo_inclusive](part, lo, out=out)
            if hi is not None:
                out &= _UPPER[pred.hi_inclusive](part, hi)
        else:
            assert hi is not None  # a range has at least one bound (operators.py builds none without)
            _UPPER[pred.hi_inclusive](part, hi, out=out)
            if sentinel is not None:
                out &= part != sentinel

    return _by_slices(len(values), fill)


def _positive(column, pred) -> np.ndarray:
    """Where the predicate holds; always False on empty fields."""
    if isinstance(pred, TextPred):
        return _text_values(column, pred)
    if isinstance(pred, RangePred):
        if isinstance(column, DatetimeColumn):
            return _range(column.values, pred, to_micros, NAT)
        return _range(column.values, pred, float)  # NaN (empty) compares False with any bound
    if isinstance(pred, BoolPred):
        return column.values == int(pred.value)
    raise TypeError(pred)  # pragma: no cover


class MaskCache:
    """Masks of single rules for one snapshot version (an LRU of a few dozen)."""

    def __init__(self):
        self.version = None
        self.masks: OrderedDict = OrderedDict()

    def get(self, snapshot: Snapshot, key, compute) -> np.ndarray:
        if self.version != snapshot.version:
            self.masks.clear()
            self.version = snapshot.version
        mask = self.masks.get(key)
        if mask is None:
            mask = compute()
            self.masks[key] = mask
            if len(self.masks) > _CACHE_SIZE:
                self.masks.popitem(last=False)
        else:
            self.masks.move_to_end(key)
        return mask


def condition_mask(cond: Condition, snap: Snapshot, now: dt.datetime, cache: MaskCache | None = None) -> np.ndarray:
    pred = cond.pred(now)

    def compute():
        if cond.field == "id":
            column_empty = np.zeros(len(snap.ids), dtype=bool)
            hit = _range(snap.ids, pred, float) if isinstance(pred, RangePred) else column_empty
        else:
            column = snap.columns[cond.field]
            hit = column.empty() if isinstance(pred, EmptyPred) else _positive(column, pred)
        return ~hit if cond.negate else hit

    if cache is None:
        return compute()
    return cache.get(snap, (cond.field, cond.operator.key, pred), compute)


def node_mask(node: Node, snap: Snapshot, now: dt.datetime, cache: MaskCache | None = None) -> np.ndarray:
    if isinstance(node, Group):
        masks = [node_mask(m, snap, now, cache) for m in node.members]
        return np.logical_or.reduce(masks) if node.match == "any" else np.logical_and.reduce(masks)
    if isinstance(node, SegmentRef):
        # The referenced rules' mask, cached as a whole under a key made of their predicates at this `now` (so a
        # relative date or a changed rule is a new key), on top of each rule's own cached mask.
        return _cached(cache, snap, ("segment", node.negate, node_key(node.rules.nodes, now)),
                       lambda: _segment_mask(node, snap, now, cache))
    if isinstance(node, Sample):
        return _cached(cache, snap, ("sample", node.salt, node.lo, node.hi),
                       lambda: sampling.memory_mask(snap.columns["email"], node.salt, node.lo, node.hi))
    return condition_mask(node, snap, now, cache)


def _segment_mask(node: SegmentRef, snap: Snapshot, now: dt.datetime, cache: MaskCache | None) -> np.ndarray:
    inner = np.ones(len(snap.ids), dtype=bool)
    for member in node.rules.nodes:
        inner &= node_mask(member, snap, now, cache)
    return ~inner if node.negate else inner


def node_key(nodes, now: dt.datetime) -> tuple:
    """A hashable key of checked nodes as evaluated at ``now``."""
    out: list = []
    for n in nodes:
        if isinstance(n, Group):
            out.append(("group", n.match, node_key(n.members, now)))
        elif isinstance(n, SegmentRef):
            out.append(("segment", n.negate, node_key(n.rules.nodes, now)))
        elif isinstance(n, Sample):
            out.append(("sample", n.salt, n.lo, n.hi))
        else:
            out.append((n.field, n.operator.key, n.pred(now)))
    return tuple(out)


def _cached(cache: MaskCache | None, snap: Snapshot, key, compute) -> np.ndarray:
    return compute() if cache is None else cache.get(snap, key, compute)


def rules_mask(rules: Rules, snap: Snapshot, now: dt.datetime, cache: MaskCache | None = None) -> np.ndarray:
    """Rows that match every top-level rule, deleted rows excluded."""
    mask = snap.alive.copy()
    for node in rules.nodes:
        mask &= node_mask(node, snap, now, cache)
    return mask


def funnel(rules: Rules, snap: Snapshot, now: dt.datetime, cache: MaskCache | None = None) -> list[int]:
    """How many contacts are left after each top-level rule, in order."""
    mask = snap.alive.copy()
    counts = []
    for node in rules.nodes:
        mask &= node_mask(node, snap, now, cache)
        counts.append(int(mask.sum()))
    return counts


class MemoryBackend:
    """Answers counts, pages and exports from the in-memory snapshot, refreshed before every evaluation."""

    name = "memory"

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self.cache = MaskCache()

    def positions(self, rules: Rules, now: dt.datetime) -> np.ndarray:
        with self.snapshot.lock:
            self.snapshot.refresh()
            return np.flatnonzero(rules_mask(rules, self.snapshot, now, self.cache))

    def count(self, rules: Rules, now: dt.datetime) -> int:
        with self.snapshot.lock:
            self.snapshot.refresh()
            return int(np.count_nonzero(rules_mask(rules, self.snapshot, now, self.cache)))

    def count_many(self, rules: list[Rules], now: dt.datetime) -> list[int]:
        """The counts of several rule sets at one ``now`` over one state of the data."""
        with self.snapshot.lock:
            self.snapshot.refresh()
            return [int(np.count_nonzero(rules_mask(r, self.snapshot, now, self.cache))) for r in rules]

    def member_ids(self, rules: Rules, now: dt.datetime) -> np.ndarray:
        """The ids of the matching contacts, ascending (membership records)."""
        with self.snapshot.lock:
            return self.snapshot.ids[self.positions(rules, now)].copy()

    def funnel(self, rules: Rules, now: dt.datetime) -> list[int]:
        with self.snapshot.lock:
            self.snapshot.refresh()
            return funnel(rules, self.snapshot, now, self.cache)

    def page(self, rules: Rules, now: dt.datetime, limit: int | None, offset: int, *,
             order: Order | None = None) -> list[dict]:
        """Rows ``offset`` .. ``offset + limit`` of the whole matching result in ``order`` (None: id order)."""
        with self.snapshot.lock:
            positions = memory_order(order, self.snapshot, self.positions(rules, now))
            end = None if limit is None else offset + limit
            return self.snapshot.records(positions[offset:end])

    def frames(self, rules: Rules, now: dt.datetime, batch: int = 50_000, *, order: Order | None = None):
        """The matching contacts as DataFrames of at most ``batch`` rows, in ``order`` (None: id order); at least one
        (maybe empty)."""
        with self.snapshot.lock:
            ids = self.snapshot.ids[memory_order(order, self.snapshot, self.positions(rules, now))]
            if len(ids) == 0:
                yield self.snapshot.frame(np.empty(0, dtype=np.int64))  # the columns, typed, for an empty result
                return
        for start in range(0, len(ids), batch):
            with self.snapshot.lock:
                pos = self.snapshot.positions_of(ids[start:start + batch])
                frame = self.snapshot.frame(pos[pos >= 0])
            yield frame

    def record_batches(self, rules: Rules, now: dt.datetime, batch: int = 10_000, *,
                       order: Order | None = None) -> Iterator[list[dict]]:
        """``page``'s records, ``batch`` at a time: the matching ids are fixed once, each batch read under the lock."""
        with self.snapshot.lock:
            ids = self.snapshot.ids[memory_order(order, self.snapshot, self.positions(rules, now))]
        if len(ids) == 0:
            yield []
            return
        for start in range(0, len(ids), batch):
            with self.snapshot.lock:
                pos = self.snapshot.positions_of(ids[start:start + batch])
                records = self.snapshot.records(pos[pos >= 0])
            yield records

    def total(self) -> int:
        with self.snapshot.lock:
            self.snapshot.refresh()
            return self.snapshot.alive_count

    def record(self, contact_id: int) -> dict | None:
        with self.snapshot.lock:
            self.snapshot.refresh()
            pos = self.snapshot.positions_of(np.array([contact_id]))
            return self.snapshot.records(pos)[0] if pos[0] >= 0 else None

    def find_email(self, email: str) -> dict | None:
        with self.snapshot.lock:
            self.snapshot.refresh()
            column = self.snapshot.columns["email"]
            codes = column.codes_equal_to(email.strip().lower())
            if len(codes) == 0:
                return None
            hits = np.flatnonzero(np.isin(column.codes, codes) & self.snapshot.alive)
            return self.snapshot.records(hits[:1])[0] if len(hits) else None

    def top_values(self, field: str, limit: int) -> list[str]:
        """The most common values of a text field (suggestions for `in` lists)."""
        with self.snapshot.lock:
            self.snapshot.refresh()
            column = self.snapshot.columns.get(field)
            if not isinstance(column, TextColumn):
                return []
            return [value for value, _n in column.value_counts(self.snapshot.alive)[0][:limit]]

    def breakdown(self, rules: Rules, now: dt.datetime, field: str, limit: int) -> list[dict]:
        """Matching contacts counted by a field (the app's chart): see ``_breakdown`` and segmenter/breakdown.py."""
        with self.snapshot.lock:
            self.snapshot.refresh()
            mask = rules_mask(rules, self.snapshot, now, self.cache)
            column = self.snapshot.columns.get(field)
            return [] if column is None else _breakdown(column, mask, limit)

    def catalogue(self):
        with self.snapshot.lock:
            self.snapshot.refresh()
            return self.snapshot.catalogue


def _breakdown(column, mask: np.ndarray, limit: int) -> list[dict]:
    """Rows of the breakdown of ``column`` over ``mask`` (segmenter/breakdown.py decides ranges, periods, labels)."""
    if isinstance(column, TextColumn):
        return _text_breakdown(column, mask, limit)
    values = column.values[mask]
    if isinstance(column, DatetimeColumn):
        filled = values[values != NAT]
        rows: list[dict] = []
        if len(filled):
            days = filled // 86_400_000_000  # floor: a day starts at 00:00 UTC, also before 1970
            period, n = bd.choose_period(_day(int(days.min())), _day(int(days.max())))
            unit = {"day": "D", "month": "M", "year": "Y"}[bd.base_unit(period)]
            keys, counts = np.unique(days.astype("datetime64[D]").astype(f"datetime64[{unit}]"), return_counts=True)
            starts = keys.astype("datetime64[D]").astype(object)  # datetime.date, the first day of each unit
            rows = [{"value": v, "count": c} for v, c in bd.period_rows(zip(starts, counts.tolist()), period, n)]
        return bd.with_empty(rows, len(values) - len(filled))
    if isinstance(column, BoolColumn):
        counted = [(label, int(np.count_nonzero(values == v))) for label, v in (("true", 1), ("false", 0))]
        rows = [{"value": label, "count": n} for label, n in counted if n]
        return bd.with_empty(rows, int(np.count_nonzero(values < 0)))
    finite = values[~np.isnan(values)]
    rows = []
    if len(finite):
        edges, exponent = bd.number_edges(float(finite.min()), float(finite.max()), limit)
        # the last i with edges[i] <= x: exactly the SQL back end's CASE over the same float edges
        index = np.searchsorted(np.asarray(edges[1:-1], dtype=np.float64), finite, side="right")
        per = np.bincount(index, minlength=len(edges) - 1)
        rows = [{"value": v, "count": c} for v, c in bd.number_rows(edges, exponent, dict(enumerate(per.tolist())))]
    return bd.with_empty(rows, len(values) - len(finite))


def _day(days: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=days)


def _text_breakdown(column: TextColumn, mask: np.ndarray, limit: int) -> list[dict]:
    """Top values most common first, ties by the lowest contact id (rows are in id order, as the SQL back end's
    ``min(id)``); equal values stored under several codes are one value. O(rows) numpy, then per distinct value."""
    codes = column.codes[mask]
    filled = codes >= 0
    empty = int(len(codes) - np.count_nonzero(filled))
    if not filled.any():
        return bd.with_empty([], empty)
    present = codes[filled]
    counts = np.bincount(present, minlength=column.size)
    first = np.full(column.size, len(codes), dtype=np.int64)
    np.minimum.at(first, present, np.flatnonzero(filled))  # where each code first occurs (in id order)
    used = np.flatnonzero(counts)
    by_value = pd.DataFrame({"count": counts[used], "first": first[used]},
                            index=pd.Index(column.values_of(used), dtype=object))
    if not by_value.index.is_unique:
        by_value = by_value.groupby(level=0, sort=False).agg({"count": "sum", "first": "min"})
    by_value = by_value.sort_values(["count", "first"], ascending=[False, True], kind="stable")
    ranked = [(str(v), int(c)) for v, c in zip(by_value.index[:limit], by_value["count"].iloc[:limit])]
    return bd.with_empty(bd.text_rows(ranked, len(by_value), int(np.count_nonzero(filled)), limit), empty)
