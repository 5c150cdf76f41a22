"""PostgreSQL: the change log is written once per statement, not once per row. A statement-level trigger per
event reads the statement's transition tables (REFERENCING NEW TABLE / OLD TABLE) and logs every id they hold in
one INSERT … SELECT, under the same self-conflicting lock as before (changes become visible in sequence order, so
a reader never skips one). What is logged is what the row triggers logged: an inserted or updated row's id, a
deleted row's id, and the old id of a row whose id an update changed; TRUNCATE still logs one NULL (reload).
A bulk write of a million contacts ran a million PL/pgSQL calls before. Nothing changes on SQLite, which has only
row triggers. Frozen: it imports no runtime code.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = [
    """CREATE FUNCTION segmenter_log_contact_changes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      LOCK TABLE contact_changes IN SHARE ROW EXCLUSIVE MODE;
      IF TG_OP = 'INSERT' THEN
        INSERT INTO contact_changes(contact_id) SELECT id FROM segmenter_new ORDER BY id;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO contact_changes(contact_id) SELECT id FROM segmenter_old ORDER BY id;
      ELSE
        INSERT INTO contact_changes(contact_id)
          SELECT id FROM (SELECT id FROM segmenter_new
                          UNION ALL
                          SELECT o.id FROM segmenter_old AS o
                          WHERE NOT EXISTS (SELECT 1 FROM segmenter_new AS n WHERE n.id = o.id)) AS changed
          ORDER BY id;
      END IF;
      RETURN NULL;
    END $$""",
    "DROP TRIGGER contacts_changed ON contacts",
    """CREATE TRIGGER contacts_inserted AFTER INSERT ON contacts REFERENCING NEW TABLE AS segmenter_new
       FOR EACH STATEMENT EXECUTE FUNCTION segmenter_log_contact_changes()""",
    """CREATE TRIGGER contacts_updated AFTER UPDATE ON contacts
       REFERENCING OLD TABLE AS segmenter_old NEW TABLE AS segmenter_new
       FOR EACH STATEMENT EXECUTE FUNCTION segmenter_log_contact_changes()""",
    """CREATE TRIGGER contacts_deleted AFTER DELETE ON contacts REFERENCING OLD TABLE AS segmenter_old
       FOR EACH STATEMENT EXECUTE FUNCTION segmenter_log_contact_changes()""",
]

DOWNGRADE = [
    "DROP TRIGGER contacts_deleted ON contacts",
    "DROP TRIGGER contacts_updated ON contacts",
    "DROP TRIGGER contacts_inserted ON contacts",
    "DROP FUNCTION segmenter_log_contact_changes()",
    """CREATE TRIGGER contacts_changed AFTER INSERT OR UPDATE OR DELETE ON contacts
       FOR EACH ROW EXECUTE FUNCTION segmenter_log_contact_change()""",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
