"""Segments built on segments (SPEC §9): the `segment` pseudo-field's references between saved segments — finding
them in stored rules, resolving them to checked rules at evaluation time, refusing loops and chains of more than
five segments when a segment is saved, and who uses whom (deleting a used segment is refused)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .errors import RuleError
from .fields import Catalogue
from .rules import Rules, validate_rules

MAX_CHAIN = 5  # the segment being saved plus the segments reached through in_segment
SEGMENT_OPERATORS = ("in_segment", "not_in_segment")


def references(rules: Any, prefix: str = "") -> Iterator[tuple[str, int]]:
    """``(position, segment id)`` of every ``in_segment``/``not_in_segment`` rule in raw rules, groups included.
    Tolerant of malformed data (stored rules are read as they are)."""
    if not isinstance(rules, list):
        return
    for i, r in enumerate(rules, 1):
        pos = f"{prefix}{i}"
        if not isinstance(r, dict):
            continue
        if "field" not in r and isinstance(r.get("rules"), list):
            yield from references(r["rules"], pos + ".")
        elif r.get("field") == "segment" and r.get("operator") in SEGMENT_OPERATORS:
            value = r.get("value")
            if isinstance(value, int) and not isinstance(value, bool):
                yield pos, value


def remap(rules: Any, ids: dict[int, int]) -> Any:
    """Raw rules with every referenced id in ``ids`` replaced by its mapped id (definition imports)."""
    if isinstance(rules, list):
        return [remap(r, ids) for r in rules]
    if isinstance(rules, dict):
        if "field" not in rules and isinstance(rules.get("rules"), list):
            return {**rules, "rules": remap(rules["rules"], ids)}
        value = rules.get("value")
        if (rules.get("field") == "segment" and rules.get("operator") in SEGMENT_OPERATORS
                and isinstance(value, int) and not isinstance(value, bool) and value in ids):
            return {**rules, "value": ids[value]}
    return rules


NEW = 0  # stands for the segment being created (ids start at 1)
IMPORTED = 2**31  # IMPORTED + i stands for definition i + 1 of an import (above every possible segment id)


def _name(i: int) -> str:
    if i == NEW:
        return "the new segment"
    return f"definition {i - IMPORTED + 1}" if i >= IMPORTED else f"segment {i}"


def _say(path: list[int]) -> str:
    return " → ".join(_name(i) for i in path)


class Graph:
    """The saved segments' references: id → the ids its rules refer to (in rule order, each once)."""

    def __init__(self, segments: dict[int, Any]):
        self.rules = segments
        self.edges = {sid: list(dict.fromkeys(t for _, t in references(rules))) for sid, rules in segments.items()}

    def users_of(self, segment_id: int) -> list[int]:
        """The segments whose rules refer to ``segment_id``, by id."""
        return sorted(s for s, targets in self.edges.items() if segment_id in targets and s != segment_id)

    def _path(self, start: int, goal: int, edges: dict[int, list[int]]) -> list[int] | None:
        """A path start → … → goal, or None."""
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            if node == goal:
                return path
            if node in seen:
                continue
            seen.add(node)
            for nxt in reversed(edges.get(node, [])):
                stack.append((nxt, path + [nxt]))
        return None

    def _longest(self, start: int, edges: dict[int, list[int]], limit: int) -> list[int]:
        """The longest loop-free path of segments from ``start`` (stopping once it is longer than ``limit``)."""
        best: list[int] = [start]

        def walk(path: list[int]) -> None:
            nonlocal best
            if len(path) > len(best):
                best = list(path)
            if len(best) > limit:
                return
            for nxt in edges.get(path[-1], []):
                if nxt not in path:
                    walk(path + [nxt])
        walk([start])
        return best

    def check(self, saving: int | None, rules: list) -> list[str]:
        """Problems with saving ``rules`` as segment ``saving`` (``NEW`` for a segment being created; None for rules
        that are not saved): unknown ids, loops, and chains of more than five segments passing through it."""
        edges = dict(self.edges)
        refs = list(references(rules))
        if saving is not None:
            edges[saving] = list(dict.fromkeys(t for _, t in refs))
        reverse: dict[int, list[int]] = {}
        for s, targets in edges.items():
            for t in targets:
                reverse.setdefault(t, []).append(s)
        problems, reported = [], set()
        head = self._longest(saving, reverse, MAX_CHAIN)[::-1] if saving is not None else []
        for pos, target in refs:
            if pos in reported:
                continue
            if target not in self.edges:
                problems.append(f"rule {pos}: segment {target} does not exist")
                reported.add(pos)
                continue
            if saving is not None:
                back = self._path(target, saving, edges)
                if back is not None:
                    problems.append(f"rule {pos}: {_say([saving] + back)} is a loop")
                    reported.add(pos)
                    continue
            tail = self._longest(target, edges, MAX_CHAIN)
            chain = head + tail
            if len(chain) > MAX_CHAIN:
                problems.append(f"rule {pos}: {_say(chain)} is a chain of {len(chain)} segments; "
                                f"at most {MAX_CHAIN} are allowed (the segment itself and those reached through "
                                "in_segment)")
                reported.add(pos)
        return problems


class Resolver:
    """Turns a referenced id into that segment's checked rules, now: its stored rules validated against the current
    catalogue, its own references resolved in turn. A loop or an over-long chain in stored data (written by plain
    SQL) is a rule error, never a recursion error."""

    def __init__(self, graph: Graph, catalogue: Catalogue):
        self.graph, self.catalogue = graph, catalogue
        self._done: dict[int, Rules] = {}
        self._stack: list[int] = []

    def rules_of(self, segment_id: int) -> Rules:
        """A saved segment's own rules, checked (its problems worded as for any rules), references resolved."""
        if segment_id not in self.graph.rules:
            raise RuleError(f"segment {segment_id} does not exist")
        self._stack.append(segment_id)
        try:
            return validate_rules(self.graph.rules[segment_id], self.catalogue, self)
        finally:
            self._stack.pop()

    def __call__(self, segment_id: int) -> Rules:
        if segment_id in self._done:
            return self._done[segment_id]
        if segment_id not in self.graph.rules:
            raise RuleError(f"segment {segment_id} does not exist")
        if segment_id in self._stack:
            loop = self._stack[self._stack.index(segment_id):] + [segment_id]
            raise RuleError(f"{_say(loop)} is a loop")
        if len(self._stack) >= MAX_CHAIN:
            raise RuleError(f"{_say(self._stack + [segment_id])} is a chain of more than {MAX_CHAIN} segments")
        self._stack.append(segment_id)
        try:
            rules = validate_rules(self.graph.rules[segment_id], self.catalogue, self)
        except RuleError as exc:
            raise RuleError(f"segment {segment_id} cannot be evaluated: {'; '.join(exc.problems)}") from None
        finally:
            self._stack.pop()
        self._done[segment_id] = rules
        return rules
