"""Schema version 2: the Salesforce sync's tables (``engine.sync``) — records and their
shadows, errors, contacts pending an outbound write, settings.

Revision ID: 0002_v2_sync
Revises: 0001_v1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_v2_sync"
down_revision: str | None = "0001_v1"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "sync_records",
        sa.Column("salesforce_id", sa.String(), nullable=False),
        sa.Column("object", sa.String(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.String(), nullable=True),
        sa.Column("shadow", sa.String(), nullable=False),
        sa.Column("modstamp", sa.String(), nullable=True),
        sa.Column("synced", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("salesforce_id"),
    )
    op.create_index("ix_sync_records_object", "sync_records", ["object"])
    op.create_index("ix_sync_records_contact_id", "sync_records", ["contact_id"])
    op.create_index("ix_sync_records_account_id", "sync_records", ["account_id"])
    op.create_table(
        "sync_errors",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("salesforce_id", sa.String(), nullable=True),
        sa.Column("object", sa.String(), nullable=True),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_sync_errors_contact_id", "sync_errors", ["contact_id"])
    op.create_table(
        "sync_pending",
        sa.Column("contact_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("contact_id"),
    )
    op.create_table(
        "sync_settings",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    for name in ("sync_settings", "sync_pending", "sync_errors", "sync_records"):
        op.drop_table(name)
