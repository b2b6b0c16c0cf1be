"""Connector state for many workers: ``sf_api_calls``, the API budget counted in the
database, one row per UTC day, so every worker on every machine adds its calls to the same
figure (``connectors.salesforce.budget``); and ``sf_effects.turn``, the round-robin owner
a request took, so its retry after a crash takes no second turn.

The day's figure kept before in ``sf_settings`` (key ``api_usage``) is carried over.

Revision ID: 0012_sf_api_calls
Revises: 0011_workers
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0012_sf_api_calls"
down_revision: str | None = "0011_workers"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("sf_effects") as batch:
        batch.add_column(sa.Column("turn", sa.String(), nullable=True))
    op.create_table(
        "sf_api_calls",
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("org_used", sa.Integer(), nullable=True),
        sa.Column("org_limit", sa.Integer(), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("day"),
    )
    bind = op.get_bind()
    raw = bind.execute(sa.text("SELECT value FROM sf_settings WHERE key = 'api_usage'")).scalar()
    if raw:
        kept = json.loads(raw)
        if kept.get("day"):
            bind.execute(
                sa.text(
                    "INSERT INTO sf_api_calls (day, calls, org_used, org_limit) "
                    "VALUES (:day, :calls, :used, :limit)"
                ),
                {
                    "day": kept["day"],
                    "calls": int(kept.get("ours", 0)),
                    "used": kept.get("used"),
                    "limit": kept.get("limit"),
                },
            )
    bind.execute(sa.text("DELETE FROM sf_settings WHERE key = 'api_usage'"))


def downgrade() -> None:
    op.drop_table("sf_api_calls")
    with op.batch_alter_table("sf_effects") as batch:
        batch.drop_column("turn")
