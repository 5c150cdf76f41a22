"""The database: engine set-up, migrations on connect, and the repository of contacts, custom fields,
segments and the change log. Functions take an engine or connection and return plain data."""
from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    false,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError

from .errors import ContactError, SegmentConflict, SegmenterError, SegmentNotFound
from .fields import Catalogue, Field
from .models import ContactChange, CustomField, Segment, UTCDateTime, contacts_table, custom_column
from .sampling import sample_key

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_MS = 30_000
MAX_INT32 = 2**31 - 1


def _py_lower(value):
    return value.lower() if isinstance(value, str) else value


def _py_text_test(kind: str, low: str | None, value: str) -> int:
    """SQLite's ``py_text_test``: the LIKE kinds as Python does them, for values LIKE cannot carry (NUL)."""
    if not isinstance(low, str):
        return 0
    if kind == "contains":
        return int(value in low)
    return int(low.startswith(value) if kind == "starts_with" else low.endswith(value))


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL, a busy timeout, Unicode ``py_lower`` and IMMEDIATE writes."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000, "check_same_thread": False})
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        dbapi_conn.create_function("py_lower", 1, _py_lower, deterministic=True)
        dbapi_conn.create_function("py_text_test", 3, _py_text_test, deterministic=True)
        dbapi_conn.create_function("segmenter_sample_key", 2, sample_key, deterministic=True)

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        # Writers take the lock up front so two writers queue on the busy timeout instead of failing mid-way.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction (IMMEDIATE on SQLite): committed on success, rolled back on any error."""
    try:
        with engine.connect().execution_options(write=True) as conn, conn.begin():
            yield conn
    except DBAPIError as exc:
        if _disk_full(exc):
            raise SegmenterError(f"the disk of the database is full: nothing was written ({_first_line(exc.orig)}); "
                                 "free some space and try again") from exc
        raise


SQLITE_FULL = 13
POSTGRES_DISK_FULL = "53100"


def _disk_full(exc: DBAPIError) -> bool:
    """SQLite's SQLITE_FULL ("database or disk is full") or PostgreSQL's disk_full (53100)."""
    orig = exc.orig
    return (getattr(orig, "sqlite_errorcode", None) == SQLITE_FULL
            or getattr(orig, "sqlstate", None) == POSTGRES_DISK_FULL)


def _first_line(value: object) -> str:
    text_ = str(value)
    return text_.splitlines()[0] if text_ else type(value).__name__


def _alembic_config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it is there already."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with engine.connect() as conn:
        if MigrationContext.configure(conn).get_current_revision() == head:
            return
    with writing(engine) as conn:
        if conn.dialect.name == "postgresql":  # two processes starting at once migrate one after the other
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(74151)")
        if MigrationContext.configure(conn).get_current_revision() != head:
            command.upgrade(_alembic_config(conn), "head")


# ---- custom fields ---------------------------------------------------------------------------------------------

