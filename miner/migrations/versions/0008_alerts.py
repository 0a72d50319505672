"""Alerts: the fired alerts (deduplicated by a unique key) and their deliveries (the outbox and log).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(160), nullable=False, unique=True),
        sa.Column("rule", sa.String(16), nullable=False),
        sa.Column("cluster_id", sa.Integer()),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime()),
    )
    op.create_index("ix_alert_events_cluster_id", "alert_events", ["cluster_id"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("alert_events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(16), nullable=False),
        sa.Column("cluster_id", sa.Integer()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime()),
        sa.Column("claim_token", sa.String(64)),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime()),
    )
    op.create_index("ix_alert_deliveries_channel", "alert_deliveries", ["channel"])
    op.create_index("ix_alert_deliveries_status", "alert_deliveries", ["status"])
    op.create_index("ix_alert_deliveries_due", "alert_deliveries", ["status", "due_at"])
    op.create_index("uq_alert_deliveries_event_channel", "alert_deliveries", ["event_id", "channel"], unique=True)


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_table("alert_events")
