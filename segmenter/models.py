"""SQLAlchemy 2 models of the schema's fixed part. Custom fields are extra columns of ``contacts`` added at run
time (so an analyst's plain SQL sees them), described by rows of ``custom_fields``."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from .values import UTC, to_utc


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out. SQLite keeps naive UTC text
    (``YYYY-MM-DD HH:MM:SS.ffffff``, which sorts correctly); PostgreSQL keeps ``timestamptz``."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> Any:
        if value is None:
            return None
        value = to_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused, even after a delete

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(Text, unique=True, nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CustomField(Base):
    __tablename__ = "custom_fields"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Segment(Base):
    __tablename__ = "segments"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    rules: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(200))
    updated_by: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1", default=1)


class SegmentRecord(Base):
    """One membership record of a segment (SPEC §9): its count, who entered and left since its previous record
    (counts), and the matching ids, encoded by ``segmenter.history.encode_ids``."""
    __tablename__ = "segment_records"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    segment_id: Mapped[int] = mapped_column(Integer, index=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    contacts_count: Mapped[int] = mapped_column(Integer)
    entered: Mapped[int] = mapped_column(Integer)
    left: Mapped[int] = mapped_column(Integer)
    members: Mapped[bytes] = mapped_column(LargeBinary)


class ContactChange(Base):
    """Written by database triggers on every insert, update and delete of ``contacts`` (by any path, plain SQL
    included). ``contact_id`` NULL means 'reload everything' (a new custom field, a TRUNCATE)."""
    __tablename__ = "contact_changes"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    contact_id: Mapped[int | None] = mapped_column(Integer)


SQL_TYPES = {"text": Text, "number": Float, "datetime": UTCDateTime, "boolean": Boolean}


def custom_column(name: str, field_type: str) -> Column:
    return Column(name, SQL_TYPES[field_type](), nullable=True)


def contacts_table(custom: list[tuple[str, str]]) -> Table:
    """The ``contacts`` table with the given custom columns ``(name, type)``, for Core queries."""
    md = MetaData()
    core = [c._copy() for c in Contact.__table__.columns]
    return Table("contacts", md, *core, *(custom_column(n, t) for n, t in custom))


class AuditEntry(Base):
    """One export, contact import or erasure (SPEC §10): who, when, what, how many rows. Appended only."""
    __tablename__ = "audit_log"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    who: Mapped[str] = mapped_column(Text)
    via: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    segment_id: Mapped[int | None] = mapped_column(Integer)
    segment_version: Mapped[int | None] = mapped_column(Integer)
    rules: Mapped[list | None] = mapped_column(JSON)
    file_name: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
