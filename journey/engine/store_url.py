"""Turning ``[store] url`` into a database engine, and saying clearly why it cannot be.

Pipeline position: ``store.open_store`` -> **store_url** -> SQLAlchemy. A store that cannot
be opened is the user's to fix (a typo in the URL, a server that is down, a ``.journey``
that is a file or not writable), so each way it fails becomes one ``StoreOpenError`` with
what to do, never a driver's traceback. A URL is only ever shown with its password hidden.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

__all__ = ["CONNECT_TIMEOUT", "SUPPORTED", "StoreOpenError", "create_engine", "unreachable"]

#: The databases journey keeps its state in, with the URL each is written as.
SUPPORTED = {
    "sqlite": "sqlite:///.journey/state.db",
    "postgresql": "postgresql+psycopg://USER@HOST/DATABASE",
}

#: Seconds to wait for a PostgreSQL server to answer a connection (a URL's own
#: ``?connect_timeout=`` wins), so an unreachable server is an error, not a hang.
CONNECT_TIMEOUT = 10

_WHERE = "[store] url (or JOURNEY_DATABASE_URL)"


class StoreOpenError(Exception):
    """The store cannot be opened; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def shown(url: str | URL) -> str:
    """The URL with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a URL)"


def _parsed(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        # Not echoed: an unparsable URL may still hold a password.
        raise StoreOpenError(
            f"{_WHERE} is not a database URL",
            f"write it as {SUPPORTED['postgresql']} or {SUPPORTED['sqlite']}",
        ) from None


def _file_in_the_way(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = _file_in_the_way(folder)
        if blocker is not None or exc.errno in (errno.EEXIST, errno.ENOTDIR):
            blocker = blocker or folder
            raise StoreOpenError(
                f"{blocker} is a file, but journey keeps its state in a folder there",
                f"move that file away (journey makes the folder), or set {_WHERE}",
            ) from None
        raise StoreOpenError(
            f"cannot make the store's folder {folder}: {exc.strerror}",
            f"make {folder.parent} writable for this user, or set {_WHERE}",
        ) from None


def create_engine(url: str) -> Engine:
    """The engine for ``url``; a SQLite file's folder is made first."""
    parsed = _parsed(url)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise StoreOpenError(
            f'{_WHERE}: journey keeps its state in SQLite or PostgreSQL, not "{backend}"',
            f"write it as {SUPPORTED['postgresql']} or {SUPPORTED['sqlite']}",
        )
    options: dict[str, Any] = {}
    if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        _make_folder(Path(str(parsed.database)).parent)
    if backend == "sqlite":
        _bind_none_directly()
    if backend == "postgresql" and "connect_timeout" not in parsed.query:
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    # The session used last is handed out next: a runner working alone keeps to one
    # session, whose prepared statements (psycopg's, after a few executions) it reuses,
    # instead of going round the pool and preparing every statement on each session.
    options["pool_use_lifo"] = True
    try:
        engine = sa.create_engine(url, **options)
    except (NoSuchModuleError, ImportError) as exc:
        name = getattr(exc, "name", None) or parsed.drivername
        raise StoreOpenError(
            f'{_WHERE}: the database driver for "{parsed.drivername}" ({name}) is not installed',
            f"write it as {SUPPORTED['postgresql']} (psycopg is the driver journey installs)",
        ) from None
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        sa.event.listen(engine, "connect", _binary_lists)
    return engine


def _bind_none_directly() -> None:
    """Bind ``None`` as NULL without the sqlite3 module's adaptation protocol. For a value
    that is not exactly an int, float or str, the module looks for an adapter, then asks
    the value's type for ``__adapt__`` and ``__conform__``: two ``AttributeError``s
    raised and cleared for every NULL bound, a few a contact-step in the runner's
    batches. With an adapter registered for ``NoneType`` (``{}.get``: C, returns
    ``None``) the lookup ends at the first step; NULL is bound as before. The registry
    is the module's, so every SQLite connection of the process gains, none changes."""
    import sqlite3

    sqlite3.register_adapter(type(None), _NONE)


#: ``_bind_none_directly``'s adapter: called with ``None``, it returns ``None``.
_NONE: Any = {}.get


def _binary_lists(dbapi_connection: Any, _record: Any) -> None:
    """Send every list parameter as a binary array. The id lists of a batch (claims,
    ``sql_batches.among``, the contacts' loading) are thousands of values: psycopg's text
    array dumper runs a regular expression on each element to decide on its quoting,
    three to five times the CPU of the binary one, which writes each element's bytes. A
    list with no element to type (empty, or only ``None``) it still sends as text, so an
    empty list keeps meaning an empty array of the statement's type."""
    from psycopg.types.array import ListBinaryDumper

    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


def unreachable(url: str, error: OperationalError) -> StoreOpenError:
    """What a database that refused to open means for the user."""
    lines = str(error.orig or error).strip().splitlines()
    detail = lines[0] if lines else type(error).__name__
    parsed = _parsed(url)
    if parsed.get_backend_name() == "sqlite":
        folder = Path(str(parsed.database or ".")).parent
        return StoreOpenError(
            f"cannot open the store {parsed.database}: {detail}",
            f"make {folder} writable for this user (journey writes its state there), or set "
            f"{_WHERE}",
        )
    return StoreOpenError(
        f"cannot reach the store's database {shown(parsed)}: {detail}",
        f"check {_WHERE}, and that the database server is running and lets this host in",
    )
