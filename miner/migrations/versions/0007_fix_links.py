"""Clusters link to the Jira or GitHub issue that fixes them (`cluster_links`), with its last known state.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_links",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("tracker", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("status", sa.String(255)),
        sa.Column("resolved", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("resolved_at", sa.DateTime()),
        sa.Column("last_checked_at", sa.DateTime()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(128)),
        sa.UniqueConstraint("cluster_id", "tracker", "key", name="uq_cluster_links_issue"),
        sa.CheckConstraint("tracker IN ('jira', 'github')", name="ck_cluster_links_tracker"),
    )
    op.create_index("ix_cluster_links_cluster_id", "cluster_links", ["cluster_id"])


def downgrade() -> None:
    op.drop_index("ix_cluster_links_cluster_id", table_name="cluster_links")
    op.drop_table("cluster_links")
