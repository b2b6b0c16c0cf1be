"""The notification outbox: one row per ``send notification`` email, written before the
mail server sees it, marked sent once the server accepted it (``connectors.notify``).

Revision ID: 0007_notification_outbox
Revises: 0004_drop_schema_version
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_notification_outbox"
down_revision: str | None = "0006_salesforce_lists_from_links"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("recipients", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("via", sa.String(), nullable=True),
        sa.Column("location", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index(
        "notification_outbox_state", "notification_outbox", ["state", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("notification_outbox_state", table_name="notification_outbox")
    op.drop_table("notification_outbox")
