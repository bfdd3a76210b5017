"""Monitoring passes: each ``claimrisk monitor --db`` run's result, for the gauges and the page.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
    )
    op.create_index("ix_monitor_runs_as_of", "monitor_runs", ["as_of"])


def downgrade() -> None:
    op.drop_index("ix_monitor_runs_as_of", table_name="monitor_runs")
    op.drop_table("monitor_runs")