def contact_columns(conn: Connection) -> list[str]:
    """The columns ``contacts`` has right now (a column dropped by hand is gone from this list)."""
    if conn.dialect.name == "sqlite":
        return [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(contacts)")]
    if conn.dialect.name == "postgresql":
        return list(conn.execute(text(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'contacts'::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum")).scalars())
    # Other engines (DuckDB in the tests): the result's own column names. SQLAlchemy's inspector is no good here:
    # duckdb-engine's reads PostgreSQL's pg_collation, which DuckDB does not have.
    return list(conn.execute(text("SELECT * FROM contacts LIMIT 0")).keys())


def schema_token(conn: Connection) -> str:
    """Changes whenever the shape of the database changes (a column added or dropped by anyone, by any path):
    SQLite's ``schema_version`` counter; elsewhere the list of ``contacts``'s columns."""
    if conn.dialect.name == "sqlite":
        return str(conn.exec_driver_sql("PRAGMA schema_version").scalar_one())
    return ",".join(contact_columns(conn))


def load_catalogue(conn: Connection) -> Catalogue:
    """The custom fields declared in ``custom_fields`` whose column still exists: a column dropped by hand is not a
    field any more (segments on it become rules that cannot be evaluated, SPEC §3)."""
    # fetched whole before the next query: DuckDB's cursor drops an unread result when the connection runs another
    rows = conn.execute(select(CustomField.name, CustomField.type)
                        .order_by(CustomField.created_at, CustomField.name)).all()
    columns = set(contact_columns(conn))
    return Catalogue([Field(n, t, True) for n, t in rows if n in columns])


def add_custom_fields(conn: Connection, new: dict[str, str], now: dt.datetime) -> None:
    """Declare custom fields and add their columns (inside the caller's transaction)."""
    if new and conn.dialect.name == "postgresql":
        # Two writers adding the same field: the second waits here, then sees it (SQLite writers are serialised by
        # BEGIN IMMEDIATE already).
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(74152)")
    catalogue = load_catalogue(conn)
    for name, field_type in new.items():
        made = catalogue.get(name)
        if made is not None and made.type != field_type:
            # Another import made the same field meanwhile, with another type: the values checked for one type
            # cannot be written to the other. The caller's transaction rolls back, so nothing is written.
            raise ContactError(f"field {name!r} was just created as {made.type} by another import, but this one "
                               f"has it as {field_type}; nothing was written — import again to use the {made.type} "
                               "field, or map the column to another name")
    new = {k: v for k, v in new.items() if k not in catalogue}
    if not new:
        return
    # A field whose column was dropped by hand leaves its row behind: the new field replaces it.
    conn.execute(delete(CustomField).where(CustomField.name.in_(list(new))))
    ops = Operations(MigrationContext.configure(conn))
    for i, (name, field_type) in enumerate(new.items()):
        ops.add_column("contacts", custom_column(name, field_type))
        # A microsecond apart, so the catalogue lists fields in the order they were given.
        conn.execute(insert(CustomField).values(name=name, type=field_type,
                                                created_at=now + dt.timedelta(microseconds=i)))
    # A new column changes every row's shape: tell every snapshot to reload.
    conn.execute(insert(ContactChange).values(contact_id=None))


def table_for(catalogue: Catalogue):
    return contacts_table([(f.name, f.type) for f in catalogue.custom])


# ---- contacts --------------------------------------------------------------------------------------------------

def existing_ids(conn: Connection, catalogue: Catalogue, emails: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"  # through the driver: no statement compiled per chunk
    for i in range(0, len(emails), 5_000):  # well under SQLite's 32,766 and PostgreSQL's 65,535 parameters
        chunk = emails[i:i + 5_000]
        sql = f"SELECT email, id FROM contacts WHERE email IN ({', '.join([mark] * len(chunk))})"
        found.update(conn.exec_driver_sql(sql, tuple(chunk)).fetchall())
    return found


def _insert(conn: Connection, table, keys: list[str], rows: list[dict]) -> list[int]:
    """Insert rows (an absent key is NULL); their new ids in order."""
    if conn.dialect.name != "sqlite":
        full = [{k: r.get(k) for k in keys} for r in rows]
        return [r[0] for r in conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), full)]
    return _sqlite_insert(conn, table, keys, _driver_rows(conn, table, keys, rows))


def _sqlite_insert(conn: Connection, table, keys: list[str], params: list[tuple]) -> list[int]:
    """SQLite: one executemany of driver parameters without RETURNING (SQLAlchemy would run one statement per row to
    keep RETURNING in order), then the ids above the old largest one: we hold the write lock and AUTOINCREMENT hands
    out increasing ids, so those are exactly ours, in order."""
    before = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    quote = conn.dialect.identifier_preparer.quote
    conn.exec_driver_sql(f"INSERT INTO contacts ({', '.join(quote(k) for k in keys)}) "
                         f"VALUES ({', '.join('?' for _ in keys)})", params)
    ids = [r[0] for r in conn.execute(select(table.c.id).where(table.c.id > before).order_by(table.c.id))]
    if len(ids) != len(params):  # pragma: no cover - only if another writer got past the IMMEDIATE lock
        raise SegmenterError("contacts changed while they were being inserted; nothing was written")
    return ids


def _sqlite_update(conn: Connection, keys: list[str], params: list[tuple]) -> None:
    """SQLite: one executemany of ``UPDATE … SET keys WHERE id = ?``, each parameter tuple ending with the id."""
    quote = conn.dialect.identifier_preparer.quote
    conn.exec_driver_sql(f"UPDATE contacts SET {', '.join(f'{quote(k)} = ?' for k in keys)} WHERE id = ?", params)


def _processors(conn: Connection, table, keys: list[str]) -> list[tuple[int, Any]]:
    """(position, bind processor) for each of ``keys`` whose type has one: what SQLAlchemy would apply per value."""
    processors = []
    for j, k in enumerate(keys):
        process = table.c[k].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process and conn.dialect.name == "sqlite" and isinstance(table.c[k].type, UTCDateTime):
            process = _sqlite_datetime(process)
        if process:
            processors.append((j, process))
    return processors


def _driver_rows(conn: Connection, table, keys: list[str], rows: list[dict]) -> list[tuple]:
    """Rows as driver parameter tuples (an absent key is None), each column through its type's bind processor
    once: the same values SQLAlchemy would send, without its per-row work."""
    processors = _processors(conn, table, keys)
    tuples = [tuple(map(r.get, keys)) for r in rows]  # one pass in C per record, not one per column
    if not processors or not tuples:
        return tuples
    columns = [list(c) for c in zip(*tuples)]
    for j, process in processors:
        columns[j] = [process(v) for v in columns[j]]
    return list(zip(*columns))


def _write_columns(conn: Connection, table, records: list[dict], known: dict[str, int]) -> list[int] | None:
    """SQLite, the usual big write of distinct emails: every email new (one ``INSERT`` ``executemany``; an absent key
    is NULL, as in ``_insert``), or every email known and the same keys in
    the same order in every record (one ``UPDATE … WHERE id = ?`` ``executemany`` of every key but the email; an
    absent key must be left alone, so a mix goes to the general path). Bound a column at a time: no tuple per record
    built and taken apart again, no per-record bookkeeping. None when the records are otherwise: the general path
    then runs."""
    emails = list(map(operator.itemgetter("email"), records))
    if len(set(emails)) != len(emails):
        return None
    fresh = known.keys().isdisjoint(emails)
    if fresh:
        keys = list(records[0])
        if len(set(map(tuple, records))) == 1:
            columns: list[list] = [list(map(operator.itemgetter(k), records)) for k in keys]
        else:  # CSV rows leave empty cells out: for a new contact that is NULL
            given = set().union(*map(dict.keys, records))
            keys = [c.name for c in table.columns if c.name in given]
            keys += sorted(given - set(keys))  # none: records hold catalogue fields only
            columns = [[r.get(k) for r in records] for k in keys]
    elif all(map(known.__contains__, emails)) and len(set(map(tuple, records))) == 1:
        keys = [k for k in records[0] if k != "email"]
        columns = [list(map(operator.itemgetter(k), records)) for k in keys]
    else:
        return None  # some new and some known, or known records with different keys
    for j, process in _processors(conn, table, keys):
        columns[j] = list(map(process, columns[j]))
    if not fresh:
        ids = list(map(known.__getitem__, emails))
        if keys:
            _sqlite_update(conn, keys, list(zip(*columns, ids)))
        return ids
    ids = _sqlite_insert(conn, table, keys, list(zip(*columns)))
    known.update(zip(emails, ids))
    return ids


def _sqlite_datetime(process):
    """SQLAlchemy's bind processor for a UTC datetime on SQLite, with a shortcut for an aware UTC ``datetime``
    (what checked records hold): ``isoformat`` gives the very text SQLAlchemy's ``%(year)04d-…%(microsecond)06d``
    format gives, without its call chain. Anything else goes through SQLAlchemy."""
    def fast(value):
        if type(value) is dt.datetime and value.tzinfo is dt.UTC:
            return value.isoformat(" ", "microseconds")[:26]
        return process(value)
    return fast


def _update(conn: Connection, table, keys: list[str], rows: list[dict], ids: list[int]) -> None:
    if conn.dialect.name != "sqlite":
        stmt = update(table).where(table.c.id == bindparam("_id"))
        conn.execute(stmt, [{**{k: r[k] for k in keys}, "_id": i} for r, i in zip(rows, ids)])
        return
    _sqlite_update(conn, keys, [(*values, i) for values, i in zip(_driver_rows(conn, table, keys, rows), ids)])


COPY_FROM = 10_000  # records; from here a PostgreSQL upsert goes through COPY and one UPDATE and one INSERT


def upsert_contacts(conn: Connection, catalogue: Catalogue, records: list[dict], known: dict[str, int]) -> list[int]:
    """Insert or update by email, in order (a later record with the same email wins). Records are checked and
    typed already; a key present in a record is written (None clears it), an absent key is left alone.
    ``known`` maps the emails already stored to their ids (it is extended with the new ones). Known emails are
    updated in place, so an update never spends an id."""
    table = table_for(catalogue)
    if conn.dialect.name == "postgresql" and len(records) >= COPY_FROM:
        return _upsert_by_copy(conn, table, records, known)
    if conn.dialect.name == "sqlite" and len(records) > 10_000:
        # A big write updates the email index all over the file: a larger page cache saves most of the I/O.
        conn.exec_driver_sql("PRAGMA cache_size = -262144")
        written = _write_columns(conn, table, records, known)
        if written is not None:
            return written
    ids: list[int] = [0] * len(records)
    # Pending writes, all for distinct emails, so their order does not matter except among inserts (ids ascend in
    # input order). Inserts go in one batch: an absent key and NULL are the same for a new row. Updates are
    # bucketed by the keys they set, because an absent key must be left alone. CSV rows omit empty cells, so
    # grouping only consecutive records with equal keys would mean a statement every few rows.
    inserts: list[tuple[int, dict]] = []
    updates: dict[tuple, list[tuple[int, dict]]] = {}
    pending_emails: set[str] = set()

    def flush():
        if inserts:
            given = set().union(*(rec.keys() for _, rec in inserts))
            columns = [c.name for c in table.columns if c.name in given]
            columns += sorted(given - set(columns))  # none: records hold catalogue fields only
            for (i, rec), new_id in zip(inserts, _insert(conn, table, columns, [rec for _, rec in inserts])):
                ids[i] = known[rec["email"]] = new_id
        for keys, pending in updates.items():
            if len(keys) > 1:  # more than the email: something to set
                _update(conn, table, [k for k in keys if k != "email"], [rec for _, rec in pending],
                        [known[rec["email"]] for _, rec in pending])
            for i, rec in pending:
                ids[i] = known[rec["email"]]
        inserts.clear()
        updates.clear()
        pending_emails.clear()

    for i, rec in enumerate(records):
        # A repeated email waits for the earlier record to be written: then it is a known email, updated in turn.
        if rec["email"] in pending_emails or len(pending_emails) >= 50_000:
            flush()
        if rec["email"] in known:
            updates.setdefault(tuple(sorted(rec)), []).append((i, rec))
        else:
            inserts.append((i, rec))
        pending_emails.add(rec["email"])
    flush()
    return ids


def _upsert_by_copy(conn: Connection, table, records: list[dict], known: dict[str, int]) -> list[int]:
    """PostgreSQL, many records: the records of each email merged in order (a later key overrides, an absent key is
    left alone — what applying them one after the other does), COPY'd into a temporary staging table with a flag
    per column saying whether the record set it, then one ``UPDATE … FROM`` for the known emails and one
    ``INSERT … SELECT`` for the new ones in input order. No row of an update touches the sequence."""
    merged: dict[str, dict] = {}
    for rec in records:
        merged.setdefault(rec["email"], {}).update(rec)
    given = set().union(*merged.values())  # a column no record names keeps its default on insert
    columns = [c.name for c in table.columns if c.name not in ("id", "email") and c.name in given]
    quote = conn.dialect.identifier_preparer.quote
    flags = {c: f"_set{i}" for i, c in enumerate(columns)}
    types = {c: table.c[c].type.compile(dialect=conn.dialect) for c in columns}
    conn.exec_driver_sql("CREATE TEMPORARY TABLE segmenter_staging (_n bigint, email text, "
                         + ", ".join(f"{quote(c)} {types[c]}, {flags[c]} boolean" for c in columns)
                         + ") ON COMMIT DROP")
    driver = conn.connection.driver_connection
    assert driver is not None  # an open connection in a transaction
    cursor = driver.cursor()  # psycopg 3: its COPY support
    names = ["_n", "email"] + [x for c in columns for x in (quote(c), flags[c])]
    with cursor.copy(f"COPY segmenter_staging ({', '.join(names)}) FROM STDIN") as copy:
        for n, (email, rec) in enumerate(merged.items()):
            row: list = [n, email]
            for c in columns:
                present = c in rec
                row += [rec[c] if present else None, present]
            copy.write_row(row)
    conn.exec_driver_sql("ANALYZE segmenter_staging")
    if columns and any(email in known for email in merged):
        # Only rows where something changes are touched: a record that sets nothing, or sets every value to what is
        # stored already, writes no new row version, no index entries and no change-log entry (re-importing the same
        # file costs a join, not a rewrite of the table).
        sets = ", ".join(f"{quote(c)} = CASE WHEN s.{flags[c]} THEN s.{quote(c)} ELSE c.{quote(c)} END"
                         for c in columns)
        anything = " OR ".join(f"(s.{flags[c]} AND c.{quote(c)} IS DISTINCT FROM s.{quote(c)})" for c in columns)
        conn.exec_driver_sql(f"UPDATE contacts AS c SET {sets} FROM segmenter_staging AS s "
                             f"WHERE c.email = s.email AND ({anything})")
    if any(email not in known for email in merged):
        # Known emails are filtered by the list we read, not by a NOT EXISTS: an email another writer inserted
        # meanwhile fails the unique index (IntegrityError), and the caller retries the whole write.
        conn.exec_driver_sql("CREATE TEMPORARY TABLE segmenter_known (email text PRIMARY KEY) ON COMMIT DROP")
        with cursor.copy("COPY segmenter_known (email) FROM STDIN") as copy:
            for email in merged:
                if email in known:
                    copy.write_row((email,))
        cols = "".join(", " + quote(c) for c in columns)
        result = conn.exec_driver_sql(
            f"INSERT INTO contacts (email{cols}) SELECT s.email{''.join(', s.' + quote(c) for c in columns)} "
            "FROM segmenter_staging AS s WHERE NOT EXISTS (SELECT 1 FROM segmenter_known AS k WHERE k.email = s.email) "
            "ORDER BY s._n RETURNING id, email")
        known.update({e: i for i, e in result})
        conn.exec_driver_sql("DROP TABLE segmenter_known")
    conn.exec_driver_sql("DROP TABLE segmenter_staging")
    return [known[rec["email"]] for rec in records]


def count_contacts(conn: Connection) -> int:
    return conn.execute(text("SELECT count(*) FROM contacts")).scalar_one()


def change_watermark(conn: Connection) -> int:
    return conn.execute(select(func.coalesce(func.max(ContactChange.seq), 0))).scalar_one()


def change_counter(conn: Connection) -> int:
    """The last ``seq`` the change log's counter handed out. Emptying the log does not reset it; only rewinding
    the counter by hand does (``DELETE FROM sqlite_sequence``, ``TRUNCATE … RESTART IDENTITY``)."""
    if conn.dialect.name == "sqlite":
        value = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'contact_changes'").scalar()
    elif conn.dialect.name == "postgresql":
        value = conn.execute(text(
            "SELECT last_value FROM pg_sequences WHERE sequencename = 'contact_changes_seq_seq' "
            "AND schemaname = current_schema()")).scalar()
    else:  # pragma: no cover - other engines: the newest entry is all we can know
        value = change_watermark(conn)
    return int(value or 0)


def _writer_in_flight(conn: Connection) -> bool:
    """PostgreSQL: whether a transaction holds the change log's writer lock (it has taken a ``seq`` that is not
    committed yet, so the counter is ahead of what a reader can see)."""
    return conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = 'contact_changes'::regclass "
        "AND mode = 'ShareRowExclusiveLock' AND granted AND pid <> pg_backend_pid())")).scalar_one()


class LogPosition(NamedTuple):
    seq: int  # the newest entry seen
    counter: int  # the counter when it was seen


def log_position(conn: Connection) -> LogPosition:
    """Where the log is now; read before the data a full load reads, so a change committed meanwhile is seen again."""
    return LogPosition(change_watermark(conn), change_counter(conn))


def changes_since(conn: Connection, seen: LogPosition, limit: int) -> tuple[LogPosition, set[int] | None]:
    """(position now, ids changed since ``seen``), or ids None when a full reload is due: too many changes, a
    schema change, or entries gone that were never seen — the log pruned past ``seen``, emptied, or rewound."""
    top, counter = change_watermark(conn), change_counter(conn)
    now = LogPosition(top, counter)
    if top < seen.seq or counter < seen.counter:
        return now, None  # emptied (entries we never saw may have gone with it) or rewound
    if conn.dialect.name == "sqlite":
        # SQLite hands out seq without gaps (a rolled-back write rolls its counter back), so every entry handed
        # out since we last looked must still be there: the newest is the counter, and top - seq rows after seq.
        if counter > seen.counter and counter != top:
            return now, None  # the newest entries were deleted (the log emptied) before we saw them
    elif top == seen.seq and counter > seen.counter and not _writer_in_flight(conn):
        # PostgreSQL: the counter moved but nothing new is visible and no writer is between its insert and its
        # commit: the entries were deleted (or a writer rolled back, which costs one needless reload).
        return now, None
    if top == seen.seq:
        return LogPosition(top, seen.counter), set()  # the counter is taken as seen only with its entries
    if top - seen.seq > limit:
        return now, None
    rows = conn.execute(select(ContactChange.seq, ContactChange.contact_id)
                        .where(ContactChange.seq > seen.seq, ContactChange.seq <= top)).all()
    seqs = {s for s, _ in rows}
    if seen.seq + 1 not in seqs and (conn.dialect.name == "sqlite" or
                                     conn.execute(select(func.min(ContactChange.seq))).scalar_one() > seen.seq + 1):
        return now, None  # pruned or emptied past the position seen
    if conn.dialect.name == "sqlite" and len(seqs) != top - seen.seq:
        return now, None  # entries in between were deleted by hand
    ids: set[int] = set()
    for _seq, cid in rows:
        if cid is None:
            return now, None
        ids.add(cid)
    return now, ids


def prune_changes(conn: Connection, keep: int = 100_000) -> None:
    """Drop all but the newest ``keep`` change rows (a snapshot older than that reloads in full)."""
    top = change_watermark(conn)
    if top > keep:
        conn.execute(delete(ContactChange).where(ContactChange.seq <= top - keep))


# ---- segments --------------------------------------------------------------------------------------------------

_SEGMENT_COLS = (Segment.id, Segment.name, Segment.rules, Segment.created_at, Segment.updated_at,
                 Segment.created_by, Segment.updated_by, Segment.version)


def list_segments(conn: Connection) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(select(*_SEGMENT_COLS).order_by(Segment.id))]


