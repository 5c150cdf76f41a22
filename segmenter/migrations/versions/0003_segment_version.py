"""Segment versions (SPEC §3): every segment gets ``version``, 1 for the segments that exist already.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # server_default fills the existing rows with 1 in the same statement, on SQLite and PostgreSQL alike.
    op.add_column("segments", sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")))


def downgrade() -> None:
    with op.batch_alter_table("segments") as batch:
        batch.drop_column("version")
