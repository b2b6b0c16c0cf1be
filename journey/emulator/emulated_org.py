"""``EmulatedOrg``: the emulated Salesforce org as one object — state, seed, HTTPS
server, faults — for tests, the engine's embedded default and the CLI.

Pipeline position: the public entry point of ``journey.emulator``. A client
reaches it exactly as it reaches a real org::

    with EmulatedOrg(seed={"Lead": [...]}) as org:
        endpoint = org.start()
        sf = org.client()          # simple_salesforce.Salesforce over HTTPS
        sf.Lead.create({...})

State lives in ``state_dir`` (``org.db`` plus the TLS files) and survives a restart; with
no ``state_dir`` the org lives in memory and its certificates in a temporary folder. The
seed is applied once, when the state is new. Two ``EmulatedOrg``s may open one state
folder (two processes): each reads what the other committed (``emulator.store``).
``copy_state`` takes a consistent copy of the state while the org runs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from journey.emulator import versions
from journey.emulator.bulk import BulkApi
from journey.emulator.bulk1 import Bulk1Api
from journey.emulator.composite import CompositeApi
from journey.emulator.faults import Faults
from journey.emulator.limits import ApiCounter
from journey.emulator.org import Clock
from journey.emulator.rest import RestApi
from journey.emulator.seeding import open_org
from journey.emulator.server import (
    ADMIN_PATH,
    DEFAULT_IDLE_TIMEOUT,
    OrgApp,
    OrgServer,
    ensure_certificates,
)
from journey.emulator.store import ORG_FILE, Store

# The client side (requests, simple-salesforce) is imported by ``client``: an org made
# only to be seeded, or served to another process's client, never loads it.
if TYPE_CHECKING:
    import requests
    from simple_salesforce.api import Salesforce

__all__ = ["EmulatedOrg", "OrgEndpoint"]

#: The newest API version the org answers (``versions.CURRENT_VERSION``).
DEFAULT_API_VERSION = f"{versions.CURRENT_VERSION}.0"


@dataclass(frozen=True)
class OrgEndpoint:
    """What a client needs to reach a running emulated org."""

    instance_url: str
    session_id: str
    ca_file: Path
    admin_token: str
    version: str = DEFAULT_API_VERSION

    @property
    def login_url(self) -> str:
        """Where OAuth flows start: the org's own URL, as a My Domain login URL is."""
        return self.instance_url

    @property
    def token_url(self) -> str:
        return f"{self.login_url}/services/oauth2/token"

    def as_json(self) -> dict[str, str]:
        return {
            "instance_url": self.instance_url,
            "session_id": self.session_id,
            "ca_file": str(self.ca_file),
            "admin_token": self.admin_token,
            "admin_url": f"{self.instance_url}{ADMIN_PATH}",
            "login_url": self.login_url,
            "token_url": self.token_url,
        }


