"""``link_reads``: what the engine last looked up in Salesforce for each contact.

Revision ID: 0008_link_reads
Revises: 0007_notification_outbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_link_reads"
down_revision: str | None = "0007_notification_outbox"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "link_reads",
        sa.Column("contact_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("looked_up", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("contact_id"),
    )


def downgrade() -> None:
    op.drop_table("link_reads")
