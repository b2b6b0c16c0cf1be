"""``contact_leases`` unlogged on PostgreSQL: a lease is worth nothing beyond its server's
sessions, so it is not written to the write-ahead log.

A lease is live only while its worker's session holds the liveness lock on that server
(``engine.claims``). After a crash or a failover every session is gone, so every lease is
a dead worker's, which is what an unlogged table holds after a crash: nothing. In the
meantime the claims stop paying the log for what they write most — the leases taken,
locked by each batch's fence and given back, thousands per batch — and a claim's
transaction, which writes only leases, commits without waiting for the log to reach the
disk. SQLite has no such table kind (and writes no leases: one runner at a time).

Revision ID: 0017_contact_leases_unlogged
Revises: 0016_effects_pending
"""

from __future__ import annotations

from alembic import op

revision = "0017_contact_leases_unlogged"
down_revision: str | None = "0016_effects_pending"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE contact_leases SET UNLOGGED")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE contact_leases SET LOGGED")
