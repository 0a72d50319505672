"""Clustering and trends: embeddings, clusters, daily stats, cluster events and notes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issue_embeddings",
        sa.Column("issue_id", sa.Integer(), sa.ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("model", sa.String(96), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
    )

    op.create_table(
        "clusters",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text()),
        sa.Column("name_source", sa.String(16), nullable=False),
        sa.Column("name_pinned", sa.Boolean(), nullable=False),
        sa.Column("named_size", sa.Integer(), nullable=False),
        sa.Column("merged_into", sa.Integer()),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(48)),
        sa.Column("subcategory", sa.String(48)),
        sa.Column("issue_type", sa.String(24)),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("centroid", sa.LargeBinary()),
        sa.Column("embedding_model", sa.String(96)),
        sa.Column("triage_status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("issue_count", sa.Integer(), nullable=False),
        sa.Column("ticket_count", sa.Integer(), nullable=False),
        sa.Column("customer_count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime()),
        sa.Column("last_seen", sa.DateTime()),
        sa.Column("count_7d", sa.Integer(), nullable=False),
        sa.Column("count_prev_7d", sa.Integer(), nullable=False),
        sa.Column("change_pct", sa.Float()),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("emerging", sa.Boolean(), nullable=False),
        sa.Column("emerging_reason", sa.Text()),
        sa.Column("severity_mix", sa.JSON(), nullable=False),
        sa.Column("trends_at", sa.DateTime()),
    )
    op.create_index("ix_clusters_emerging", "clusters", ["emerging"])

    op.create_table(
        "cluster_daily_stats",
        sa.Column("cluster_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("issues", sa.Integer(), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
    )
    op.create_index("ix_cluster_daily_stats_day", "cluster_daily_stats", ["day"])

    op.create_table(
        "cluster_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(128)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_cluster_events_cluster_id", "cluster_events", ["cluster_id"])

    op.create_table(
        "cluster_notes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(128)),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_cluster_notes_cluster_id", "cluster_notes", ["cluster_id"])

    op.create_table(
        "daily_ticket_stats",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("tickets_with_issues", sa.Integer(), nullable=False),
    )
    op.create_table(
        "daily_issue_stats",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("category", sa.String(48), primary_key=True),
        sa.Column("severity", sa.String(12), primary_key=True),
        sa.Column("issues", sa.Integer(), nullable=False),
    )
    # the trends step finds changed days through these
    op.create_index("ix_tickets_synced_at", "tickets", ["synced_at"])
    op.create_index("ix_issues_cluster_created", "issues", ["cluster_id", "ticket_created_at"])
    op.create_index("ix_issues_cluster_customer", "issues",
                    ["cluster_id", "organization_id", "requester_id", "ticket_created_at"])
    op.create_table("trend_dirty_days", sa.Column("day", sa.Date(), primary_key=True))
    op.create_table(
        "app_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text()),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_issues_cluster_customer", "issues")
    op.drop_index("ix_issues_cluster_created", "issues")
    op.drop_index("ix_tickets_synced_at", "tickets")
    for table in ("app_state", "trend_dirty_days", "daily_issue_stats", "daily_ticket_stats", "cluster_notes",
                  "cluster_events",
                  "cluster_daily_stats", "clusters", "issue_embeddings"):
        op.drop_table(table)
