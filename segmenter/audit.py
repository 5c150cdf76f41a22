"""The audit trail (SPEC §10): who exported, imported or erased what, when, and how many rows.

Imports and erasures append their entry inside their own write transaction (both or neither); an export appends
its entry when the file is complete (or the download stops), with the rows actually written. Erasures record how
many, never whom. Entries are only appended; docs/operating.md says how long to keep them."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from .errors import SegmenterError
from .models import AuditEntry
from .values import UTC, format_datetime

EXPORT, IMPORT, ADD, DEMO, ERASE = "export", "import", "add", "demo", "erase"
MAX_LIMIT = 10_000


@dataclass
class Entry:
    """What one audited action is about; ``rows`` is filled in when it is known."""
    action: str
    who: str
    via: str
    segment_id: int | None = None
    segment_version: int | None = None
    rules: list | None = None
    file_name: str | None = None
    rows: int = 0


def record(conn: Connection, entry: Entry, at: dt.datetime | None = None) -> None:
    """Append ``entry`` inside the caller's transaction."""
    conn.execute(insert(AuditEntry).values(
        at=at or dt.datetime.now(UTC), who=entry.who[:1000], via=entry.via, action=entry.action,
        segment_id=entry.segment_id, segment_version=entry.segment_version, rules=entry.rules,
        file_name=entry.file_name[:1000] if entry.file_name else None, rows=int(entry.rows)))


def read(engine: Engine, limit: int = 100) -> list[dict]:
    """The newest ``limit`` entries, newest first, JSON-ready."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise SegmenterError(f"limit must be a whole number from 1 to {MAX_LIMIT:,}, got {limit!r}")
    with engine.connect() as conn:
        table = AuditEntry.__table__
        rows = conn.execute(select(*table.c).order_by(table.c.id.desc()).limit(limit)).mappings().all()
    return [{**row, "at": format_datetime(row["at"])} for row in rows]


def file_name_of(dest: Any) -> str | None:
    """What a destination is called: a path as given, a file object's ``name``, else None (a buffer)."""
    if isinstance(dest, (str, bytes)) or hasattr(dest, "__fspath__"):
        return os.fsdecode(os.fspath(dest))
    name = getattr(dest, "name", None)
    return name if isinstance(name, str) else None
