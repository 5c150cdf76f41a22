"""Watching segments over time (SPEC §9): membership records — when, how many, who entered and left since the
previous record, and the matching ids stored compactly — their encoding, reading, and pruning.

The ids are stored as gaps between ascending ids (``id - previous id - 1``; runs of consecutive ids give zeros),
one byte each below 255 with the larger gaps kept apart as 8-byte integers, the whole deflated by zlib (level 1).
A segment of every id takes a few kilobytes; a random half of the ids about 0.37 bytes a member, a random tenth
0.67, a random 1 % 0.93 (a roaring bitmap takes 2 bytes a member where fewer than one id in 16 is a member)."""
from __future__ import annotations

import datetime as dt
import struct
import zlib
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, desc, insert, select

from .models import SegmentRecord

MAGIC = b"SRG1"
_HEADER = struct.Struct("<4sQQ")
DEFAULT_HISTORY_DAYS = 400
_ESCAPE = 255


def encode_ids(ids: np.ndarray) -> bytes:
    """Ascending distinct positive ids → bytes (``decode_ids`` reverses it)."""
    ids = np.asarray(ids, dtype=np.int64)
    gaps = np.diff(ids, prepend=0) - 1
    small = gaps < _ESCAPE
    plane = np.where(small, gaps, _ESCAPE).astype(np.uint8)
    big = gaps[~small].astype("<u8")
    # zlib level 1: five times faster than 6, about 10 % larger
    return _HEADER.pack(MAGIC, len(ids), len(big)) + zlib.compress(plane.tobytes() + big.tobytes(), 1)


def decode_ids(blob: bytes) -> np.ndarray:
    magic, n, n_big = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ValueError("not a membership record")
    data = zlib.decompress(blob[_HEADER.size:])
    plane = np.frombuffer(data, dtype=np.uint8, count=n)
    gaps = plane.astype(np.int64)
    if n_big:
        gaps[plane == _ESCAPE] = np.frombuffer(data, dtype="<u8", count=n_big, offset=n).astype(np.int64)
    return np.cumsum(gaps + 1)


def difference(new: np.ndarray, old: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ids in ``new`` not in ``old``, ids in ``old`` not in ``new``); both inputs ascending and distinct."""
    top = max(int(new[-1]) if len(new) else 0, int(old[-1]) if len(old) else 0)
    if top <= 8 * (len(new) + len(old)) + (1 << 20):  # dense ids (the usual case): one flag per id, O(n)
        flags = np.zeros(top + 1, dtype=bool)
        flags[old] = True
        entered = new[~flags[new]]
        flags[old] = False
        flags[new] = True
        return entered, old[~flags[old]]
    return _missing_from(new, old), _missing_from(old, new)


def _missing_from(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(b) == 0 or len(a) == 0:
        return a
    pos = np.searchsorted(b, a)
    found = b[np.minimum(pos, len(b) - 1)] == a
    return a[~found]


# ---- the table ---------------------------------------------------------------------------------------------------

def latest(conn: Connection, segment_id: int, at_or_before: dt.datetime | None = None) -> dict | None:
    """The newest record of a segment (at or before a time), with its blob; None when there is none."""
    stmt = select(SegmentRecord.at, SegmentRecord.contacts_count, SegmentRecord.members).where(
        SegmentRecord.segment_id == segment_id)
    if at_or_before is not None:
        stmt = stmt.where(SegmentRecord.at <= at_or_before)
    row = conn.execute(stmt.order_by(desc(SegmentRecord.at), desc(SegmentRecord.id)).limit(1)).first()
    return None if row is None else dict(row._mapping)


def add(conn: Connection, segment_id: int, at: dt.datetime, ids: np.ndarray) -> dict:
    """Record a segment's membership ``ids`` at ``at`` (inside the caller's transaction); entered and left are
    counted against its previous record. Returns the row written (without the blob)."""
    before = latest(conn, segment_id)
    entered = left = 0
    if before is not None:
        came, went = difference(ids, decode_ids(before["members"]))
        entered, left = len(came), len(went)
    row = {"segment_id": segment_id, "at": at, "contacts_count": len(ids), "entered": entered, "left": left}
    conn.execute(insert(SegmentRecord).values(**row, members=encode_ids(ids)))
    return row


def rows(conn: Connection, segment_id: int) -> list[dict[str, Any]]:
    """Every record of a segment, oldest first, without the blobs."""
    stmt = (select(SegmentRecord.at, SegmentRecord.contacts_count, SegmentRecord.entered, SegmentRecord.left)
            .where(SegmentRecord.segment_id == segment_id).order_by(SegmentRecord.at, SegmentRecord.id))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def forget_segment(conn: Connection, segment_id: int) -> None:
    conn.execute(delete(SegmentRecord).where(SegmentRecord.segment_id == segment_id))


def prune(conn: Connection, now: dt.datetime, days: int) -> int:
    """Drop the records older than ``days`` days; returns how many."""
    return conn.execute(delete(SegmentRecord).where(SegmentRecord.at < now - dt.timedelta(days=days))).rowcount


def history_days(raw: Any) -> int:
    """``$SEGMENTER_HISTORY_DAYS`` as written (None or '' for the default 400): a whole number of days >= 1."""
    from .errors import SegmenterError

    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return DEFAULT_HISTORY_DAYS
    try:
        days = int(str(raw).strip().replace("_", ""))
    except ValueError:
        days = 0
    if days < 1 or isinstance(raw, bool):
        raise SegmenterError(f"SEGMENTER_HISTORY_DAYS must be a whole number of days >= 1, got {raw!r}")
    return days
