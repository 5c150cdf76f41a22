"""Erasure (SPEC §1 *Deleting contacts*): remove contacts by email or by rules in one transaction, and leave no copy
in this database's snapshot cache file or this process's snapshot."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete

from . import audit, snapshot_cache, store
from .errors import ContactError

if TYPE_CHECKING:
    from .service import Segmenter

CHUNK = 5_000  # emails per statement: well under SQLite's and PostgreSQL's parameter limits


def _emails(values: list) -> list[str]:
    bad = [v for v in values if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ContactError(f"emails to erase must be non-empty text, got {bad[0]!r}")
    return sorted({v.strip().lower() for v in values})  # stored trimmed and lower-cased


def _is_rules(values: list) -> bool:
    return bool(values) and all(isinstance(v, dict) for v in values)


def delete_contacts(seg: Segmenter, emails_or_rules: Any) -> int:
    """Erase by a list of emails (or one email) or by rules; returns how many contacts were removed."""
    if isinstance(emails_or_rules, str):
        emails_or_rules = [emails_or_rules]
    if isinstance(emails_or_rules, tuple):
        emails_or_rules = list(emails_or_rules)
    if not isinstance(emails_or_rules, list):
        raise ContactError(f"delete_contacts takes a list of emails or a list of rules, "
                           f"got {type(emails_or_rules).__name__}")
    if not emails_or_rules:
        return 0  # an empty list erases nothing (as rules, [] would match everyone: never by accident)
    # The audit trail (SPEC §10) records who erased how many, in the same transaction, never whom: no emails and no
    # rules (they may name the people erased).
    entry = seg._entry(audit.ERASE)
    if _is_rules(emails_or_rules):
        rules = seg.validate(emails_or_rules)
        with store.writing(seg.engine) as conn:
            removed = entry.rows = _delete_by_rules(conn, rules, dt.datetime.now(dt.UTC))
            audit.record(conn, entry)
    else:
        emails = _emails(emails_or_rules)
        with store.writing(seg.engine) as conn:
            removed = entry.rows = _delete_by_emails(conn, emails)
            audit.record(conn, entry)
    if removed:
        forget_copies(seg)
    return removed


def _secure(conn: Connection, on: bool) -> None:
    """SQLite: overwrite what is deleted with zeros instead of leaving it in free pages of the file."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA secure_delete = {'ON' if on else 'OFF'}")


def _delete_by_emails(conn: Connection, emails: list[str]) -> int:
    _secure(conn, True)
    table = store.table_for(store.load_catalogue(conn))
    removed = 0
    for start in range(0, len(emails), CHUNK):
        removed += conn.execute(delete(table).where(table.c.email.in_(emails[start:start + CHUNK]))).rowcount
    return removed


def _delete_by_rules(conn: Connection, rules, now: dt.datetime) -> int:
    # The SQL back end's own WHERE clause, inside this transaction: what is erased is what matches as it commits.
    from .sql import SqlBackend

    _secure(conn, True)
    _catalogue, table, where = SqlBackend(conn.engine).where(conn, rules, now)
    return conn.execute(delete(table).where(where)).rowcount


def forget_copies(seg: Segmenter) -> None:
    """After an erasure: drop the snapshot cache file (the next full load writes it again from the database) and this
    process's in-memory copy (its text dictionaries would still hold the erased values); on SQLite, checkpoint the
    WAL so the write-ahead log holds no copy of the erased rows' pages either."""
    path = snapshot_cache.path_for(seg.engine)
    if path is not None:
        path.unlink(missing_ok=True)
    seg.snapshot.release()
    if seg.engine.dialect.name == "sqlite":
        with seg.engine.connect() as conn:
            _secure(conn, False)  # pooled connections go back to the default
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
