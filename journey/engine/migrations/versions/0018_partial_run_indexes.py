"""The indexes on ``runs`` rewritten so that advancing a run costs them the least.

``runs_due`` (status, next_due) and ``runs_woken`` (wake, status) held every run ever
entered, the ended ones — most of a store — among them, so each advance moved a run's
entries in both. Now ``runs_due`` holds the runs a claim may take and the failed ones,
and ``runs_woken`` the woken runs only: a run's last advance removes it from the one, and
the ``wake`` set back to false at every advance writes neither. And the WHERE of the
partial ones, ``runs_one_live`` among them, is written with ``OR`` rather than ``IN``,
which SQLite evaluates by building a table per row updated (``engine.store``).

Revision ID: 0018_partial_run_indexes
Revises: 0017_contact_leases_unlogged
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_partial_run_indexes"
down_revision: str | None = "0017_contact_leases_unlogged"
branch_labels: str | None = None
depends_on: str | None = None

# As ``engine.store`` has them at this revision (a migration does not follow later code).
_LIVE = "(status = 'active' OR status = 'waiting' OR status = 'effect')"
_DUE = "(status = 'active' OR status = 'waiting' OR status = 'failed')"
_WOKEN = "wake"
_OLD_LIVE = "status IN ('active', 'waiting', 'effect')"


def _partial(name: str, columns: list[str], where: str, unique: bool = False) -> None:
    op.create_index(
        name,
        "runs",
        columns,
        unique=unique,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    for name in ("runs_due", "runs_woken", "runs_one_live"):
        op.drop_index(name, table_name="runs")
    _partial("runs_one_live", ["contact_id", "journey_key"], _LIVE, unique=True)
    _partial("runs_due", ["status", "next_due"], _DUE)
    _partial("runs_woken", ["status"], _WOKEN)


def downgrade() -> None:
    for name in ("runs_due", "runs_woken", "runs_one_live"):
        op.drop_index(name, table_name="runs")
    _partial("runs_one_live", ["contact_id", "journey_key"], _OLD_LIVE, unique=True)
    op.create_index("runs_due", "runs", ["status", "next_due"])
    op.create_index("runs_woken", "runs", ["wake", "status"])
