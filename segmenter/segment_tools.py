"""SPEC §9 on the Segmenter: splitting a segment into random parts, comparing two segments, recording membership
over time and reading it back, and importing definitions that refer to each other. A mixin of
``service.Segmenter`` (it uses its back end, engine and rule checking), kept apart so the core class stays short."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np

from . import history, store
from .compose import IMPORTED, Graph, Resolver, references, remap
from .errors import NoRecord, RuleError
from .operators import ValueProblem
from .rules import Rules, validate_name, validate_rules
from .sampling import check_salt, sample_rule, split_ranges
from .values import UTC, coerce_datetime, format_datetime


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


def _source(seg: SegmentTools, segment_id_or_rules: Any) -> tuple[Rules, list]:
    """Checked rules, and the rules a derived segment is written with: ``in_segment`` of a saved segment (so it
    follows that segment's later changes), or the given rules as stored."""
    from .service import _segment_id

    if isinstance(segment_id_or_rules, (list, tuple, Rules)):
        checked = seg.validate(segment_id_or_rules)
        return checked, list(checked.canonical)
    segment_id = _segment_id(segment_id_or_rules)
    checked = seg._rules_of(segment_id)
    return checked, [{"field": "segment", "operator": "in_segment", "value": segment_id}]


def _since(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return coerce_datetime(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError, OverflowError):  # OverflowError: an offset beyond year 1 or 9999
        raise RuleError(f"since must be a date or an ISO 8601 datetime (e.g. 2026-01-05T10:00:00Z), got {value!r}") \
            from None


class SegmentTools:
    """Split, overlap, history and changes (SPEC §9)."""

    if TYPE_CHECKING:  # what the mixin uses of service.Segmenter
        backend: Any
        engine: Any
        history_days: str | None

        def validate(self, rules: Any, resolver: Resolver | None = None) -> Rules: ...
        def resolver(self, graph: Graph | None = None) -> Resolver: ...
        def segment_graph(self, conn: Any = None) -> Graph: ...
        def catalogue(self) -> Any: ...
        def _rules_of(self, segment_id_or_rules: Any) -> Rules: ...
        def create_segment(self, name: str, rules: Any, *, user: str | None = None) -> dict: ...
        def export_columns(self) -> list[str]: ...

    # ---- samples and splits ----
    def split(self, segment_id_or_rules: Any, parts: Any, *, salt: str) -> list[dict]:
        """A segment (id or rules) in random parts: ``parts`` maps part name → whole percent (each >= 1, summing to
        100); part i gets the sample range [sum of the earlier percents, that + its own). Returns
        ``[{"part", "rules", "contacts_count"}]``: the segment's rules (``in_segment`` of a saved one) plus the part's
        ``sample`` rule, ready to save or export. The counts add up to the segment's count."""
        try:
            check_salt(salt)
        except ValueProblem as exc:
            raise RuleError(f"split {exc}") from None
        ranges = split_ranges(parts)
        _checked, base = _source(self, segment_id_or_rules)  # checks the source first (SegmentNotFound, RuleError)
        part_rules = [base + [sample_rule(salt, start, stop)] for _name, start, stop in ranges]
        resolver = self.resolver()
        checked_parts = [self.validate(r, resolver) for r in part_rules]
        counts = self.backend.count_many(checked_parts, _now())
        return [{"part": name, "rules": rules, "contacts_count": n}
                for (name, _a, _b), rules, n in zip(ranges, part_rules, counts)]

    # ---- comparing ----
    def overlap(self, a: Any, b: Any) -> dict:
        """Two segments (ids or rules) side by side: ``{"a", "b", "both", "only_a", "only_b", "either",
        "jaccard"}`` — jaccard is both / either (0.0 when either is 0)."""
        rules_a, _ = _source(self, a)
        rules_b, _ = _source(self, b)
        both = Rules(rules_a.nodes + rules_b.nodes, rules_a.canonical + rules_b.canonical)
        n_a, n_b, n_both = self.backend.count_many([rules_a, rules_b, both], _now())
        either = n_a + n_b - n_both
        return {"a": n_a, "b": n_b, "both": n_both, "only_a": n_a - n_both, "only_b": n_b - n_both,
                "either": either, "jaccard": n_both / either if either else 0.0}

    # ---- watching over time ----
    def record_counts(self) -> int:
        """Record every saved segment's count and membership now; prune records older than
        ``$SEGMENTER_HISTORY_DAYS`` (default 400). Returns how many segments were recorded (a segment that cannot
        be evaluated, its field removed by hand, is skipped)."""
        days = history.history_days(self.history_days)
        with self.engine.connect() as conn:
            segments = store.segment_rules(conn)
        resolver = Resolver(Graph(segments), self.catalogue())
        now = _now()
        members: dict[int, np.ndarray] = {}
        for segment_id in segments:
            try:
                members[segment_id] = self.backend.member_ids(resolver.rules_of(segment_id), now)
            except RuleError:
                continue
        with store.writing(self.engine) as conn:
            alive = set(store.segment_rules(conn))  # deleted meanwhile: not recorded
            for segment_id, ids in members.items():
                if segment_id in alive:
                    history.add(conn, segment_id, now, ids)
            history.prune(conn, now, days)
        return len([s for s in members if s in alive])

    def history(self, segment_id: int) -> list[dict]:
        """A segment's records, oldest first: ``{"at", "contacts_count", "entered", "left"}``; entered/left count the
        contacts that joined or left since the previous record (0 and 0 for the first)."""
        from .service import _segment_id

        segment_id = _segment_id(segment_id)
        with self.engine.connect() as conn:
            store.get_segment(conn, segment_id)
            rows = history.rows(conn, segment_id)
        return [{"at": format_datetime(r["at"]), "contacts_count": r["contacts_count"],
                 "entered": r["entered"] if i else 0, "left": r["left"] if i else 0} for i, r in enumerate(rows)]

    def changes(self, segment_id: int, since: Any = None) -> dict:
        """Who entered and who left a segment between its latest record at or before ``since`` (default: its
        latest record) and now: ``{"since": <that record's time>, "entered": [ids], "left": [ids]}``."""
        from .service import _segment_id

        segment_id = _segment_id(segment_id)
        when = _since(since)
        rules = self._rules_of(segment_id)  # SegmentNotFound first
        with self.engine.connect() as conn:
            record = history.latest(conn, segment_id, when)
        if record is None:
            at = f" at or before {format_datetime(when)}" if when is not None else ""
            raise NoRecord(f"segment {segment_id} has no membership record{at}; records are made when a segment is "
                           "created or its rules change, and by `python -m segmenter record`")
        entered, left = history.difference(self.backend.member_ids(rules, _now()),
                                           history.decode_ids(record["members"]))
        return {"since": format_datetime(record["at"]), "entered": [int(i) for i in entered],
                "left": [int(i) for i in left]}

    def export_ids_csv(self, ids: Any, dest: Any) -> int:
        """Write the contacts with the given ids (those that still exist) to ``dest`` as CSV, in id order, with
        the export's columns and formula guard; returns rows written. For the app's entered/left downloads."""
        from .csv_export import write_csv

        return write_csv(dest, self.export_columns(), self._frames_of_ids(ids))

    def _frames_of_ids(self, ids: Any, batch: int = 5_000):
        from sqlalchemy import select

        from .sql import _frame

        wanted = sorted({int(i) for i in ids})
        with self.engine.connect() as conn:
            catalogue = store.load_catalogue(conn)
            table = store.table_for(catalogue)
            columns = [table.c[f.name] for f in catalogue]
            for start in range(0, max(len(wanted), 1), batch):
                chunk = wanted[start:start + batch]
                rows = list(conn.execute(select(*columns).where(table.c.id.in_(chunk)).order_by(table.c.id)))
                yield _frame(catalogue, rows)

    # ---- who uses whom ----
    def segment_choices(self) -> list[dict]:
        """Every saved segment's ``{"id", "name"}`` (no counts: cheap, for pickers)."""
        with self.engine.connect() as conn:
            return [{"id": s["id"], "name": s["name"]} for s in store.list_segments(conn)]

    def segment_users(self) -> dict[int, list[int]]:
        """For every saved segment, the ids of the segments whose rules refer to it (``in_segment`` or
        ``not_in_segment``); empty lists for the unused."""
        graph = self.segment_graph()
        return {sid: graph.users_of(sid) for sid in graph.rules}

    # ---- definitions ----
    def import_definitions(self, items: Any) -> list[dict]:
        """Save exported definitions (``[{"id"?, "name", "rules"}]``). ``in_segment`` ids that belong to a
        definition of the same import are mapped to the new segments; any other id must be a saved segment. Every
        definition is checked (names, rules, references, loops, chains) before anything is saved; returns the new
        segments in the given order."""
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list) or not items:
            raise RuleError('definitions must be a non-empty list of {"name", "rules"} objects')
        problems = [f"definition {i}: must be an object with name and rules" for i, item in enumerate(items, 1)
                    if not isinstance(item, dict) or "name" not in item or "rules" not in item]
        if problems:
            raise RuleError(problems)
        # Within the import, definition i stands as IMPORTED + i until it is saved.
        own = {item["id"]: IMPORTED + i for i, item in enumerate(items)
               if isinstance(item.get("id"), int) and not isinstance(item.get("id"), bool)}
        staged = [remap(item["rules"], own) for item in items]
        with self.engine.connect() as conn:
            saved = store.segment_rules(conn)
        graph = Graph({**saved, **{IMPORTED + i: rules for i, rules in enumerate(staged)}})
        catalogue = self.catalogue()
        for i, (item, rules) in enumerate(zip(items, staged)):
            label = f"definition {i + 1}" + (f" ({item['name']!r})" if isinstance(item["name"], str) else "")
            try:
                validate_name(item["name"])
            except RuleError as exc:
                problems.append(f"{label}: {exc}")
            unknown = [(pos, t) for pos, t in references(rules) if t not in graph.rules]
            problems += [f"{label}: rule {pos}: segment {t} does not exist (neither in this import nor in the "
                         "database)" for pos, t in unknown]
            if unknown:
                continue
            try:
                validate_rules(rules, catalogue, Resolver(graph, catalogue))
            except RuleError as exc:
                problems += [f"{label}: {p}" for p in exc.problems]
                continue
            problems += [f"{label}: {p}" for p in graph.check(IMPORTED + i, rules)]
        if problems:
            raise RuleError(problems)
        new_ids: dict[int, int] = {}
        created: dict[int, dict] = {}
        for i in _import_order(staged):
            created[i] = self.create_segment(items[i]["name"], remap(staged[i], new_ids))
            new_ids[IMPORTED + i] = created[i]["id"]
        return [created[i] for i in range(len(items))]


def _import_order(staged: list) -> list[int]:
    """Indexes of the definitions, each after the definitions of the same import it refers to (checked: no
    loops)."""
    order: list[int] = []
    done: set[int] = set()

    def visit(i: int) -> None:
        if i in done:
            return
        done.add(i)
        for _pos, target in references(staged[i]):
            if target >= IMPORTED:
                visit(target - IMPORTED)
        order.append(i)

    for i in range(len(staged)):
        visit(i)
    return order
