"""PostgreSQL indexes for the SQL back end: trigram (pg_trgm) on lower(company) for contains/starts/ends, btree on
lower(status) and created_at. The expressions match what segmenter.sql generated when this revision was written.
Nothing happens on SQLite. Frozen: it imports no runtime code, so later edits to segmenter/ cannot change it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from alembic import op
from sqlalchemy import text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = ("ix_contacts_company_trgm", "ix_contacts_status_lower", "ix_contacts_created_at")
ICU_COLLATION = "und-x-icu"  # as segmenter.sql.ICU_COLLATION was at this revision


def has_icu(bind) -> bool:
    """True when the server has the ICU root collation (as segmenter.sql.has_icu was at this revision)."""
    return bool(bind.execute(text("SELECT 1 FROM pg_collation WHERE collname = :c"), {"c": ICU_COLLATION}).first())


def _lower(column: str, icu: bool) -> str:
    return f'lower({column} COLLATE "{ICU_COLLATION}")' if icu else f"lower({column})"


def _trigrams_available(bind) -> bool:
    """Create pg_trgm when the server has it and the role may (it is a trusted extension from PostgreSQL 13)."""
    if bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").first():
        return True
    if not bind.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").first():
        return False
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        return True
    except Exception:  # no privilege: the back end still works, contains just scans
        return False


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    icu = has_icu(bind)
    if _trigrams_available(bind):
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_contacts_company_trgm ON contacts "
                   f"USING gin ({_lower('company', icu)} gin_trgm_ops)")
    op.execute(f"CREATE INDEX IF NOT EXISTS ix_contacts_status_lower ON contacts ({_lower('status', icu)})")
    op.execute("CREATE INDEX IF NOT EXISTS ix_contacts_created_at ON contacts (created_at)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
