"""The SQL back end: checked rules → SQLAlchemy Core expressions evaluated inside the database (pushdown)."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Connection,
    Engine,
    Float,
    Table,
    Text,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    true,
)

from . import breakdown as bd
from . import store
from .fields import Catalogue
from .models import UTCDateTime
from .operators import BOOLEAN, DATETIME, NUMBER, TEXT, BoolPred, EmptyPred, Pred, RangePred, TextPred
from .order import Order, sql_order
from .rules import Condition, Group, Node, Rules, Sample, SegmentRef
from .sampling import TWO_64, hex_bound

# ICU's root-locale lower() is Python's str.lower for the cases the libc one gets wrong ('İ' → 'i̇', final sigma).
ICU_COLLATION = "und-x-icu"
LIKE_ESCAPE = "/"


# ---- lower-casing the way Python does, per dialect -----------------------------------------------------------

def has_icu(conn: Connection) -> bool:
    """True when the PostgreSQL server has the ICU root collation (built with ICU, the usual case)."""
    return bool(conn.execute(text("SELECT 1 FROM pg_collation WHERE collname = :c"), {"c": ICU_COLLATION}).first())


def lower_sql(column: ColumnElement, dialect: str, icu: bool) -> ColumnElement:
    """``lower(column)`` with Python's Unicode rules: SQLite calls ``str.lower`` (``py_lower``, registered on
    every connection by ``store.make_engine``); PostgreSQL lower-cases under ICU when it has it."""
    if dialect == "sqlite":
        return func.py_lower(column, type_=Text())
    if dialect == "postgresql" and icu:
        return func.lower(column.collate(ICU_COLLATION), type_=Text())
    return func.lower(column, type_=Text())


def order_lower(column: ColumnElement, dialect: str, icu: bool) -> ColumnElement:
    """``lower_sql`` for ORDER BY: compared by code point, as Python compares ``str`` (PostgreSQL's ICU or libc
    collations would order by language rules; ``"C"`` on a UTF-8 database is code point order)."""
    low = lower_sql(column, dialect, icu)
    return low.collate("C") if dialect == "postgresql" else low


def like_escape(value: str) -> str:
    """``value`` with the LIKE wildcards and the escape character taken literally (``ESCAPE '/'``)."""
    return value.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")


# ---- rules → expressions --------------------------------------------------------------------------------------

class Compiler:
    """Compiles checked rules against one contacts table; field names come only from the catalogue."""

    def __init__(self, table: Any, dialect: str, icu: bool, depth: int = 0):  # a Table, or an alias of it
        self.table, self.dialect, self.icu, self.depth = table, dialect, icu, depth

    def rules(self, rules: Rules, now: dt.datetime) -> ColumnElement:
        return and_(true(), *(self.node(n, now) for n in rules.nodes))

    def node(self, node: Node, now: dt.datetime) -> ColumnElement:
        if isinstance(node, Group):
            members = [self.node(m, now) for m in node.members]
            return or_(*members) if node.match == "any" else and_(*members)
        if isinstance(node, SegmentRef):
            return self.segment(node, now)
        if isinstance(node, Sample):
            return self.sample(node)
        return self.condition(node, now)

    def segment(self, ref: SegmentRef, now: dt.datetime) -> ColumnElement:
        """``id IN (SELECT id FROM contacts WHERE <the referenced rules>)``: one statement, no round trips."""
        inner = Compiler(self.table.alias(f"seg{self.depth + 1}"), self.dialect, self.icu, self.depth + 1)
        members = select(inner.table.c.id).where(inner.rules(ref.rules, now))
        hit = self.table.c.id.in_(members)
        return not_(hit) if ref.negate else hit

    def sample_key(self, salt: str) -> ColumnElement:
        """The contact's sample number as 16 lower-case hex digits (segmenter.sampling), computed by the database."""
        email = self.table.c.email
        if self.dialect == "sqlite":  # registered on every connection by store.make_engine
            return func.segmenter_sample_key(literal(salt, Text()), email, type_=Text())
        message = literal(salt + ":", Text()).concat(email)
        if self.dialect == "postgresql":
            digest = func.encode(func.sha256(func.convert_to(message, literal("UTF8", Text()))), literal("hex", Text()))
            return func.substr(digest, 1, 16, type_=Text()).collate("C")
        return func.substr(func.sha256(message), 1, 16, type_=Text())  # DuckDB: sha256 of the text, as hex

    def sample(self, node: Sample) -> ColumnElement:
        # One BETWEEN, so the key (a hash per row; a Python call on SQLite) is computed once: ``n < hi`` is
        # ``n <= hi - 1``, and fixed-width hex orders like the numbers.
        key = self.sample_key(node.salt)
        lo = literal(hex_bound(node.lo), Text())
        if node.hi >= TWO_64:
            return func.coalesce(key >= lo, false())
        return func.coalesce(key.between(lo, literal(hex_bound(node.hi - 1), Text())), false())

    def condition(self, cond: Condition, now: dt.datetime) -> ColumnElement:
        column = self.table.c[cond.field]
        pred = cond.pred(now)
        if isinstance(pred, EmptyPred):
            hit = self.empty(column, cond.field_type)
        else:
            # Positive tests never match an empty field; the negation of (filled AND test) then matches it.
            hit = and_(not_(self.empty(column, cond.field_type)), self.positive(column, cond.field_type, pred))
        return not_(hit) if cond.negate else hit

    @staticmethod
    def empty(column, field_type: str) -> ColumnElement:
        if field_type == TEXT:
            return or_(column.is_(None), column == "")
        return column.is_(None)

    def positive(self, column: ColumnElement, field_type: str, pred: Pred) -> ColumnElement:
        """One method per predicate (sqlglot's way): ``text_test``, ``in_range``, ``boolean``."""
        method = self._POSITIVE.get(type(pred))
        if method is None:
            raise TypeError(f"no SQL form for predicate {pred!r}")
        return getattr(self, method)(column, field_type, pred)

    _POSITIVE: dict[type, str] = {TextPred: "text_test", RangePred: "in_range", BoolPred: "boolean"}

    def in_range(self, column: ColumnElement, field_type: str, pred: RangePred) -> ColumnElement:
        # Bind through the stored type: SQLite compares datetimes as naive-UTC text in the same format.
        kind = UTCDateTime() if field_type == DATETIME else Float()
        # Numbers are 64-bit floats on every back end (the memory one compares float(V)); an integer beyond 64 bits
        # could not even be bound on SQLite.
        bound = (lambda v: v) if field_type == DATETIME else float
        parts = []
        if pred.lo is not None:
            lo = literal(bound(pred.lo), kind)
            parts.append(column >= lo if pred.lo_inclusive else column > lo)
        if pred.hi is not None:
            hi = literal(bound(pred.hi), kind)
            parts.append(column <= hi if pred.hi_inclusive else column < hi)
        return and_(true(), *parts)

    @staticmethod
    def boolean(column: ColumnElement, field_type: str, pred: BoolPred) -> ColumnElement:
        return column == literal(pred.value, Boolean())

    def text_test(self, column: ColumnElement, field_type: str, pred: TextPred) -> ColumnElement:
        return self.text(column, pred)

    def text(self, column: ColumnElement, pred: TextPred) -> ColumnElement:
        """One method per kind (sqlglot's way): ``text_equals``, ``text_in``, ``text_contains``, …"""
        low = lower_sql(column, self.dialect, self.icu)
        values = pred.values
        if any("\x00" in v for v in values):
            if self.dialect == "postgresql":
                # PostgreSQL text cannot hold NUL: no stored value equals or contains such a value (and binding it
                # would be an error)
                values = tuple(v for v in values if "\x00" not in v)
                if not values:
                    return false()
            elif pred.kind in NUL_SAFE_KINDS:
                # SQLite's LIKE stops reading its pattern at NUL ('a\x00b' would be 'a'): Python's own test instead
                return func.py_text_test(pred.kind, low, literal(values[0], Text())) == 1
        return getattr(self, f"text_{pred.kind}")(low, values)

    @staticmethod
    def text_equals(low: ColumnElement, values: tuple[str, ...]) -> ColumnElement:
        return low == literal(values[0], Text())

    def text_in(self, low: ColumnElement, values: tuple[str, ...]) -> ColumnElement:
        """One bound parameter for the whole list, whatever its length: SPEC's maxima (100 rules of 1,000 items)
        are more parameters than PostgreSQL (65,535) or SQLite (32,766) take one by one."""
        if self.dialect == "postgresql":
            # IN (SELECT unnest(:array)) rather than ``= ANY(:array)``: with many rules the planner chose to probe
            # company's trigram index once per item and rule, which took minutes (100 rules of 32 items or more).
            return low.in_(select(func.unnest(literal(list(values), ARRAY(Text())))).scalar_subquery())
        if self.dialect == "sqlite":
            items = func.json_each(literal(json.dumps(values, ensure_ascii=False), Text())).table_valued("value")
            return low.in_(select(items.c.value).scalar_subquery())
        return low.in_([literal(x, Text()) for x in values])

    @staticmethod
    def _like(low: ColumnElement, pattern: str) -> ColumnElement:
        return low.like(literal(pattern, Text()), escape=LIKE_ESCAPE)

    def text_contains(self, low: ColumnElement, values: tuple[str, ...]) -> ColumnElement:
        return self._like(low, f"%{like_escape(values[0])}%")

    def text_starts_with(self, low: ColumnElement, values: tuple[str, ...]) -> ColumnElement:
        return self._like(low, f"{like_escape(values[0])}%")

    def text_ends_with(self, low: ColumnElement, values: tuple[str, ...]) -> ColumnElement:
        return self._like(low, f"%{like_escape(values[0])}")


