"""The Segmenter class: what ``segmenter.connect()`` returns, and what the CLI, HTTP API and app call."""
from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy.exc import IntegrityError

from . import access, audit, csv_export, csv_import, erase, history, reference, search, settings, store
from .backend import AutoBackend, Backend, format_size, make_backend
from .backend import memory_budget as memory_budget_of
from .breakdown import MAX_LIMIT as MAX_BREAKDOWN
from .compose import NEW, Graph, Resolver
from .contact_frames import frame_records, without_missing
from .contacts import check_records, check_uniform, known_types, plain_values
from .errors import ContactError, RuleError, SegmenterError, SegmentInUse, SegmentNotFound
from .fields import CORE_COLUMNS, PSEUDO_FIELDS, Catalogue
from .order import Order, check_columns
from .rules import Rules, validate_name, validate_rules
from .segment_tools import SegmentTools
from .snapshot import Snapshot
from .values import UTC, format_datetime, short_repr

MAX_SEGMENT_ID = 2**31 - 1  # segments.id is a 32-bit INTEGER on PostgreSQL


class RejectedRow(NamedTuple):
    line: int
    reason: str
    cells: tuple[str, ...] = ()  # the row as it is in the file (untrimmed), in the order of ImportReport.headers


@dataclass
class ImportReport:
    """What an import did: contacts inserted (new), contacts updated (that existed before the import), rows that
    repeated an email of an earlier row of the same file (applied in order to the same contact: the later row wins),
    rows rejected (line, reason and the original cells), fields created, and the file's header row.
    ``inserted + updated + repeated + len(rejected)`` is the number of rows of the file."""
    inserted: int = 0
    updated: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    new_fields: dict[str, str] = field(default_factory=dict)
    repeated: int = 0
    headers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"inserted": self.inserted, "updated": self.updated, "repeated": self.repeated,
                "new_fields": self.new_fields,
                "rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected]}


def _json_ready(record: dict) -> dict:
    return {k: format_datetime(v) if isinstance(v, dt.datetime) else v for k, v in record.items()}


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


def _explained(node: dict) -> dict:
    """An explanation node JSON-ready: datetimes as ``…Z``, members too."""
    out = dict(node)
    if isinstance(out.get("actual"), dt.datetime):
        out["actual"] = format_datetime(out["actual"])
    if "rules" in out:
        out["rules"] = [_explained(m) for m in out["rules"]]
    return out


