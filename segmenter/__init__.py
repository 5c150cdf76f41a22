"""Segmenter: dynamic audience segments over a contacts database.

    import segmenter
    seg = segmenter.connect()            # $SEGMENTER_DATABASE_URL, else sqlite:///segmenter.db
    seg.create_segment("Active Inc", [{"field": "status", "operator": "equals", "value": "active"}])
"""
from __future__ import annotations

__version__ = "0.2.0"  # the one place the version is written (pyproject.toml reads it; CHANGELOG.md names it)

import threading

from .errors import (
    ContactError,
    PermissionDenied,
    RuleError,
    SegmentConflict,
    SegmenterError,
    SegmentInUse,
    SegmentNotFound,
)
from .service import ImportReport, Segmenter
from .settings import load as load_settings

__all__ = ["connect", "Segmenter", "ImportReport", "SegmenterError", "RuleError", "SegmentNotFound", "ContactError",
           "SegmentConflict", "SegmentInUse", "PermissionDenied", "list_segments", "create_segment",
           "get_segment_contacts"]

_default: dict[str, Segmenter] = {}
_default_lock = threading.Lock()


def connect(url: str | None = None, *, user: str | None = None, backend: str | None = None,
            memory_limit: int | None = None, memory_budget: str | int | None = None) -> Segmenter:
    """Open (and migrate) a database: ``url`` or ``$SEGMENTER_DATABASE_URL`` or ``sqlite:///segmenter.db``.
    ``backend``: ``auto`` (default; in memory while the snapshot fits ``memory_budget``, e.g. ``"2GB"``, else
    ``$SEGMENTER_MEMORY_BUDGET``, else 25% of the process's memory limit; SQL above it), ``memory`` or ``sql``.
    ``memory_limit`` (a contact count) is deprecated: it warns, and replaces the budget while it is given."""
    return Segmenter(url, user=user, backend=backend, memory_limit=memory_limit, memory_budget=memory_budget)


def _default_segmenter() -> Segmenter:
    url = load_settings().database_url
    with _default_lock:
        if url not in _default:
            _default[url] = Segmenter(url)
        return _default[url]


def list_segments() -> list[dict]:
    """Every saved segment on the default database, with its count as of now, ordered by id."""
    return _default_segmenter().list_segments()


def create_segment(name: str, rules: list) -> dict:
    """Save a segment on the default database."""
    return _default_segmenter().create_segment(name, rules)


def get_segment_contacts(segment_id: int, *, limit: int | None = None, offset: int = 0, order_by: str | None = None,
                         descending: bool = False) -> list[dict]:
    """The contacts of a saved segment on the default database, as of now, ordered by id or ``order_by``."""
    return _default_segmenter().get_segment_contacts(segment_id, limit=limit, offset=offset, order_by=order_by,
                                                     descending=descending)
