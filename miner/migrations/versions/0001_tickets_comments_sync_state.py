"""Tickets, comments, organizations and sync state.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("subject", sa.Text()),
        sa.Column("description", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16)),
        sa.Column("type", sa.String(16)),
        sa.Column("requester_id", sa.BigInteger()),
        sa.Column("submitter_id", sa.BigInteger()),
        sa.Column("assignee_id", sa.BigInteger()),
        sa.Column("organization_id", sa.BigInteger()),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("via_channel", sa.String(32)),
        sa.Column("created_at", sa.DateTime()),
        sa.Column("updated_at", sa.DateTime()),
        sa.Column("generated_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", sa.DateTime()),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_tickets_status", "tickets", ["status"])
    op.create_index("ix_tickets_requester_id", "tickets", ["requester_id"])
    op.create_index("ix_tickets_organization_id", "tickets", ["organization_id"])
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"])

    op.create_table(
        "comments",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger()),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_comments_ticket_created", "comments", ["ticket_id", "created_at"])

    op.create_table(
        "organizations",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime()),
    )

    op.create_table(
        "sync_state",
        sa.Column("stream", sa.String(32), primary_key=True),
        sa.Column("cursor", sa.Text()),
        sa.Column("start_time", sa.BigInteger()),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("caught_up_at", sa.DateTime()),
    )


def downgrade() -> None:
    op.drop_table("sync_state")
    op.drop_table("organizations")
    op.drop_table("comments")
    op.drop_table("tickets")
