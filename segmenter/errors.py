"""The one family of domain errors. Edges (CLI, HTTP, app) turn them into messages."""
from __future__ import annotations


class SegmenterError(Exception):
    """Base of every error the segmenter raises on purpose."""


MAX_PROBLEMS = 20  # SPEC §4: at most the first 20 problems, then one line counting the rest


def capped(problems: list[str] | str) -> list[str]:
    """The problems as a list: the first ``MAX_PROBLEMS``, then ``… and N more problems`` when there are more."""
    problems = [problems] if isinstance(problems, str) else list(problems)
    if len(problems) <= MAX_PROBLEMS:
        return problems
    rest = len(problems) - MAX_PROBLEMS
    return problems[:MAX_PROBLEMS] + [f"… and {rest} more problems"]  # SPEC's words, even for 1


class RuleError(SegmenterError, ValueError):
    """Rules that cannot be evaluated or stored. ``problems`` lists each problem as a sentence (at most the first
    20, then one line counting the rest)."""

    def __init__(self, problems: list[str] | str):
        self.problems = capped(problems)
        super().__init__("; ".join(self.problems))


class SegmentNotFound(SegmenterError, LookupError):
    """No segment has the given id."""

    def __init__(self, segment_id: object):
        self.segment_id = segment_id
        super().__init__(f"segment {segment_id!r} not found")

    def __str__(self) -> str:  # LookupError would repr() the message
        return f"segment {self.segment_id!r} not found"


class ContactError(SegmenterError, ValueError):
    """A contact record (or CSV file) that fails validation. ``problems`` lists each problem (capped like
    ``RuleError``'s: a million bad records make a readable message, not a million lines)."""

    def __init__(self, problems: list[str] | str):
        self.problems = capped(problems)
        super().__init__("; ".join(self.problems))


class SegmentConflict(SegmenterError):
    """A change made from a version of a segment that is no longer the stored one: nothing was changed.
    ``version`` is the stored version, ``updated_by``/``updated_at`` who changed it last and when."""

    def __init__(self, segment_id: int, version: int, updated_by: str | None, updated_at: str | None):
        self.segment_id, self.version = segment_id, version
        self.updated_by, self.updated_at = updated_by, updated_at
        who = updated_by or "an unknown user"
        when = f" at {updated_at}" if updated_at else ""
        super().__init__(f"segment {segment_id} is at version {version}, last changed by {who}{when}")


class SegmentInUse(SegmenterError):
    """Deleting a segment that other saved segments' rules refer to (SPEC §9): nothing was deleted.
    ``used_by`` lists the ids of the segments that refer to it."""

    def __init__(self, segment_id: int, used_by: list[int] | tuple[int, ...] = (), message: str | None = None):
        self.segment_id, self.used_by = segment_id, list(used_by)
        names = ", ".join(f"segment {i}" for i in self.used_by)
        super().__init__(message or f"segment {segment_id} is used by the rules of {names or 'another segment'}")


class PermissionDenied(SegmenterError):
    """The caller's role lacks the right for this call (SPEC §10); the message names the role needed."""


class NoRecord(SegmenterError, LookupError):
    """No membership record of a segment at or before the asked time (SPEC §9 ``changes``): HTTP 404."""

    def __str__(self) -> str:  # LookupError would repr() the message
        return str(self.args[0]) if self.args else "no membership record"