class EmulatedOrg:
    """An emulated org. ``seed``: a mapping or a JSON file (see docs/emulator.md).
    ``idle_timeout``: seconds a client connection may stay silent before it is closed."""

    def __init__(
        self,
        state_dir: Path | None = None,
        seed: Mapping[str, Any] | Path | None = None,
        *,
        clock: Clock | None = None,
        version: str = DEFAULT_API_VERSION,
        api_limit: int | None = None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        self.idle_timeout = idle_timeout
        self._temp: Path | None = None
        if state_dir is None:
            self._temp = Path(tempfile.mkdtemp(prefix="journey-emulated-org-"))
        self.state_dir = Path(state_dir) if state_dir is not None else self._temp
        assert self.state_dir is not None
        # Owner-only when made here: it holds the org's secrets (org.db, server.pem).
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.store = Store(self.state_dir / ORG_FILE if state_dir is not None else None)
        try:
            self.org = open_org(self.store, seed, clock, version)
        except BaseException:
            self.store.close()
            if self._temp is not None:
                shutil.rmtree(self._temp, ignore_errors=True)
            raise
        self.counter = ApiCounter(self.store, self.org.now)
        if api_limit is not None:
            self.counter.limit = api_limit
        self.faults = Faults()
        rest = RestApi(self.org, self.counter)
        self.app = OrgApp(self.org, rest, self.counter, self.faults)
        CompositeApi(rest, self.app.lock_fault)
        BulkApi(rest, self.app.lock_fault)
        self.app.async_api = Bulk1Api(
            self.org, self.counter, self.app.session_valid, self.app.lock_fault
        ).handle
        if not self.store.meta("sessions"):
            self.app.new_session()
        if not self.store.meta("admin_token"):
            self.store.set_meta("admin_token", secrets.token_urlsafe(24))
        self.app.admin_token = str(self.store.meta("admin_token"))
        self._server: OrgServer | None = None
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self, port: int = 0) -> OrgEndpoint:
        """Serve HTTPS on 127.0.0.1:``port`` (0 picks a free port) in a background thread."""
        if self._server is None:
            assert self.state_dir is not None
            _, server_file = ensure_certificates(self.state_dir)
            self._server = OrgServer(self.app, port, server_file, self.idle_timeout)
            self._server.start()
        return self.endpoint

    def stop(self) -> None:
        """Stop serving and release the store (the state file stays)."""
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.store.close()
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None

    def copy_state(self, dest: Path) -> Path:
        """Copy the org's records and settings into the state folder ``dest`` (its
        ``org.db``, replaced if there) as one consistent snapshot, taken with SQLite's
        backup API while the org may be serving: an ``EmulatedOrg(dest)`` then opens an
        org as this one stood, to try things on without touching this one. Faults and
        Bulk jobs live in memory and are not copied; nor are the TLS files (the copy
        makes its own when started). Returns the copy's database file."""
        dest = Path(dest)
        assert self.state_dir is not None
        if dest.resolve() == self.state_dir.resolve():
            raise ValueError(f"{dest} is this org's own state folder")
        dest.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = dest / ORG_FILE
        self.store.backup(target)
        return target

    def __enter__(self) -> EmulatedOrg:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint(self) -> OrgEndpoint:
        if self._server is None:
            raise RuntimeError("the emulated org is not started; call start() first")
        assert self.state_dir is not None
        return OrgEndpoint(
            instance_url=f"https://127.0.0.1:{self._server.port}",
            session_id=self.session_id,
            ca_file=self.state_dir / "ca.pem",
            admin_token=self.app.admin_token,
            version=self.org.version,
        )

    @property
    def session_id(self) -> str:
        sessions = self.store.meta("sessions") or []
        return str(sessions[-1]) if sessions else "expired"

    def client(self, session_id: str | None = None) -> Salesforce:
        """A simple-salesforce client built exactly as the connector builds one."""
        import requests
        from simple_salesforce.api import Salesforce

        endpoint = self.start() if self._server is None else self.endpoint
        session = requests.Session()
        session.verify = str(endpoint.ca_file)
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override ``session.verify``
        # (psf/requests#3829); the loopback org needs no proxy or netrc, so ignore the
        # environment rather than silently trust the system bundle instead of our CA.
        session.trust_env = False
        with self._lock:
            self._sessions.append(session)
        return Salesforce(
            instance_url=endpoint.instance_url,
            session_id=session_id or endpoint.session_id,
            version=endpoint.version,
            session=session,
        )

    @staticmethod
    def copy_saved_state(state_dir: Path, to: Path) -> None:
        """Copy the org kept in ``state_dir`` into the folder ``to`` (a scratch org for a
        dry run): one consistent snapshot through SQLite's backup API, taken while another
        process may be serving and writing the org, without its lock and without writing
        to it. ``EmulatedOrg(to)`` then opens the copy; its TLS files are not copied."""
        to.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(to / "org.db", os.O_RDWR | os.O_CREAT, 0o600))  # secrets: owner-only
        source = sqlite3.connect(f"{(state_dir / 'org.db').resolve().as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(to / "org.db")
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()

    # ---- in-process controls (tests, benchmarks, the embedded default) ----------------------
    @property
    def api_calls(self) -> int:
        """API calls counted today (what ``limits`` and ``Sforce-Limit-Info`` report)."""
        return self.counter.used

    def expire_session(self) -> None:
        """Every session becomes invalid — the emulator's session ID and every OAuth access
        token: calls answer 401 INVALID_SESSION_ID. Refresh tokens stay valid."""
        self.app.apply_admin({"expire_session": True})

    def renew_session(self) -> str:
        """Issue a new valid session ID (what a re-login would get); the one it replaces
        is revoked."""
        return self.app.new_session()

    def revoke_tokens(self) -> None:
        """Revoke every OAuth token, refresh tokens too (the app's "Revoke All")."""
        self.app.apply_admin({"revoke_tokens": True})

    def deactivate_user(self, who: str) -> None:
        """Make a user inactive (by email or username): its tokens end, new ones are refused."""
        self.admin({"deactivate_user": who})

    def exhaust_api(self) -> None:
        """Spend today's API allocation: calls answer 403 REQUEST_LIMIT_EXCEEDED."""
        self.counter.exhaust()

    def insert(self, sobject: str, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """Create records in-process (no API calls counted) — e.g. 2,500 Leads for a test."""
        with self.store.lock, self.store.transaction():
            return [self.org.create(sobject, r, auto_assign=False) for r in records]

    def admin(self, command: Mapping[str, Any]) -> dict[str, Any]:
        """Apply an admin-path command in-process (same JSON as ``/__emulator__/faults``)."""
        with self.store.lock:
            return self.app.apply_admin(dict(command))

    def __repr__(self) -> str:
        running = f"on port {self._server.port}" if self._server else "stopped"
        return f"EmulatedOrg({json.dumps(str(self.state_dir))}, {running})"