NUL_SAFE_KINDS = ("contains", "starts_with", "ends_with")


# ---- reading rows back in the snapshot's shapes ------------------------------------------------------------------

def _plain_number(v: Any) -> Any:
    if v is None:
        return None
    v = float(v)
    if v != v:
        return None
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


def _read_back(field_type: str, value: Any) -> Any:
    """A stored value as the in-memory back end shows it ('' is empty: None)."""
    if value is None:
        return None
    if field_type == TEXT:
        return value if value != "" else None
    if field_type == NUMBER:
        return _plain_number(value)
    if field_type == BOOLEAN:
        return bool(value)
    return value


def _frame(catalogue: Catalogue, rows: Sequence[Any]) -> pd.DataFrame:
    """Rows (in catalogue order) → a DataFrame typed like ``Snapshot.frame``."""
    columns = list(zip(*rows)) if rows else [() for _ in catalogue]
    data: dict[str, Any] = {}
    for f, values in zip(catalogue, columns):
        if f.name == "id":
            data["id"] = np.array(values, dtype=np.int64)
        elif f.type == TEXT:
            data[f.name] = pd.array([v if v != "" else None for v in values], dtype="string")
        elif f.type == NUMBER:
            data[f.name] = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        elif f.type == DATETIME:
            data[f.name] = pd.Series(pd.to_datetime(list(values), utc=True), dtype="datetime64[us, UTC]")
        else:
            data[f.name] = pd.array([None if v is None else bool(v) for v in values], dtype="boolean")
    return pd.DataFrame(data).reset_index(drop=True)


