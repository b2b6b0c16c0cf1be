"""``published_journeys``: the version of each journey that is published now.

``journey plan`` compares the working tree with it and ``journey publish`` (and a worker's
republishing) rewrites it; a journey whose file went is no longer in it. A store that
had published before is given, for each journey name, its most recently seen version.

Revision ID: 0013_published_journeys
Revises: 0012_sf_api_calls
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_published_journeys"
down_revision: str | None = "0012_sf_api_calls"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    published = op.create_table(
        "published_journeys",
        sa.Column("journey_key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("journey_key"),
    )
    versions = sa.table(
        "journey_versions",
        sa.column("version", sa.String()),
        sa.column("name", sa.String()),
        sa.column("path", sa.String()),
        sa.column("first_seen", sa.DateTime(timezone=True)),
    )
    rows = op.get_bind().execute(sa.select(versions).order_by(versions.c.first_seen)).all()
    latest = {row.name.casefold(): row for row in rows}  # the last seen of each name wins
    if latest:
        op.bulk_insert(
            published,
            [
                {
                    "journey_key": key,
                    "name": row.name,
                    "version": row.version,
                    "path": row.path,
                    "published_at": row.first_seen,
                }
                for key, row in latest.items()
            ],
        )


def downgrade() -> None:
    op.drop_table("published_journeys")
