"""``effects_pending``: the effect intents still without an outcome, indexed by contact.

Every pass of every worker starts by looking for them (``engine.claims.claim_pending``:
a crash's leftovers); without the index that look reads the whole journal, which only
grows, once per pass and per worker. Partial, so it holds only the few intents in flight.

Revision ID: 0016_effects_pending
Revises: 0013_published_journeys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_effects_pending"
down_revision: str | None = "0013_published_journeys"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        "effects_pending",
        "effects",
        ["contact_id"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("effects_pending", table_name="effects")
