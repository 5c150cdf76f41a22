"""Segment versions as entity tags (SPEC §6): ``GET /api/segments/{id}`` sends ``ETag: "N"``; PATCH and DELETE
take ``If-Match`` — ``*`` or the current ``"N"``; a stale, weak, listed or malformed value answers 412, changing
nothing."""
from __future__ import annotations

from ..errors import SegmentConflict, SegmenterError


class PreconditionFailed(SegmentConflict):
    """An If-Match that can match no version (weak, a list, not "N" or *): 412 like a stale one."""

    def __init__(self, segment_id: int, value: str):
        SegmenterError.__init__(self, f"If-Match {value!r} is not * or the segment's ETag \"N\" "
                                      f"(read it from GET /api/segments/{segment_id})")


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None, segment_id: int) -> int | None:
    """If-Match → the version a change was made from: None for no header or ``*`` (the segment must exist), N for
    ``"N"``; a weak, listed or malformed value can match no version, so it is refused as stale (412)."""
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip()
    digits = value[1:-1] if len(value) > 2 and value[0] == value[-1] == '"' else ""
    if not (digits.isascii() and digits.isdigit()) or not 1 <= int(digits) < 2**63:  # no version is larger
        raise PreconditionFailed(segment_id, if_match)
    return int(digits)
