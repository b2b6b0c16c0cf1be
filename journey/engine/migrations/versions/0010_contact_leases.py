"""``contact_leases``: which worker holds which contact, so many workers share one store.

Revision ID: 0010_contact_leases
Revises: 0009_sf_effects_by_contact
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_contact_leases"
down_revision: str | None = "0009_sf_effects_by_contact"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "contact_leases",
        sa.Column("contact_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("worker_id", sa.String(), nullable=False),
        sa.Column("holder_key", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("contact_id"),
    )
    op.create_index("ix_contact_leases_worker_id", "contact_leases", ["worker_id"])


def downgrade() -> None:
    op.drop_index("ix_contact_leases_worker_id", table_name="contact_leases")
    op.drop_table("contact_leases")
