"""OAuth tokens the emulated org has issued: access tokens, refresh tokens and
authorization codes, each kept only as a SHA-256 digest.

Pipeline position: below ``oauth`` (which issues and revokes) and the server's session
check (which asks whether a bearer token is a live access token). Everything lives in the
store's settings, so tokens survive a restart and a second process on the same state folder
sees them; the values themselves are never stored or logged, only their digests, so the
state file cannot be replayed against the org.

Lifetimes follow Salesforce's defaults: an access token lasts as long as the session it
stands for — it expires after ``session_timeout_minutes`` without use, measured on the
org's clock; a use in the second half of the timeout extends it — while a refresh token
stays valid until it is revoked, and an authorization code is good once, for 15 minutes.
A user made inactive loses every token at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from journey.emulator import edition
from journey.emulator.apps import digest
from journey.emulator.org import Org

__all__ = ["DEFAULT_SESSION_TIMEOUT_MINUTES", "Grant", "Tokens"]

#: Salesforce's default session timeout (Setup > Session Settings): two hours.
DEFAULT_SESSION_TIMEOUT_MINUTES = 120
#: How long an authorization code may wait for its exchange.
CODE_LIFETIME = timedelta(minutes=15)

_ACCESS, _REFRESH, _CODES = "oauth_access_tokens", "oauth_refresh_tokens", "oauth_codes"


@dataclass(frozen=True)
class Grant:
    """What a token stands for: a user, through a connected app, with these scopes."""

    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    refresh: str | None = None  # the digest of the refresh token it came from
    redirect_uri: str | None = None
    code_challenge: str | None = None


class Tokens:
    """Issue, look up and revoke the org's OAuth tokens."""

    def __init__(self, org: Org) -> None:
        self.org = org

    # ---- settings ---------------------------------------------------------------------
    @property
    def timeout(self) -> timedelta:
        minutes = self.org.store.meta("session_timeout_minutes")
        return timedelta(minutes=float(minutes or DEFAULT_SESSION_TIMEOUT_MINUTES))

    def _now(self) -> datetime:
        return self.org.now()

    def _table(self, key: str) -> dict[str, dict[str, Any]]:
        return dict(self.org.store.meta(key) or {})

    # ---- issuing ----------------------------------------------------------------------
    def issue_access(self, grant: Grant) -> str:
        token = f"{self.org_id15()}!{secrets.token_urlsafe(72)}"
        now = self._now()
        with self.org.store.transaction():
            table = {k: v for k, v in self._table(_ACCESS).items() if self._live(v, now)}
            table[digest(token)] = {**_grant_json(grant), "last_used": now.isoformat()}
            self.org.store.set_meta(_ACCESS, table)
        return token

    def issue_refresh(self, grant: Grant) -> str:
        token = "5Aep" + secrets.token_urlsafe(64)
        with self.org.store.transaction():
            table = self._table(_REFRESH)
            table[digest(token)] = _grant_json(grant)
            self.org.store.set_meta(_REFRESH, table)
        return token

    def issue_code(self, grant: Grant) -> str:
        code = "aPrx" + secrets.token_urlsafe(48)
        now = self._now()
        with self.org.store.transaction():
            table = {
                k: v
                for k, v in self._table(_CODES).items()
                if datetime.fromisoformat(v["expires"]) > now
            }
            table[digest(code)] = {
                **_grant_json(grant),
                "expires": (now + CODE_LIFETIME).isoformat(),
            }
            self.org.store.set_meta(_CODES, table)
        return code

    # ---- looking up -------------------------------------------------------------------
    def access(self, token: str) -> Grant | None:
        """The grant behind a live access token (its use extends the session), else None."""
        key = digest(token)
        now = self._now()
        with self.org.store.transaction():
            table = self._table(_ACCESS)
            entry = table.get(key)
            if entry is None or not self._live(entry, now) or not self.user_active(entry["user"]):
                return None
            last = datetime.fromisoformat(entry["last_used"])
            if now - last > self.timeout / 2:
                table[key] = {**entry, "last_used": now.isoformat()}
                self.org.store.set_meta(_ACCESS, table)
        return _grant(entry)

    def refresh(self, token: str) -> Grant | None:
        entry = self._table(_REFRESH).get(digest(token))
        if entry is None:
            return None
        return _grant({**entry, "refresh": digest(token)})

    def take_code(self, code: str) -> tuple[Grant | None, bool]:
        """The grant behind an authorization code, which is spent by the asking; the flag
        says whether the code existed but had expired."""
        key = digest(code)
        with self.org.store.transaction():
            table = self._table(_CODES)
            entry = table.pop(key, None)
            if entry is not None:
                self.org.store.set_meta(_CODES, table)
        if entry is None:
            return None, False
        if datetime.fromisoformat(entry["expires"]) <= self._now():
            return None, True
        return _grant(entry), False

    def user_active(self, user_id: str) -> bool:
        found = self.org.store.get(user_id)
        return found is not None and found[0] == "User" and bool(found[1].get("IsActive"))

    def _live(self, entry: dict[str, Any], now: datetime) -> bool:
        return now - datetime.fromisoformat(entry["last_used"]) < self.timeout

    # ---- revoking ---------------------------------------------------------------------
    def revoke(self, token: str) -> bool:
        """Revoke an access or a refresh token; a refresh token takes the access tokens
        issued from it along. False when the org knows no such token."""
        key = digest(token)
        with self.org.store.transaction():
            access, refresh = self._table(_ACCESS), self._table(_REFRESH)
            if key in access:
                del access[key]
                self.org.store.set_meta(_ACCESS, access)
                return True
            if key in refresh:
                del refresh[key]
                self.org.store.set_meta(_REFRESH, refresh)
                kept = {k: v for k, v in access.items() if v.get("refresh") != key}
                self.org.store.set_meta(_ACCESS, kept)
                return True
        return False

    def expire_access(self) -> None:
        """Every access token ends (the session timed out); refresh tokens stay."""
        self.org.store.set_meta(_ACCESS, {})

    def revoke_all(self) -> None:
        """Every token and code ends, refresh tokens too."""
        for key in (_ACCESS, _REFRESH, _CODES):
            self.org.store.set_meta(key, {})

    def org_id15(self) -> str:
        return edition.ORGANIZATION_ID[:15]


def _grant_json(grant: Grant) -> dict[str, Any]:
    return {
        "user": grant.user_id,
        "client_id": grant.client_id,
        "scopes": list(grant.scopes),
        "refresh": grant.refresh,
        "redirect_uri": grant.redirect_uri,
        "code_challenge": grant.code_challenge,
    }


def _grant(entry: dict[str, Any]) -> Grant:
    return Grant(
        user_id=str(entry["user"]),
        client_id=str(entry["client_id"]),
        scopes=tuple(entry.get("scopes") or ()),
        refresh=entry.get("refresh"),
        redirect_uri=entry.get("redirect_uri"),
        code_challenge=entry.get("code_challenge"),
    )
