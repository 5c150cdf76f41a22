"""Order of listed and exported contacts (SPEC §3 *Order*) and the export's column choice (SPEC §7).

One rule for every back end: the whole result is sorted before any limit/offset; a text field by Python's
``str.lower`` of its values compared by code point, a number, datetime or boolean field by value (false before
true); empty values last whichever the direction; ties by id ascending. ``MemoryBackend`` sorts the snapshot's
arrays with ``memory_order``; ``SqlBackend`` adds ``sql_order`` to its query. The parity tests hold them to it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import ColumnElement, Table, case, func, literal

from .errors import RuleError, SegmenterError
from .fields import Catalogue
from .operators import DATETIME, NUMBER, TEXT

TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no", "")


@dataclass(frozen=True)
class Order:
    """Sort by ``field`` (of ``field_type``), ``descending`` or not; empty values last, ties by id ascending."""
    field: str
    field_type: str
    descending: bool = False

    @classmethod
    def check(cls, order_by: Any, descending: Any, catalogue: Catalogue) -> Order | None:
        """The order asked for, checked against the fields; None means by id ascending (the default)."""
        descending = parse_descending(descending)
        if order_by is None or (isinstance(order_by, str) and order_by.strip() == "" and not descending):
            return None
        field = catalogue.get(order_by.strip()) if isinstance(order_by, str) else None
        if field is None:
            raise RuleError(f"cannot order by unknown field {order_by!r}; "
                            f"expected one of: {', '.join(catalogue.names)}")
        if field.name == "id" and not descending:
            return None
        return cls(field.name, field.type, descending)


def parse_descending(value: Any) -> bool:
    """``descending``: a bool (Python) or true/false, 1/0, yes/no (query strings, the CLI)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    if value is None:
        return False
    raise SegmenterError(f"descending must be true or false, got {value!r}")


def check_columns(columns: Any, available: list[str]) -> list[str]:
    """The export columns asked for (a list, or text ``a,b,c``), each a known field, once, in the order given."""
    if isinstance(columns, str):
        columns = [c.strip() for c in columns.split(",")]
    if not isinstance(columns, (list, tuple)) or not columns:
        raise RuleError("columns must be a non-empty list of field names; expected some of: " + ", ".join(available))
    out: list[str] = []
    for name in columns:
        if not isinstance(name, str) or name not in available:
            raise RuleError(f"cannot export unknown column {name!r}; expected some of: {', '.join(available)}")
        if name in out:
            raise RuleError(f"column {name!r} is asked for twice")
        out.append(name)
    return out


# ---- the in-memory back end ---------------------------------------------------------------------------------------

def _text_keys(column, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rank of each row's lower-cased value among those present, empty flag); equal lowered values share a rank."""
    empty = codes < 0
    used, inverse = np.unique(codes[~empty], return_inverse=True)
    ranks = np.zeros(len(codes), dtype=np.int64)
    if len(used):
        lowered = column.lowered().take(pa.array(used))
        # Arrow compares strings by their UTF-8 bytes, which is code point order: Python's str order.
        used_rank = pc.rank(lowered, sort_keys="ascending", tiebreaker="dense").to_numpy(zero_copy_only=False)
        ranks[~empty] = used_rank.astype(np.int64)[inverse.ravel()]
    return ranks, empty


def memory_order(order: Order | None, snapshot: Any, positions: np.ndarray) -> np.ndarray:
    """``positions`` (rows of the snapshot, in id order) put in ``order``; the snapshot's lock is held by the caller."""
    from .snapshot import NAT, TextColumn  # the snapshot imports nothing from here; keep it that way

    if order is None or len(positions) < 2:
        return positions
    ids = snapshot.ids[positions]
    column = None if order.field == "id" else snapshot.columns[order.field]
    if column is None:
        key, empty = ids.astype(np.int64), np.zeros(len(ids), dtype=bool)
    elif isinstance(column, TextColumn):
        key, empty = _text_keys(column, column.codes[positions])
    else:
        values = column.values[positions]
        if order.field_type == NUMBER:
            empty = np.isnan(values)
            key = np.where(empty, 0.0, values)
        elif order.field_type == DATETIME:
            empty = values == NAT
            key = np.where(empty, 0, values)
        else:  # boolean: -1 empty, 0 false, 1 true
            values = values.astype(np.int64)
            empty = values < 0
            key = np.where(empty, 0, values)
    if order.descending:
        key = -key
    # lexsort's last key is the first: empty last (both directions), then the value, then the id ascending
    return positions[np.lexsort((ids, key, empty))]


# ---- the SQL back end ---------------------------------------------------------------------------------------------

def sql_order(order: Order | None, table: Table, lower) -> list[ColumnElement]:
    """ORDER BY clauses for ``order`` (None: by id). ``lower(column)`` lower-cases as Python does, per dialect; its
    result is compared by code point (``COLLATE "C"`` on PostgreSQL, SQLite's BINARY) like ``str`` in Python."""
    if order is None:
        return [table.c.id]
    column = table.c[order.field]
    if order.field_type == TEXT:
        empty = case((column.is_(None), 1), (column == literal("", column.type), 1), else_=0)
        key = lower(func.nullif(column, literal("", column.type)))  # every empty value the same NULL: ties by id
    else:
        empty = case((column.is_(None), 1), else_=0)
        key = column
    return [empty, key.desc() if order.descending else key.asc(), table.c.id]


