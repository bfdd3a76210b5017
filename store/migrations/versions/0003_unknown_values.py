"""Unknown is a value: fields a practice's export may lack become nullable; remits say whether
a payer sent them (an 835) or a flat export's outcome was imported.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: table → (column, type) made nullable, as features/contract.py now declares them.
NULLABLE = {
    "payers": (
        ("payer_type", sa.String(length=64)),
        ("timely_filing_days", sa.BigInteger()),
        ("appeal_window_days", sa.BigInteger()),
    ),
    "claims": (
        ("patient_id", sa.String(length=64)),
        ("billing_npi", sa.String(length=64)),
        ("provider_taxonomy", sa.String(length=64)),
        ("place_of_service", sa.String(length=64)),
        ("diagnosis_codes", sa.String(length=400)),
        ("patient_age", sa.BigInteger()),
        ("patient_sex", sa.String(length=64)),
        ("other_coverage", sa.Boolean()),
    ),
    "worklist_items": (("provider_npi", sa.String(length=20)),),
}


def _nullable(nullable: bool) -> None:
    for table, columns in NULLABLE.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, kind in columns:
                batch_op.alter_column(name, existing_type=kind, nullable=nullable)


def upgrade() -> None:
    _nullable(True)
    with op.batch_alter_table("remits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("remits", schema=None) as batch_op:
        batch_op.drop_column("origin")
    _nullable(False)
