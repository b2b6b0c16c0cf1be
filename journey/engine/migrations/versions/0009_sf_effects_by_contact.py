"""``sf_effects`` by contact: every batch asks which of its contacts have a write in doubt.

Revision ID: 0009_sf_effects_by_contact
Revises: 0008_link_reads
"""

from __future__ import annotations

from alembic import op

revision = "0009_sf_effects_by_contact"
down_revision: str | None = "0008_link_reads"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_sf_effects_contact_id", "sf_effects", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_sf_effects_contact_id", table_name="sf_effects")
