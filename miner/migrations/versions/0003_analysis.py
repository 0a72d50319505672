"""Analysis: issues, per-ticket analysis state, LLM calls, message batches.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_analyses",
        sa.Column("ticket_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("analyzer", sa.String(16)),
        sa.Column("model", sa.String(64)),
        sa.Column("prompt_version", sa.String(32)),
        sa.Column("schema_version", sa.Integer()),
        sa.Column("taxonomy_version", sa.String(32)),
        sa.Column("issue_count", sa.Integer(), nullable=False),
        sa.Column("no_issue_reason", sa.String(32)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_read_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_write_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("run_id", sa.Integer()),
        sa.Column("batch_id", sa.String(64)),
        sa.Column("analyzed_at", sa.DateTime()),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_ticket_analyses_state", "ticket_analyses", ["state"])

    op.create_table(
        "issues",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.BigInteger(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("category", sa.String(48), nullable=False),
        sa.Column("subcategory", sa.String(48), nullable=False),
        sa.Column("issue_type", sa.String(24), nullable=False),
        sa.Column("severity", sa.String(12), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("representative_quote", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("ticket_created_at", sa.DateTime(), nullable=False),
        sa.Column("organization_id", sa.BigInteger()),
        sa.Column("requester_id", sa.BigInteger()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("cluster_id", sa.Integer()),
        sa.Column("cluster_similarity", sa.Float()),
        sa.Column("cluster_pinned", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_issues_ticket_id", "issues", ["ticket_id"])
    op.create_index("ix_issues_cluster_id", "issues", ["cluster_id"])
    op.create_index("ix_issues_updated_at", "issues", ["updated_at"])
    op.create_index("ix_issues_category", "issues", ["category"])
    op.create_index("ix_issues_ticket_created_at", "issues", ["ticket_created_at"])

    op.create_table(
        "llm_calls",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer()),
        sa.Column("ticket_id", sa.BigInteger()),
        sa.Column("purpose", sa.String(24), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("via_batch", sa.Boolean(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_read_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_write_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float()),
        sa.Column("stop_reason", sa.String(32)),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_llm_calls_run_id", "llm_calls", ["run_id"])

    op.create_table(
        "analysis_batches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.Integer()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("prompt_version", sa.String(32), nullable=False),
        sa.Column("ticket_ids", sa.JSON(), nullable=False),
        sa.Column("request_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("collected_at", sa.DateTime()),
        sa.Column("error", sa.Text()),
    )
    op.create_index("ix_analysis_batches_status", "analysis_batches", ["status"])


def downgrade() -> None:
    op.drop_table("analysis_batches")
    op.drop_table("llm_calls")
    op.drop_table("issues")
    op.drop_table("ticket_analyses")