class Segmenter(SegmentTools):
    """Segments over one contacts database. Every answer is computed from the data as it is now."""

    def __init__(self, url: str | None = None, *, user: str | None = None, backend: str | None = None,
                 memory_limit: int | None = None, memory_budget: str | int | None = None):
        config = settings.load()
        self.url = url or config.database_url
        store.check_url(self.url)
        self.user = user or config.user
        self.role = access.ADMIN  # whoever holds the URL may do everything; as_user() narrows it
        self.via = "python"       # which front end acts, for the audit trail: python, cli, http or app
        self.history_days = config.history_days  # checked by record_counts (SPEC §9)
        try:
            self.engine = store.make_engine(self.url)
            store.migrate(self.engine)
        except SegmenterError:
            raise
        except Exception as exc:  # a bad URL or an unreachable server: say so, no traceback at the edge
            raise SegmenterError(f"cannot open database {self.safe_url}: {exc.__class__.__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
        self.snapshot = Snapshot(self.engine)
        limit = memory_limit if memory_limit is not None else config.memory_limit
        if limit is not None:
            where = "memory_limit=" if memory_limit is not None else "SEGMENTER_MEMORY_LIMIT"
            warnings.warn(f"{where} (a contact count) is deprecated since 0.3.0 and may go after 0.5.0: set "
                          "SEGMENTER_MEMORY_BUDGET (e.g. 2GB) or connect(memory_budget=...) instead",
                          DeprecationWarning, stacklevel=3)
        # auto | memory | sql (else $SEGMENTER_BACKEND); auto answers in SQL once the snapshot would not fit the
        # memory budget (else $SEGMENTER_MEMORY_BUDGET, else 25% of the process's memory limit)
        self.backend: Backend = make_backend(self.engine, self.snapshot, backend or config.backend, limit,
                                             memory_budget_of(memory_budget if memory_budget is not None
                                                              else config.memory_budget))

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden."""
        from sqlalchemy.engine import make_url
        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except Exception:
            return "<invalid url>"

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- who acts ----
    def as_user(self, email: str, role: str, *, via: str | None = None) -> Segmenter:
        """A Segmenter over the same database and shared snapshot acting as ``email`` (a person, or an API key's
        name) with ``role`` — viewer, editor or admin (SPEC §10): calls beyond the role raise ``PermissionDenied``
        naming the role needed; saves record ``email``, and so does the audit trail."""
        return access.scope(self, email, role, via)

    def audit_log(self, limit: int = 100) -> list[dict]:
        """The newest ``limit`` audit entries, newest first: ``{"id", "at", "who", "via", "action", "segment_id",
        "segment_version", "rules", "file_name", "rows"}``; action is export, import, add, demo or erase."""
        return audit.read(self.engine, limit)

    def _entry(self, action: str, **what: Any) -> audit.Entry:
        return audit.Entry(action, self.user or access.os_user(), self.via, **what)

    def _append(self, entry: audit.Entry) -> None:
        with store.writing(self.engine) as conn:
            audit.record(conn, entry)

    # ---- fields and rules ----
    def catalogue(self) -> Catalogue:
        return self.backend.catalogue()

    def _stored_catalogue(self) -> Catalogue:
        """The fields as the database declares them, read directly: what a write checks its records against (the
        write reads them again in its transaction). Not through the back end, whose memory snapshot would first
        refresh itself — after a big write, a full reload nothing here needs; the next count does it instead."""
        with self.engine.connect() as conn:
            return store.load_catalogue(conn)

    def fields(self) -> list[dict]:
        """Every filterable field: ``{"name", "type", "custom"}``, core fields first, custom fields, then the
        pseudo-fields ``segment`` and ``sample`` (SPEC §9)."""
        return [f.as_dict() for f in self.catalogue()] + [f.as_dict() for f in PSEUDO_FIELDS.values()]

    def validate(self, rules: Any, resolver: Resolver | None = None) -> Rules:
        """Check rules against the current fields (and the saved segments they refer to); RuleError names every
        problem."""
        if isinstance(rules, Rules):
            return rules
        catalogue = self.catalogue()
        return validate_rules(rules, catalogue, resolver or _LazyResolver(self, catalogue))

    def segment_graph(self, conn=None) -> Graph:
        """Every saved segment's references (one read of the segments table)."""
        if conn is None:
            with self.engine.connect() as conn:
                return Graph(store.segment_rules(conn))
        return Graph(store.segment_rules(conn))

    def resolver(self, graph: Graph | None = None) -> Resolver:
        return Resolver(graph or self.segment_graph(), self.catalogue())

    # ---- evaluation ----
    def count(self, rules: Any) -> int:
        """How many contacts match the rules now (a preview: nothing is saved)."""
        return self.backend.count(self.validate(rules), _now())

    def funnel(self, rules: Any) -> list[dict]:
        """Contacts left after each top-level rule in turn: ``[{"rule", "position", "count"}]``."""
        from .rules import describe
        checked = self.validate(rules)
        counts = self.backend.funnel(checked, _now())
        return [{"position": n.position, "rule": describe([n.raw]), "count": c} for n, c in zip(checked.nodes, counts)]

    def order(self, order_by: Any = None, descending: Any = False) -> Order | None:
        """The checked order (None: by id); an unknown field is a RuleError naming the valid fields."""
        return Order.check(order_by, descending, self.catalogue())

    def match(self, rules: Any, *, order_by: str | None = None, descending: bool = False) -> pd.DataFrame:
        """The matching contacts as a DataFrame (core columns, then custom fields), ordered by id or ``order_by``.
        Columns are typed: text as ``string``, numbers ``float64``, datetimes tz-aware UTC, booleans ``boolean``."""
        checked = self.validate(rules)
        order = self.order(order_by, descending)
        return pd.concat(list(self.backend.frames(checked, _now(), order=order)), ignore_index=True)

    def contacts(self, rules: Any, *, limit: int | None = None, offset: int = 0, order_by: str | None = None,
                 descending: bool = False) -> list[dict]:
        """A page of the contacts matching the rules, JSON-ready, ordered by id or ``order_by``: the whole result is
        sorted before ``limit``/``offset`` (SPEC §3 Order)."""
        limit, offset = _check_page(limit, offset)
        checked = self.validate(rules)
        order = self.order(order_by, descending)
        return [_json_ready(r) for r in self.backend.page(checked, _now(), limit, offset, order=order)]

    def get_contact(self, email_or_id: Any) -> dict:
        """One contact, every field (core then custom), JSON-ready like ``contacts()``: by id (an int or its digits)
        or by email (trimmed, case ignored). ``ContactError`` when no contact has it (never existed, or erased)."""
        found = self._find_contact(email_or_id)
        if found is None:
            what = "id" if isinstance(email_or_id, int) or str(email_or_id).strip().isdigit() else "email"
            shown = email_or_id.strip().lower() if isinstance(email_or_id, str) and what == "email" else email_or_id
            raise ContactError(f"no contact has the {what} {shown!r}")
        return found

    def _find_contact(self, email_or_id: Any) -> dict | None:
        if isinstance(email_or_id, bool) or not isinstance(email_or_id, (int, str)):
            raise ContactError(f"a contact is found by its email or id, got {type(email_or_id).__name__}")
        ref = email_or_id.strip() if isinstance(email_or_id, str) else email_or_id
        if isinstance(ref, int) or ref.isdigit():
            number = int(ref)
            contact = self.backend.record(number) if 0 < number < 2**63 else None
        else:
            contact = self.backend.find_email(ref) if ref else None
        return None if contact is None else _json_ready(contact)

    def search_contacts(self, text: Any, *, limit: int = 25, offset: int = 0) -> dict:
        """Contacts whose email, name or company contains ``text``, ignoring case and accents (``jose`` finds José;
        ``segmenter/search.py``): ``{"count": n, "contacts": [a page in id order]}``, ``limit`` 1–100. Not a rule
        operator: SPEC §2's ``contains`` ignores case only."""
        return search.search_contacts(self, text, limit, offset)

    def explain(self, rules: Any, email: str) -> dict:
        """Why a contact is in or out: ``{"contact", "matches", "rules"}``, where ``rules`` has each top-level rule
        with whether this contact passes it and the contact's value beside it (``"actual"``), and each group with
        ``"match"`` (any/all), its own ``"passes"`` and its members, nested (docs/rules.md *Explaining a contact*).
        Read by the oracle (segmenter/reference.py) on the contact as the back end holds it."""
        checked = self.validate(rules)
        contact = self.backend.find_email(email)
        if contact is None:
            raise ContactError(f"no contact has the email {email.strip().lower()!r}")
        now = _now()
        # The oracle reads in_segment through the saved segments' raw rules (only read when the rules use one).
        uses_segments = '"segment"' in json.dumps(checked.canonical, default=str)
        segments = self.segment_graph().rules if uses_segments else None
        return {"contact": _json_ready(contact),
                "matches": reference.matches(checked.canonical, contact, now, segments),
                "rules": [_explained(n) for n in reference.explain(checked.canonical, contact, now, segments)]}

    def breakdown(self, rules: Any, field: str, *, limit: int = 10) -> list[dict]:
        """Matching contacts counted by ``field``, aggregated in the back end (never row by row):
        ``[{"value", "count"}]`` — for text the ``limit`` most common values then ``"(other)"`` (every remaining
        contact; its ``"values"`` says how many values it gathers); ``"true"``/``"false"``; number ranges on round
        edges (at most ``limit``, at least 2); days, weeks, months or years by the span of the dates; ``"(empty)"``
        last. docs/rules.md *Breakdown* has the exact rules (segmenter/breakdown.py)."""
        checked = self.validate(rules)
        catalogue = self.catalogue()
        if field not in catalogue:
            raise RuleError(f"unknown field {field!r}; expected one of: {', '.join(catalogue.names)}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_BREAKDOWN:
            raise SegmenterError(f"limit must be a whole number from 1 to {MAX_BREAKDOWN:,}, got {short_repr(limit)}")
        return self.backend.breakdown(checked, _now(), field, limit)

    def backend_status(self) -> dict[str, Any]:
        """Which back end answers and why: ``{"backend": "memory" | "sql", "mode": "auto" | "memory" | "sql",
        "reason", "budget", "estimate_bytes", "budget_bytes", "snapshot_bytes", "loading"}``; ``loading`` is None or
        ``{"rows", "total"}`` while a snapshot is being read in the background."""
        backend = self.backend
        if isinstance(backend, AutoBackend):
            out = backend.status()
        else:
            out = {"backend": backend.name, "reason": f"chosen: backend={backend.name!r}", "estimate_bytes": None,
                   "budget_bytes": None, "budget": None}
        out["mode"] = backend.name
        out.setdefault("loading", None)
        out["snapshot_bytes"] = self.snapshot.nbytes() if self.snapshot.seq >= 0 else 0
        out["snapshot"] = format_size(out["snapshot_bytes"])
        return out

    def total_contacts(self) -> int:
        return self.backend.total()

    def suggestions(self, field: str, limit: int = 50) -> list[str]:
        """Common values of a text field, most common first."""
        return self.backend.top_values(field, limit)

    # ---- segments ----
    def _segment_out(self, seg: dict, now: dt.datetime | None = None, resolver: Resolver | None = None) -> dict:
        """A stored segment as every read shows it; one that can no longer be evaluated (a field it names was
        removed, a segment it refers to is gone) is shown with ``contacts_count`` None and ``error`` saying why,
        never raised from a list."""
        out: dict[str, Any] = {"id": seg["id"], "name": seg["name"], "rules": seg["rules"]}
        try:
            resolver = resolver or self.resolver()
            out["contacts_count"] = self.backend.count(resolver.rules_of(seg["id"]), now or _now())
        except RuleError as exc:
            out["contacts_count"] = None
            out["error"] = str(exc)
        out.update({"version": seg["version"],
                    "created_at": format_datetime(seg["created_at"]), "updated_at": format_datetime(seg["updated_at"]),
                    "created_by": seg["created_by"], "updated_by": seg["updated_by"]})
        return out

    def list_segments(self) -> list[dict]:
        with self.engine.connect() as conn:
            segments = store.list_segments(conn)
        now = _now()
        resolver = Resolver(Graph({s["id"]: s["rules"] for s in segments}), self.catalogue())
        return [self._segment_out(s, now, resolver) for s in segments]

    def get_segment(self, segment_id: int | str) -> dict:
        with self.engine.connect() as conn:
            return self._segment_out(store.get_segment(conn, _segment_id(segment_id)))

    def _check_save(self, saving: int, rules: Any) -> tuple[Rules, dt.datetime, Any]:
        """Rules to save as segment ``saving`` (``NEW`` when created): checked, references resolved, loops and
        chains refused; with the time and the membership to record (computed before the write transaction)."""
        graph = self.segment_graph()
        checked = self.validate(rules, Resolver(graph, self.catalogue()))
        problems = graph.check(saving, checked.canonical)
        if problems:
            raise RuleError(problems)
        now = _now()
        return checked, now, self.backend.member_ids(checked, now)

    @staticmethod
    def _recheck(conn, saving: int, checked: Rules) -> None:
        """The references again inside the write transaction: a teammate may have changed a segment meanwhile."""
        problems = Graph(store.segment_rules(conn)).check(saving, checked.canonical)
        if problems:
            raise RuleError(problems)

    def create_segment(self, name: str, rules: Any, *, user: str | None = None) -> dict:
        """Save a segment (at version 1); ``user`` (else the connection's identity) is recorded as its creator. Its
        membership is recorded at once (SPEC §9)."""
        name = validate_name(name)
        checked, now, members = self._check_save(NEW, rules)
        with store.writing(self.engine) as conn:
            self._recheck(conn, NEW, checked)
            new_id = store.insert_segment(conn, name, checked.canonical, user or self.user, now)
            history.add(conn, new_id, now, members)
        return self.get_segment(new_id)

    def update_segment(self, segment_id: int, *, name: str | None = None, rules: Any = None,
                       expected_version: int | None = None, user: str | None = None) -> dict:
        """Change the name and/or rules; each such change adds one to ``version``. With ``expected_version``, a
        segment at another version is left alone and ``SegmentConflict`` names its version and last changer."""
        segment_id = _segment_id(segment_id)
        expected_version = _version(expected_version)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = validate_name(name)
        checked = members = None
        now = _now()
        if rules is not None:
            with self.engine.connect() as conn:
                store.get_segment(conn, segment_id)  # an unknown id is SegmentNotFound before any rule problem
            checked, now, members = self._check_save(segment_id, rules)
            changes["rules"] = checked.canonical
        with store.writing(self.engine) as conn:
            if changes:
                if checked is not None:
                    self._recheck(conn, segment_id, checked)
                store.update_segment(conn, segment_id, changes, user or self.user, now, expected_version)
                if members is not None:  # every change of rules is recorded (SPEC §9)
                    history.add(conn, segment_id, now, members)
            else:  # nothing to change: the version stays, but a stale or unknown one is still said
                store.check_version(conn, segment_id, expected_version)
        return self.get_segment(segment_id)

    def delete_segment(self, segment_id: int, *, expected_version: int | None = None) -> None:
        """Delete a segment and its membership records; with ``expected_version``, only if it is still at that
        version (else SegmentConflict); SegmentInUse when another segment's rules refer to it."""
        segment_id, expected_version = _segment_id(segment_id), _version(expected_version)
        with store.writing(self.engine) as conn:
            store.check_version(conn, segment_id, expected_version)
            users = Graph(store.segment_rules(conn)).users_of(segment_id)
            if users:
                names = store.segment_names(conn, users)
                listed = ", ".join(f"segment {i} ({names.get(i, '')!r})" for i in users)
                raise SegmentInUse(segment_id, users, f"segment {segment_id} is used by the rules of {listed}; "
                                                      "change or delete those first")
            history.forget_segment(conn, segment_id)
            store.delete_segment(conn, segment_id, expected_version)

    def _rules_of(self, segment_id_or_rules: Any) -> Rules:
        if isinstance(segment_id_or_rules, (list, tuple, Rules)):
            return self.validate(segment_id_or_rules)
        segment_id = _segment_id(segment_id_or_rules)
        resolver = self.resolver()
        if segment_id not in resolver.graph.rules:
            raise SegmentNotFound(segment_id)
        return resolver.rules_of(segment_id)

    def get_segment_contacts(self, segment_id: int, *, limit: int | None = None, offset: int = 0,
                             order_by: str | None = None, descending: bool = False) -> list[dict]:
        """A page of a saved segment's contacts as of now, ordered by id or by ``order_by`` (SPEC §3 Order)."""
        return self.contacts(self._rules_of(_segment_id(segment_id)), limit=limit, offset=offset,
                             order_by=order_by, descending=descending)

    def contact_batches(self, segment_id_or_rules: Any, *, limit: int | None = None, offset: int = 0,
                        order_by: str | None = None, descending: bool = False,
                        batch: int = 10_000) -> Iterator[list[dict]]:
        """``contacts`` (or ``get_segment_contacts`` for a segment id) a batch at a time: the same JSON-ready records
        in the same order, never the whole result in memory at once (the HTTP API streams JSON pages from it).
        Everything is checked here, at the call (unknown segment, invalid rules, ``order_by``, ``limit``); reading
        contacts to show them is not an export, so nothing is audited (as with ``contacts``)."""
        limit, offset = _check_page(limit, offset)
        checked = self._rules_of(segment_id_or_rules)
        order = self.order(order_by, descending)
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise SegmenterError(f"batch must be a whole number >= 1, got {short_repr(batch)}")
        batches = self.backend.record_batches(checked, _now(), batch, order=order)
        return _json_batches(_page_records(batches, limit, offset) if limit is not None or offset else batches)

    def export_csv(self, segment_id_or_rules: Any, dest: Any, *, columns: list[str] | None = None,
                   order_by: str | None = None, descending: bool = False, file_name: str | None = None,
                   bom: bool = False) -> int:
        """Write the matching contacts to ``dest`` (a path or a file object) as CSV; returns rows written.
        ``columns``: exactly these, in this order (default: core fields, then custom fields). The audit trail
        records the export under ``file_name`` (default: ``dest``'s path or name). ``bom``: start the file with a
        UTF-8 byte order mark (EF BB BF), so Excel reads it as UTF-8; the CSV itself is the same (SPEC §7)."""
        if not isinstance(bom, bool):
            raise SegmenterError(f"bom must be true or false, got {short_repr(bom)}")
        names = self.export_columns(columns)
        frames = self.export_frames(segment_id_or_rules, order_by=order_by, descending=descending,
                                    file_name=file_name or audit.file_name_of(dest))
        return csv_export.write_csv(dest, names, frames, bom=bool(bom))

    def export_columns(self, columns: Any = None) -> list[str]:
        """The CSV columns: ``columns`` checked against the fields (an unknown or repeated name is a RuleError
        naming the valid fields), else ``id,email,name,company,status,created_at`` then the custom fields."""
        default = CORE_COLUMNS + [f.name for f in self.catalogue().custom]
        if columns is None:
            return default
        return check_columns(columns, default)

    def export_frames(self, segment_id_or_rules: Any, batch: int = 50_000, *, order_by: str | None = None,
                      descending: bool = False, file_name: str | None = None, limit: int | None = None,
                      offset: int = 0):
        """The matching contacts batch by batch (rows ``offset`` to ``offset + limit``), for an export. An unknown
        segment or invalid rules fail here, at the call; the audit trail gets one entry when the iteration ends,
        with the rows the consumer took."""
        limit, offset = _check_page(limit, offset)
        if isinstance(segment_id_or_rules, (list, tuple, Rules)):
            rules = self.validate(segment_id_or_rules)
            entry = self._entry(audit.EXPORT, rules=rules.canonical, file_name=file_name)
        else:
            with self.engine.connect() as conn:
                found = store.get_segment(conn, _segment_id(segment_id_or_rules))
            rules = self.validate(found["rules"])
            entry = self._entry(audit.EXPORT, segment_id=found["id"], segment_version=found.get("version"),
                                rules=found["rules"], file_name=file_name)
        order = self.order(order_by, descending)
        frames = self.backend.frames(rules, _now(), batch, order=order)
        return self._audited(_page(frames, limit, offset) if limit is not None or offset else frames, entry)

    def _audited(self, frames: Iterable[pd.DataFrame], entry: audit.Entry) -> Iterator[pd.DataFrame]:
        try:
            for frame in frames:
                yield frame
                entry.rows += len(frame)  # counted when the consumer comes back for more: it has written this one
        finally:
            self._append(entry)

    # ---- contacts ----
    def add_contacts(self, records: Iterable[dict] | pd.DataFrame) -> list[int]:
        """Upsert by email; returns ids in input order. Any invalid record rejects the whole call.
        ``records``: dicts, or a DataFrame (one row a record). NaN, NaT and pd.NA anywhere, and None in a DataFrame,
        mean "not given": a known contact keeps its stored value. In a dict, None clears the field."""
        if isinstance(records, pd.DataFrame):
            records = frame_records(records)
        elif isinstance(records, dict) or not isinstance(records, Iterable) or isinstance(records, (str, bytes)):
            raise ContactError("records must be a list of dicts or a pandas DataFrame")
        records = list(records)
        catalogue = self._stored_catalogue()
        # A big uniform write of plain values is checked by columns as it is; anything else first loses its missing
        # values (NaN, NaT, pd.NA: not given) and is checked record by record.
        checked, new_fields, problems = check_uniform(records, catalogue) or check_records(
            [without_missing(r) for r in records], catalogue, columns=False)
        if problems:
            raise ContactError(problems)
        if not checked:
            return []
        ids, _inserted = self._write(checked, new_fields, self._entry(audit.ADD))
        return ids

    def _write(self, records: list[dict], new_fields: dict[str, str],
               entry: audit.Entry) -> tuple[list[int], int]:
        """Write checked records and their audit entry in one transaction; returns (ids in order, how many were
        new contacts)."""
        for _attempt in range(2):
            try:
                return self._write_once(records, new_fields, entry)
            except IntegrityError:
                # Another writer inserted one of these emails (or the same field) between our read and our write
                # (PostgreSQL; SQLite writers are serialised): the transaction rolled back whole, so try again.
                continue
        return self._write_once(records, new_fields, entry)  # the third try lets its IntegrityError out

    def _write_once(self, records: list[dict], new_fields: dict[str, str],
                    entry: audit.Entry) -> tuple[list[int], int]:
        now = _now()
        records = list(records)  # a record is copied only if it is changed below (the caller's rows stay as given)
        with store.writing(self.engine) as conn:
            store.add_custom_fields(conn, new_fields, now)  # refuses a field made meanwhile with another type
            catalogue = store.load_catalogue(conn)
            emails = {r["email"] for r in records}
            known = store.existing_ids(conn, catalogue, list(emails))
            new_emails = emails - set(known)
            if any("created_at" not in r for r in records):
                unseen = set(new_emails)
                created = now.replace(microsecond=0)  # shown as 2026-01-05T10:00:00Z
                for i, r in enumerate(records):  # the first record of a new email inserts it: created_at defaults
                    if r["email"] in unseen:    # to now there only
                        unseen.discard(r["email"])
                        if "created_at" not in r:
                            records[i] = {**r, "created_at": created}
            ids = store.upsert_contacts(conn, catalogue, records, known)
            if len(ids) > 50_000:
                store.prune_changes(conn)
            entry.rows = len(records)
            audit.record(conn, entry, now)
        return ids, len(new_emails)

    def delete_contacts(self, emails_or_rules: Any) -> int:
        """Erase contacts (SPEC §1): a list of emails, or rules (a list of rule dicts). One transaction; returns how
        many were removed. Afterwards no evaluation sees them, and this database's snapshot cache file holds no copy
        (it is removed and rewritten from the database on the next full load). An empty list erases nothing."""
        return erase.delete_contacts(self, emails_or_rules)

    def load_demo(self, n: int = 20_000, *, seed: int = 7) -> int:
        """Fill the database with ``n`` deterministic demo contacts (upserted by email); returns how many."""
        from .demo import demo_frame

        frame = demo_frame(n, seed=seed)
        columns = {c: plain_values(frame[c]) for c in frame.columns}  # column by column: a million rows in seconds
        records = [dict(zip(columns, row)) for row in zip(*columns.values())]
        checked, new_fields, problems = check_records(records, self._stored_catalogue())
        if problems:  # pragma: no cover - the generator makes valid contacts
            raise ContactError(problems[:5])
        self._write(checked, new_fields, self._entry(audit.DEMO))
        return len(checked)

    def preview_csv(self, source: Any, mapping: dict | None = None, *, dayfirst: bool | None = None,
                    max_bytes: int | None = None):
        """What an import would do, before anything is written: column plan, new fields and their types."""
        return csv_import.plan_csv(source, known_types(self.catalogue()), mapping, dayfirst, max_bytes)

    def import_csv(self, source: Any, mapping: dict | None = None, *, dayfirst: bool | None = None,
                   max_bytes: int | None = None) -> ImportReport:
        """Import a CSV: valid rows in one transaction, every rejected row reported with its line and reason."""
        parsed = csv_import.parse_csv(source, known_types(self._stored_catalogue()), mapping, dayfirst, max_bytes)
        report = ImportReport(rejected=[RejectedRow(n, r, tuple(cells))
                                        for (n, r), cells in zip(parsed.rejected, parsed.rejected_cells)],
                              new_fields=dict(parsed.plan.new_fields), headers=list(parsed.headers))
        records = [rec for _line, rec in parsed.rows]
        entry = self._entry(audit.IMPORT, file_name=audit.file_name_of(source))
        if records:
            _ids, inserted = self._write(records, dict(parsed.plan.new_fields), entry)
            # Counted by contact, not by row: `dup@x.com` and `DUP@x.com` in a new file are one new contact and one
            # repeated row, never "1 updated" of a contact that did not exist before the import.
            distinct = len({r["email"] for r in records})
            report.inserted, report.updated = inserted, distinct - inserted
            report.repeated = len(records) - distinct
        else:  # nothing valid: still a recorded attempt, with 0 rows written
            self._append(entry)
        return report


class _LazyResolver:
    """Reads the saved segments only when rules refer to one (most rules do not)."""

    def __init__(self, seg: Segmenter, catalogue: Catalogue):
        self.seg, self.catalogue = seg, catalogue
        self.inner: Resolver | None = None

    def __call__(self, segment_id: int) -> Rules:
        if self.inner is None:
            self.inner = Resolver(self.seg.segment_graph(), self.catalogue)
        return self.inner(segment_id)


# ---- checking records -------------------------------------------------------------------------------------------

def _segment_id(value: Any) -> int:
    if isinstance(value, bool):
        raise SegmentNotFound(value)
    if isinstance(value, int) and 0 < value <= MAX_SEGMENT_ID:
        return value  # outside the id column's range no segment can exist (and PostgreSQL would raise)
    if isinstance(value, str) and value.strip().isdigit():
        return _segment_id(int(value.strip()))
    raise SegmentNotFound(value)


def _version(value: Any) -> int | None:
    """``expected_version`` checked: None, or a whole number >= 1."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
        raise SegmenterError(f"expected_version must be a whole number >= 1, got {short_repr(value)}")
    return value


def _page(frames: Iterable[pd.DataFrame], limit: int | None, offset: int) -> Iterator[pd.DataFrame]:
    """The rows ``offset`` .. ``offset + limit`` of a sequence of frames, still batch by batch."""
    left = limit
    for frame in frames:
        if offset >= len(frame):
            offset -= len(frame)
            continue
        frame, offset = frame.iloc[offset:], 0
        if left is not None:
            frame, left = frame.iloc[:left], left - min(left, len(frame))
        yield frame
        if left == 0:
            return


def _page_records(batches: Iterable[list[dict]], limit: int | None, offset: int) -> Iterator[list[dict]]:
    """The records ``offset`` .. ``offset + limit`` of a sequence of batches, still batch by batch."""
    left = limit
    for records in batches:
        if offset >= len(records):
            offset -= len(records)
            continue
        records, offset = records[offset:], 0
        if left is not None:
            records, left = records[:left], left - min(left, len(records))
        yield records
        if left == 0:
            return


def _json_batches(batches: Iterable[list[dict]]) -> Iterator[list[dict]]:
    for records in batches:
        yield [_json_ready(r) for r in records]


MAX_PAGE = 2**63 - 1  # the largest LIMIT/OFFSET both databases take (a 64-bit integer)


def _check_page(limit: Any, offset: Any) -> tuple[int | None, int]:
    for name, value in (("limit", limit), ("offset", offset)):
        if value is None and name == "limit":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PAGE:
            raise SegmenterError(f"{name} must be a whole number >= 0 and at most {MAX_PAGE:,}, "
                                 f"got {short_repr(value)}")
    return limit, offset