def get_segment(conn: Connection, segment_id: int) -> dict:
    row = conn.execute(select(*_SEGMENT_COLS).where(Segment.id == segment_id)).first()
    if row is None:
        raise SegmentNotFound(segment_id)
    return dict(row._mapping)


def segment_rules(conn: Connection) -> dict[int, Any]:
    """Every saved segment's rules by id."""
    return {i: r for i, r in conn.execute(select(Segment.id, Segment.rules).order_by(Segment.id))}


def segment_names(conn: Connection, ids: list[int]) -> dict[int, str]:
    return {i: n for i, n in conn.execute(select(Segment.id, Segment.name).where(Segment.id.in_(ids)))}


def insert_segment(conn: Connection, name: str, rules: list, user: str | None, now: dt.datetime) -> int:
    return conn.execute(insert(Segment).values(name=name, rules=rules, created_at=now, updated_at=now,
                                               created_by=user, updated_by=user, version=1)
                        .returning(Segment.id)).scalar_one()


def _missed(conn: Connection, segment_id: int, expected_version: int | None) -> SegmenterError:
    """Why a guarded write touched no row: the segment is gone, or it is at another version than expected."""
    row = conn.execute(select(Segment.version, Segment.updated_by, Segment.updated_at)
                       .where(Segment.id == segment_id)).first()
    if row is None:
        return SegmentNotFound(segment_id)
    from .values import format_datetime
    return SegmentConflict(segment_id, row.version, row.updated_by,
                           format_datetime(row.updated_at) if row.updated_at else None)


