"""The one family of domain errors. Edges (CLI, HTTP, app) turn them into messages."""
from __future__ import annotations


class SegmenterError(Exception):
    """Base of every error the segmenter raises on purpose."""


class RuleError(SegmenterError, ValueError):
    """Rules that cannot be evaluated or stored. ``problems`` lists each problem as a sentence."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class SegmentNotFound(SegmenterError, LookupError):
    """No segment has the given id."""

    def __init__(self, segment_id: object):
        self.segment_id = segment_id
        super().__init__(f"segment {segment_id!r} not found")

    def __str__(self) -> str:  # LookupError would repr() the message
        return f"segment {self.segment_id!r} not found"


class ContactError(SegmenterError, ValueError):
    """A contact record (or CSV file) that fails validation. ``problems`` lists each problem."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))