# ---- the back end ----------------------------------------------------------------------------------------------

class SqlBackend:
    """Answers counts, funnels, pages and exports with SQL run by the database; nothing is held in memory."""

    name = "sql"

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        self._icu: bool | None = None
        self._tables: dict[tuple, Table] = {}

    def _setup(self, conn: Connection) -> tuple[Catalogue, Compiler]:
        if self._icu is None:
            self._icu = self.dialect == "postgresql" and has_icu(conn)
        catalogue = store.load_catalogue(conn)
        key = tuple((f.name, f.type) for f in catalogue.custom)
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = store.table_for(catalogue)
        return catalogue, Compiler(table, self.dialect, self._icu)

    def where(self, conn: Connection, rules: Rules, now: dt.datetime) -> tuple[Catalogue, Table, ColumnElement]:
        catalogue, compiler = self._setup(conn)
        return catalogue, compiler.table, compiler.rules(rules, now)

    def count(self, rules: Rules, now: dt.datetime) -> int:
        with self.engine.connect() as conn:
            _cat, table, where = self.where(conn, rules, now)
            return conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()

    def count_many(self, rules: list[Rules], now: dt.datetime) -> list[int]:
        """The counts of several rule sets, all counted in one scan."""
        if not rules:
            return []
        with self.engine.connect() as conn:
            _cat, compiler = self._setup(conn)
            counts = [func.count().filter(compiler.rules(r, now)) for r in rules]
            return [int(c) for c in conn.execute(select(*counts).select_from(compiler.table)).one()]

    def member_ids(self, rules: Rules, now: dt.datetime) -> np.ndarray:
        """The ids of the matching contacts, ascending (membership records)."""
        with self.engine.connect() as conn:
            _cat, table, where = self.where(conn, rules, now)
            result = conn.execute(select(table.c.id).where(where).order_by(table.c.id))
            return np.fromiter((r[0] for r in result), dtype=np.int64)

    def funnel(self, rules: Rules, now: dt.datetime) -> list[int]:
        """Contacts left after each top-level rule, all counted in one scan."""
        if not rules.nodes:
            return []
        with self.engine.connect() as conn:
            _cat, compiler = self._setup(conn)
            exprs = [compiler.node(n, now) for n in rules.nodes]
            counts = [func.count().filter(and_(*exprs[:i + 1])) for i in range(len(exprs))]
            return [int(c) for c in conn.execute(select(*counts).select_from(compiler.table)).one()]

    def _select(self, catalogue: Catalogue, table: Table, where: ColumnElement, order: Order | None = None):
        lower = lambda column: order_lower(column, self.dialect, bool(self._icu))  # noqa: E731
        return select(*(table.c[f.name] for f in catalogue)).where(where).order_by(*sql_order(order, table, lower))

    def _records(self, catalogue: Catalogue, rows) -> list[dict]:
        types = [(f.name, f.type) for f in catalogue]
        return [{name: (int(v) if name == "id" else _read_back(t, v)) for (name, t), v in zip(types, row)}
                for row in rows]

    def page(self, rules: Rules, now: dt.datetime, limit: int | None, offset: int, *,
             order: Order | None = None) -> list[dict]:
        with self.engine.connect() as conn:
            catalogue, table, where = self.where(conn, rules, now)
            stmt = self._select(catalogue, table, where, order).offset(offset or None)
            if limit is not None:
                stmt = stmt.limit(limit)
            return self._records(catalogue, conn.execute(stmt))

    def frames(self, rules: Rules, now: dt.datetime, batch: int = 50_000, *,
               order: Order | None = None) -> Iterator[pd.DataFrame]:
        """The matching contacts as DataFrames of at most ``batch`` rows, in ``order`` (None: id order), read through
        a server-side cursor (PostgreSQL) so an export never holds the whole result; always at least one frame."""
        return self._partitions(rules, now, batch, order, _frame)

    def record_batches(self, rules: Rules, now: dt.datetime, batch: int = 10_000, *,
                       order: Order | None = None) -> Iterator[list[dict]]:
        """``page``'s records, ``batch`` at a time, through a server-side cursor (PostgreSQL)."""
        return self._partitions(rules, now, batch, order, self._records)

    def _partitions(self, rules: Rules, now: dt.datetime, batch: int, order: Order | None, convert):
        """The matching rows ``batch`` at a time through a server-side cursor, each batch made by
        ``convert(catalogue, rows)``; one empty batch when nothing matches."""
        with self.engine.connect() as conn:
            catalogue, table, where = self.where(conn, rules, now)
            result = conn.execution_options(yield_per=batch).execute(self._select(catalogue, table, where, order))
            sent = False
            for part in result.partitions():
                sent = True
                yield convert(catalogue, part)
            if not sent:
                yield convert(catalogue, [])

    def total(self) -> int:
        with self.engine.connect() as conn:
            return store.count_contacts(conn)

    def _one(self, condition) -> dict | None:
        with self.engine.connect() as conn:
            catalogue, compiler = self._setup(conn)
            table = compiler.table
            rows = conn.execute(self._select(catalogue, table, condition(table)).limit(1)).all()
            return self._records(catalogue, rows)[0] if rows else None

    def record(self, contact_id: int) -> dict | None:
        return self._one(lambda t: t.c.id == int(contact_id))

    def find_email(self, email: str) -> dict | None:
        return self._one(lambda t: t.c.email == email.strip().lower())  # stored trimmed and lower-cased

    def top_values(self, field: str, limit: int) -> list[str]:
        """The most common values of a text field, ties in order of first appearance."""
        with self.engine.connect() as conn:
            catalogue, compiler = self._setup(conn)
            f = catalogue.get(field)
            if f is None or f.type != TEXT:
                return []
            col = compiler.table.c[field]
            stmt = (select(col).where(col.is_not(None), col != "").group_by(col)
                    .order_by(func.count().desc(), func.min(compiler.table.c.id)).limit(limit))
            return [v for (v,) in conn.execute(stmt)]

    def breakdown(self, rules: Rules, now: dt.datetime, field: str, limit: int) -> list[dict]:
        """Matching contacts counted by a field, aggregated by the database and folded by segmenter/breakdown.py
        exactly as the in-memory back end folds (``evaluate._breakdown``)."""
        with self.engine.connect() as conn:
            catalogue, compiler = self._setup(conn)
            f = catalogue.get(field)
            if f is None or field == "id":
                return []
            table, col = compiler.table, compiler.table.c[field]
            where = compiler.rules(rules, now)
            empty = compiler.empty(col, f.type)
            counted = select(func.count()).select_from(table).where(where)
            n_empty = conn.execute(counted.where(empty)).scalar_one()
            filled = and_(where, not_(empty))
            out = _BREAKDOWNS[f.type](self, conn, table, col, filled, limit)
        return bd.with_empty(out, n_empty)

    def _text_breakdown(self, conn, table, col, filled, limit):
        top = conn.execute(select(col, func.count()).select_from(table).where(filled).group_by(col)
                           .order_by(func.count().desc(), func.min(table.c.id)).limit(limit)).all()
        n_filled, distinct = conn.execute(select(func.count(), func.count(col.distinct()))
                                          .select_from(table).where(filled)).one()
        return bd.text_rows([(v, int(n)) for v, n in top], int(distinct), int(n_filled), limit)

    def _bool_breakdown(self, conn, table, col, filled, limit):
        yes, no = conn.execute(select(func.count().filter(col == literal(True, Boolean())),
                                      func.count().filter(col == literal(False, Boolean())))
                               .select_from(table).where(filled)).one()
        return [{"value": v, "count": int(n)} for v, n in (("true", yes), ("false", no)) if n]

    def _unit(self, col, unit: str):
        """The day, month or year of a datetime as text (``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``), in UTC."""
        if self.dialect == "sqlite":  # naive UTC text, 'YYYY-MM-DD HH:...'
            return func.substr(col, 1, {"day": 10, "month": 7, "year": 4}[unit])
        if self.dialect == "postgresql":
            pattern = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}[unit]
            return func.to_char(func.timezone("UTC", col), pattern)
        return func.strftime(col, {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[unit])

    def _datetime_breakdown(self, conn, table, col, filled, limit):
        first, last = conn.execute(select(func.min(col), func.max(col)).select_from(table).where(filled)).one()
        if first is None:
            return []
        period, n = bd.choose_period(bd.as_date(first), bd.as_date(last))
        unit = bd.base_unit(period)
        key = self._unit(col, unit).label("unit")
        rows = conn.execute(select(key, func.count()).select_from(table).where(filled).group_by(key)).all()
        pad = {"day": "", "month": "-01", "year": "-01-01"}[unit]
        starts = ((dt.date.fromisoformat(f"{k}{pad}"), int(c)) for k, c in rows)
        return [{"value": v, "count": c} for v, c in bd.period_rows(starts, period, n)]

    def _number_breakdown(self, conn, table, col, filled, limit):
        lo, hi = conn.execute(select(func.min(col), func.max(col)).select_from(table).where(filled)).one()
        if lo is None:
            return []
        edges, exponent = bd.number_edges(float(lo), float(hi), limit)
        # the last i with edges[i] <= x, on the same float edges as the in-memory back end's searchsorted
        inner = [(col < literal(e, Float()), i) for i, e in enumerate(edges[1:-1])]
        bucket = case(*inner, else_=len(edges) - 2) if inner else literal(0)
        counts = dict(conn.execute(select(bucket.label("b"), func.count()).select_from(table).where(filled)
                                   .group_by(text("1"))).all())
        return [{"value": v, "count": c} for v, c in bd.number_rows(edges, exponent, counts)]

    def catalogue(self) -> Catalogue:
        with self.engine.connect() as conn:
            return store.load_catalogue(conn)


_BREAKDOWNS = {TEXT: SqlBackend._text_breakdown, BOOLEAN: SqlBackend._bool_breakdown,
               DATETIME: SqlBackend._datetime_breakdown, NUMBER: SqlBackend._number_breakdown}
