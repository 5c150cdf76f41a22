"""The first schema: contacts, custom fields, segments, and the change log its triggers fill.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from segmenter.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    """CREATE TRIGGER contacts_changed_insert AFTER INSERT ON contacts
       BEGIN INSERT INTO contact_changes(contact_id) VALUES (NEW.id); END""",
    """CREATE TRIGGER contacts_changed_update AFTER UPDATE ON contacts
       BEGIN INSERT INTO contact_changes(contact_id) VALUES (NEW.id);
             INSERT INTO contact_changes(contact_id) SELECT OLD.id WHERE OLD.id <> NEW.id; END""",
    """CREATE TRIGGER contacts_changed_delete AFTER DELETE ON contacts
       BEGIN INSERT INTO contact_changes(contact_id) VALUES (OLD.id); END""",
]

# On PostgreSQL a sequence value can commit after a larger one. The trigger takes a self-conflicting lock on the
# change log, held to commit, so changes become visible in sequence order and a reader never skips one.
POSTGRES_TRIGGERS = [
    """CREATE FUNCTION segmenter_log_contact_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      LOCK TABLE contact_changes IN SHARE ROW EXCLUSIVE MODE;
      IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO contact_changes(contact_id) VALUES (NULL);
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO contact_changes(contact_id) VALUES (OLD.id);
      ELSE
        INSERT INTO contact_changes(contact_id) VALUES (NEW.id);
        IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
          INSERT INTO contact_changes(contact_id) VALUES (OLD.id);
        END IF;
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER contacts_changed AFTER INSERT OR UPDATE OR DELETE ON contacts
       FOR EACH ROW EXECUTE FUNCTION segmenter_log_contact_change()""",
    """CREATE TRIGGER contacts_truncated AFTER TRUNCATE ON contacts
       FOR EACH STATEMENT EXECUTE FUNCTION segmenter_log_contact_change()""",
]


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text),
        sa.Column("company", sa.Text),
        sa.Column("status", sa.Text),
        sa.Column("created_at", UTCDateTime),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "custom_fields",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime),
    )
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("rules", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime),
        sa.Column("updated_at", UTCDateTime),
        sa.Column("created_by", sa.String(200)),
        sa.Column("updated_by", sa.String(200)),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "contact_changes",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("contact_id", sa.Integer),
        sqlite_autoincrement=True,
    )
    triggers = POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS contacts_truncated ON contacts")
        op.execute("DROP TRIGGER IF EXISTS contacts_changed ON contacts")
        op.execute("DROP FUNCTION IF EXISTS segmenter_log_contact_change()")
    for table in ("contact_changes", "segments", "custom_fields", "contacts"):
        op.drop_table(table)
