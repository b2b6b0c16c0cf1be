"""The Salesforce connector's tables (``connectors.salesforce.state``): links to the
records it created, its journal of sent requests, round-robin turns, settings.

A store adopted from ``schema_version`` 2 may hold them already, made by the connector
itself from the same models: a table that exists is left as it is, the others are
created (``test_migrations_previous_release`` checks the result equals the models).

Revision ID: 0003_salesforce_connector
Revises: 0002_v2_sync
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_salesforce_connector"
down_revision: str | None = "0002_v2_sync"
branch_labels: str | None = None
depends_on: str | None = None

_TABLES = ("sf_links", "sf_effects", "sf_round_robin", "sf_settings")


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "sf_links" not in existing:
        op.create_table(
            "sf_links",
            sa.Column("contact_id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("salesforce_id", sa.String(), nullable=False),
            sa.Column("salesforce_type", sa.String(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("contact_id"),
        )
    if "sf_effects" not in existing:
        op.create_table(
            "sf_effects",
            sa.Column("key", sa.String(), nullable=False),
            sa.Column("contact_id", sa.Integer(), nullable=False),
            sa.Column("action", sa.String(), nullable=False),
            sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("result", sa.String(), nullable=True),
            sa.PrimaryKeyConstraint("key"),
        )
    if "sf_round_robin" not in existing:
        op.create_table(
            "sf_round_robin",
            sa.Column("group_name", sa.String(), nullable=False),
            sa.Column("user", sa.String(), nullable=False),
            sa.Column("last_turn", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("group_name", "user"),
        )
    if "sf_settings" not in existing:
        op.create_table(
            "sf_settings",
            sa.Column("key", sa.String(), nullable=False),
            sa.Column("value", sa.String(), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