def _guarded(stmt, segment_id: int, expected_version: int | None):
    stmt = stmt.where(Segment.id == segment_id)
    if expected_version is None:
        return stmt
    if expected_version > MAX_INT32:  # no stored version is that high (and PostgreSQL would refuse the parameter)
        return stmt.where(false())
    return stmt.where(Segment.version == expected_version)


def update_segment(conn: Connection, segment_id: int, changes: dict, user: str | None, now: dt.datetime,
                   expected_version: int | None = None) -> None:
    """Apply ``changes`` (name and/or rules) and add one to the version, in one statement: when
    ``expected_version`` is given and the stored version differs, nothing changes and SegmentConflict says why."""
    stmt = _guarded(update(Segment), segment_id, expected_version).values(
        **changes, updated_at=now, updated_by=user, version=Segment.version + 1)
    if conn.execute(stmt).rowcount == 0:
        raise _missed(conn, segment_id, expected_version)


def check_version(conn: Connection, segment_id: int, expected_version: int | None) -> None:
    """SegmentNotFound or SegmentConflict unless the segment exists (at ``expected_version`` when given)."""
    if conn.execute(_guarded(select(Segment.id), segment_id, expected_version)).first() is None:
        raise _missed(conn, segment_id, expected_version)


def delete_segment(conn: Connection, segment_id: int, expected_version: int | None = None) -> None:
    if conn.execute(_guarded(delete(Segment), segment_id, expected_version)).rowcount == 0:
        raise _missed(conn, segment_id, expected_version)


def check_url(url: str) -> None:
    if "://" not in url:
        raise SegmenterError(f"database URL {url!r} is not a URL (e.g. sqlite:///segmenter.db or "
                             "postgresql+psycopg://user@host/db)")
