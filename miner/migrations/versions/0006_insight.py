"""Issues keep the analyzer's evidence (weight per product area, taxonomy keyword phrases) for clustering;
clusters remember when their problem was first reported if that was before they formed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain nullable column: SQLite adds it without rebuilding the table
    op.add_column("issues", sa.Column("evidence", sa.JSON()))
    op.add_column("clusters", sa.Column("seen_before", sa.DateTime()))


def downgrade() -> None:
    with op.batch_alter_table("clusters") as batch:
        batch.drop_column("seen_before")
    with op.batch_alter_table("issues") as batch:
        batch.drop_column("evidence")
