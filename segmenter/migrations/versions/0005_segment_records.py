"""Membership records (SPEC §9): per segment, when it was recorded, its count, how many entered and left since
its previous record, and the matching ids as a compact blob (segmenter.history).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from segmenter.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("segment_id", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("contacts_count", sa.Integer, nullable=False),
        sa.Column("entered", sa.Integer, nullable=False),
        sa.Column("left", sa.Integer, nullable=False),
        sa.Column("members", sa.LargeBinary, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_segment_records_segment_at", "segment_records", ["segment_id", "at"])
    op.create_index("ix_segment_records_at", "segment_records", ["at"])


def downgrade() -> None:
    op.drop_table("segment_records")
