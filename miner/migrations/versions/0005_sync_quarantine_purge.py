"""Data hygiene: the sync quarantine and the purge mark of deleted tickets.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_quarantine",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(160), nullable=False, unique=True),
        sa.Column("stream", sa.String(32), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(64)),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    # a plain nullable column: SQLite adds it without rebuilding the table
    op.add_column("tickets", sa.Column("purged_at", sa.DateTime()))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("purged_at")
    op.drop_table("sync_quarantine")
