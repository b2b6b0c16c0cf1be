"""Connected apps: the clients the emulated org's OAuth endpoints know.

Pipeline position: read by ``oauth`` for every token, authorize and revoke request, written
once by the seed (``"ConnectedApp"`` entries, see docs/emulator.md). What Salesforce keeps
on a connected app's page is kept here: the consumer key (``client_id``), the consumer
secret, the
certificate a JWT bearer assertion must be signed for, the callback URLs, the client
credentials flow's run-as user, which users are pre-authorized, and whether the web-server
and refresh-token flows demand the secret. The consumer secret is kept as given, as the
org keeps it: it signs every token response (the ``signature`` field), so the org must
hold it; the state file is owner-only, like the server's TLS key beside it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

# cryptography is loaded by what reads a certificate: an org seeded without a connected
# app (the embedded default), or whose apps are never asked for a key, never loads it.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

__all__ = ["AppError", "ConnectedApp", "digest", "load_apps", "parse_app", "store_apps"]

_META = "connected_apps"
#: Scopes a connected app grants when the seed names none.
DEFAULT_SCOPES = ("api", "refresh_token", "id")


class AppError(ValueError):
    """A ``ConnectedApp`` seed entry the org cannot use; the message names the problem."""


def digest(secret: str) -> str:
    """What the org keeps of a secret or a token: its SHA-256, never the value."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ConnectedApp:
    """One connected app. ``run_as`` and ``approved`` hold user IDs; ``approved`` is
    ``None`` when every user may use the app ("All users may self-authorize")."""

    name: str
    client_id: str
    client_secret: str = ""
    certificate: str = ""
    callback_urls: tuple[str, ...] = ()
    run_as: str | None = None
    approved: tuple[str, ...] | None = None
    auto_approve: bool = False
    require_secret: bool = True
    scopes: tuple[str, ...] = DEFAULT_SCOPES

    def secret_matches(self, secret: str | None) -> bool:
        if not secret or not self.client_secret:
            return False
        return hmac.compare_digest(secret.encode("utf-8"), self.client_secret.encode("utf-8"))

    def public_key(self) -> RSAPublicKey | None:
        """The certificate's RSA key (what RS256 assertions are checked with), if any."""
        if not self.certificate:
            return None
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

        key = x509.load_pem_x509_certificate(self.certificate.encode("ascii")).public_key()
        return key if isinstance(key, RSAPublicKey) else None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["callback_urls"] = list(self.callback_urls)
        data["approved"] = None if self.approved is None else list(self.approved)
        data["scopes"] = list(self.scopes)
        return data


def parse_app(index: int, entry: Mapping[str, Any], user_id: Mapping[str, str]) -> ConnectedApp:
    """A seed entry as a ``ConnectedApp``; ``user_id`` maps emails and usernames (lower
    case) to user IDs."""
    where = f"seed ConnectedApp[{index}]"
    client_id = str(entry.get("client_id") or "")
    if not client_id:
        raise AppError(f"{where}: client_id is required")
    certificate = str(entry.get("certificate") or "")
    if certificate:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

        try:
            key = x509.load_pem_x509_certificate(certificate.encode("ascii")).public_key()
        except ValueError as error:
            raise AppError(
                f"{where}: certificate is not a PEM X.509 certificate: {error}"
            ) from None
        if not isinstance(key, RSAPublicKey):
            raise AppError(f"{where}: certificate must hold an RSA key (JWTs are RS256)")
    callbacks = entry.get("callback_url") or ()
    if isinstance(callbacks, str):
        callbacks = callbacks.split()  # Salesforce takes several callback URLs, one a line

    def user(value: Any, what: str) -> str:
        found = user_id.get(str(value).lower())
        if found is None:
            raise AppError(f"{where}: {what} {value!r} is not a seeded user")
        return found

    run_as = user(entry["run_as"], "run_as") if entry.get("run_as") else None
    approved_spec = entry.get("approved_users")
    approved = (
        None
        if approved_spec is None
        else tuple(user(u, "approved_users entry") for u in approved_spec)
    )
    secret = str(entry.get("client_secret") or "")
    known = {
        "name",
        "client_id",
        "client_secret",
        "certificate",
        "callback_url",
        "run_as",
        "approved_users",
        "auto_approve",
        "require_secret",
        "scopes",
    }
    unknown = sorted(set(entry) - known)
    if unknown:
        raise AppError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    return ConnectedApp(
        name=str(entry.get("name") or client_id),
        client_id=client_id,
        client_secret=secret,
        certificate=certificate,
        callback_urls=tuple(str(c) for c in callbacks),
        run_as=run_as,
        approved=approved,
        auto_approve=bool(entry.get("auto_approve", False)),
        require_secret=bool(entry.get("require_secret", True)),
        scopes=tuple(str(s) for s in entry.get("scopes") or DEFAULT_SCOPES),
    )


def store_apps(store: Any, apps: list[ConnectedApp]) -> None:
    ids = [a.client_id for a in apps]
    if len(set(ids)) != len(ids):
        raise AppError("seed ConnectedApp: two apps share a client_id")
    store.set_meta(_META, [a.as_json() for a in apps])


def load_apps(store: Any) -> dict[str, ConnectedApp]:
    """The org's connected apps by client_id."""
    apps = {}
    for data in store.meta(_META) or []:
        values = dict(data)
        values["callback_urls"] = tuple(values.get("callback_urls") or ())
        values["scopes"] = tuple(values.get("scopes") or DEFAULT_SCOPES)
        if values.get("approved") is not None:
            values["approved"] = tuple(values["approved"])
        app = ConnectedApp(**values)
        apps[app.client_id] = app
    return apps
