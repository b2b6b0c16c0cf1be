"""``alembic_version`` is the store's one record of its schema: ``schema_version`` goes.

Revision ID: 0004_drop_schema_version
Revises: 0003_salesforce_connector
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_drop_schema_version"
down_revision: str | None = "0003_salesforce_connector"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.drop_table("schema_version")


def downgrade() -> None:
    table = op.create_table(
        "schema_version",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    # What the previous release reads: version 2, the sync's tables present.
    op.bulk_insert(table, [{"version": 2}])
