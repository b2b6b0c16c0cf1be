"""Alembic's entry point for the store's revisions (``versions/``).

The store is migrated only from Python (``journey.engine.migrations.upgrade``), which
opens the transaction and takes the lock, then hands its connection in
``config.attributes["connection"]``: there is no ``alembic.ini`` and no URL here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

connection = context.config.attributes["connection"]
assert isinstance(connection, Connection)
# Batch mode: SQLite alters a table by copying it, so every revision writes its alters in
# ``op.batch_alter_table`` blocks and runs unchanged on both databases.
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
