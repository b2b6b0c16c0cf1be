"""OAuth 2.0 with Salesforce: the token requests each connection kind makes, and what a
refusal means for the user.

Pipeline position: connection (which picks the kind from ``[salesforce] auth``) → **oauth**
→ the org's ``/services/oauth2/*`` endpoints. The connector's client never sees a refresh
token or a private key: it gets an access token and an instance URL (``Token``), and on
``INVALID_SESSION_ID`` asks the same ``Authorizer`` for a new one (``batching.OrgApi``).

The flows, as Salesforce documents them (Salesforce Help, "OAuth Authorization Flows"):

* JWT bearer — https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm:
  an assertion signed RS256 (PyJWT) with ``iss`` the consumer key, ``sub`` the username,
  ``aud`` the login server, ``exp`` at most 3 minutes ahead; no refresh token is issued,
  a new assertion is the renewal;
* client credentials — https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm:
  the consumer key and secret, at the org's My Domain; the token acts as the app's run-as
  user;
* web server flow with PKCE — https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm:
  the browser's code exchanged with the ``code_verifier`` whose S256 challenge went to
  ``/services/oauth2/authorize``; the refresh token it returns renews
  (``grant_type=refresh_token``);
* revocation — https://help.salesforce.com/s/articleView?id=sf.remoteaccess_revoke_token.htm:
  ``POST /services/oauth2/revoke`` with ``token``; a refresh token takes its access tokens
  along.

Authlib's ``OAuth2Session`` builds and sends the requests (PKCE's challenge, client
authentication, the error JSON ``{"error", "error_description"}``); every one is bounded by
``[salesforce] connect_timeout``/``read_timeout`` and trusts ``ca_file`` when set. Secrets
stay out of every message, repr and exception raised here.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import requests

from journey.connectors.salesforce.errors import ConnectionSettingsError

# Authlib (and joserfc under it) and PyJWT are imported by the token requests that use
# them: a session ID (the embedded org's, a dry run's scratch org) never asks for a token.
if TYPE_CHECKING:
    from authlib.integrations.requests_client import OAuth2Session, OAuthError

__all__ = [
    "JWT_BEARER",
    "Authorizer",
    "ClientCredentials",
    "Http",
    "JwtBearer",
    "RefreshToken",
    "Token",
    "TokenUnreachableError",
    "WebLogin",
    "jwt_audience",
    "revoke",
    "userinfo",
]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: The JWT's lifetime: Salesforce takes an ``exp`` at most 3 minutes ahead.
ASSERTION_SECONDS = 150
TOKEN_PATH = "/services/oauth2/token"
AUTHORIZE_PATH = "/services/oauth2/authorize"
REVOKE_PATH = "/services/oauth2/revoke"
USERINFO_PATH = "/services/oauth2/userinfo"


class TokenUnreachableError(ConnectionSettingsError):
    """The token endpoint did not answer (network, timeout, 5xx): nothing was refused, so
    trying again later may work."""


@dataclass(frozen=True)
class Http:
    """How the OAuth requests travel: the same bounds and trust as the API's."""

    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    ca_file: Path | None = None

    def session(self, **kwargs: Any) -> OAuth2Session:
        from authlib.integrations.requests_client import OAuth2Session

        session = OAuth2Session(default_timeout=(self.connect_timeout, self.read_timeout), **kwargs)
        if self.ca_file is not None:
            session.verify = str(self.ca_file)
            session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        return session


@dataclass(frozen=True)
class Token:
    """An access token and the org it opens. ``refresh_token`` only from the web flow."""

    access_token: str = field(repr=False)
    instance_url: str
    refresh_token: str | None = field(default=None, repr=False)
    identity_url: str | None = None

    @classmethod
    def from_answer(cls, answer: dict[str, Any], fallback_url: str) -> Token:
        access = answer.get("access_token")
        if not access:
            raise ConnectionSettingsError("Salesforce's token answer holds no access_token")
        return cls(
            str(access),
            str(answer.get("instance_url") or fallback_url).rstrip("/"),
            str(answer["refresh_token"]) if answer.get("refresh_token") else None,
            str(answer["id"]) if answer.get("id") else None,
        )


class Authorizer(Protocol):
    """A way to get an access token without a person: what the connector renews with."""

    @property
    def kind(self) -> str:
        """What the user configured (``auth``), for messages."""
        ...

    def token(self) -> Token: ...


def jwt_audience(login_url: str, sandbox: bool) -> str:
    """``aud`` of the assertion: Salesforce's login server (``test`` for a sandbox, also
    behind a My Domain), or the login URL itself for any other host (an Experience Cloud
    site, the emulated org)."""
    host = urlsplit(login_url).hostname or ""
    if (
        host == "test.salesforce.com"
        or host.endswith(".sandbox.my.salesforce.com")
        or (sandbox and host.endswith("salesforce.com"))
    ):
        return "https://test.salesforce.com"
    if host.endswith("salesforce.com"):
        return "https://login.salesforce.com"
    return login_url.rstrip("/")


def _request(what: str, login_url: str, call: Any) -> dict[str, Any]:
    """Run one token request; a network failure or a 5xx is ``TokenUnreachableError``."""
    from authlib.integrations.requests_client import OAuthError

    try:
        answer: dict[str, Any] = dict(call())
    except OAuthError:
        raise
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        raise TokenUnreachableError(
            f"{what}: {login_url} answered HTTP {status}; try again later"
        ) from None
    except requests.RequestException as error:
        raise TokenUnreachableError(
            f"{what}: cannot reach {login_url} ({type(error).__name__})"
        ) from None
    except ValueError as error:  # a body that is not the token JSON
        raise ConnectionSettingsError(
            f"{what}: {login_url} did not answer as Salesforce ({error})"
        ) from None
    return answer


def _refusal(error: OAuthError) -> str:
    description = f": {error.description}" if error.description else ""
    return f"{error.error}{description}"


def _token(
    what: str,
    login_url: str,
    session: OAuth2Session,
    call: Callable[[OAuth2Session], Any],
    explain: Callable[[OAuthError], str],
) -> Token:
    """One token request of a flow on its own ``session`` (closed after): Salesforce's
    OAuth refusal becomes the flow's message naming the setting to fix."""
    from authlib.integrations.requests_client import OAuthError

    try:
        answer = _request(what, login_url, lambda: call(session))
    except OAuthError as error:
        raise ConnectionSettingsError(explain(error)) from None
    finally:
        session.close()
    return Token.from_answer(answer, login_url)


@dataclass(frozen=True)
class JwtBearer:
    """The JWT bearer flow; ``key_setting`` names where the key came from, for messages."""

    login_url: str
    audience: str
    client_id: str = field(repr=False)
    username: str = field(repr=False)
    private_key: str = field(repr=False)
    http: Http = Http()
    key_setting: str = "private_key_file"
    kind: str = "jwt"
    #: Seconds since the epoch, when the assertion is made (``exp`` counts from it).
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def assertion(self) -> str:
        import jwt

        issued = int(self.clock())
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience,
            "exp": issued + ASSERTION_SECONDS,
        }
        try:
            return jwt.encode(claims, self.private_key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError):
            raise ConnectionSettingsError(
                f"[salesforce] {self.key_setting}: not a PEM RSA private key"
            ) from None

    def token(self) -> Token:
        return _token(
            "the JWT bearer token request",
            self.login_url,
            self.http.session(client_id=self.client_id, token_endpoint_auth_method="none"),
            lambda session: session.fetch_token(
                self.login_url + TOKEN_PATH, grant_type=JWT_BEARER, assertion=self.assertion()
            ),
            self._explain,
        )

    def _explain(self, error: OAuthError) -> str:
        said = _refusal(error)
        text = (error.description or "").lower()
        if error.error in ("invalid_client_id", "invalid_client"):
            return (
                f"[salesforce] client_id_env: Salesforce knows no connected app with that "
                f"consumer key ({said})"
            )
        if "user" in text or "approv" in text:
            return (
                f"[salesforce] username_env: Salesforce refused to issue a token for that user "
                f"({said}); the user must be active and pre-authorised for the connected app"
            )
        if "audience" in text:
            return f"[salesforce] login_url: Salesforce refused the assertion's audience ({said})"
        if "expired" in text:
            return (
                f"[salesforce] {self.key_setting}: Salesforce found the assertion expired "
                f"({said}); check this machine's clock"
            )
        return (
            f"[salesforce] {self.key_setting}: Salesforce refused the signed assertion ({said}); "
            "the key must match the certificate uploaded to the connected app"
        )


@dataclass(frozen=True)
class ClientCredentials:
    """The client credentials flow (at the org's My Domain)."""

    login_url: str
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    http: Http = Http()
    kind: str = "client_credentials"

    def token(self) -> Token:
        session = self.http.session(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method="client_secret_post",
        )
        return _token(
            "the client credentials token request",
            self.login_url,
            session,
            lambda s: s.fetch_token(self.login_url + TOKEN_PATH, grant_type="client_credentials"),
            self._explain,
        )

    def _explain(self, error: OAuthError) -> str:
        said = _refusal(error)
        text = (error.description or "").lower()
        if error.error == "invalid_client_id":
            return (
                f"[salesforce] client_id_env: Salesforce knows no connected app with that "
                f"consumer key ({said})"
            )
        if error.error == "invalid_client" or "secret" in text:
            return (
                f"[salesforce] client_secret_env: Salesforce refused the consumer secret ({said})"
            )
        if "user" in text:
            return (
                f"[salesforce] client_id_env: the connected app's run-as user cannot be used "
                f"({said}); set an active Run As user in its client credentials flow settings"
            )
        return f"[salesforce] client_id_env: Salesforce refused the client credentials ({said})"


@dataclass(frozen=True)
class RefreshToken:
    """Renewal with the web flow's stored refresh token."""

    login_url: str
    client_id: str = field(repr=False)
    refresh_token: str = field(repr=False)
    client_secret: str | None = field(default=None, repr=False)
    http: Http = Http()
    kind: str = "web"

    def token(self) -> Token:
        session = self.http.session(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method="client_secret_post" if self.client_secret else "none",
        )
        return _token(
            "the refresh token request",
            self.login_url,
            session,
            lambda s: s.refresh_token(
                self.login_url + TOKEN_PATH, refresh_token=self.refresh_token
            ),
            self._explain,
        )

    def _explain(self, error: OAuthError) -> str:
        if error.error in ("invalid_client_id", "invalid_client"):
            said = _refusal(error)
            return f"[salesforce] client_id_env: Salesforce refused the connected app ({said})"
        return (
            f'[salesforce] auth = "web": Salesforce refused the refresh token stored in '
            f".journey/credentials ({_refusal(error)}): it was revoked or has expired; "
            "`journey salesforce renew` authorises again in the browser"
        )


@dataclass
class WebLogin:
    """One web server flow with PKCE: ``authorize_url`` for the browser, then ``exchange``
    of the code the callback received. ``state`` ties the callback to this attempt."""

    login_url: str
    client_id: str = field(repr=False)
    redirect_uri: str
    client_secret: str | None = field(default=None, repr=False)
    http: Http = Http()
    state: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(64), repr=False)

    def _session(self) -> OAuth2Session:
        return self.http.session(
            client_id=self.client_id,
            client_secret=self.client_secret,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_post" if self.client_secret else "none",
            scope="api refresh_token",
        )

    def _explain(self, error: OAuthError) -> str:
        said = _refusal(error)
        if error.error in ("invalid_client_id", "invalid_client"):
            wrong = "secret" if error.error == "invalid_client" else "id"
            return f"[salesforce] client_{wrong}_env: Salesforce refused the connected app ({said})"
        return f"Salesforce refused the authorization code ({said})"

    def authorize_url(self) -> str:
        session = self._session()
        try:
            url, _ = session.create_authorization_url(
                self.login_url + AUTHORIZE_PATH, state=self.state, code_verifier=self.verifier
            )
        finally:
            session.close()
        return str(url)

    def exchange(self, code: str) -> Token:
        token = _token(
            "the authorization code exchange",
            self.login_url,
            self._session(),
            lambda s: s.fetch_token(
                self.login_url + TOKEN_PATH,
                grant_type="authorization_code",
                code=code,
                code_verifier=self.verifier,
            ),
            self._explain,
        )
        if token.refresh_token is None:
            raise ConnectionSettingsError(
                "[salesforce] client_id_env: Salesforce gave no refresh token; add the "
                '"Perform requests at any time (refresh_token, offline_access)" scope to the '
                "connected app"
            )
        return token


def revoke(login_url: str, token: str, http: Http) -> bool:
    """Revoke ``token`` (a refresh token takes its access tokens along). True when
    Salesforce revoked it; False when it did not know it (already revoked)."""
    session = http.session()
    try:
        answer = session.post(login_url + REVOKE_PATH, data={"token": token}, withhold_token=True)
    except requests.RequestException as error:
        raise TokenUnreachableError(
            f"the revocation: cannot reach {login_url} ({type(error).__name__})"
        ) from None
    finally:
        session.close()
    if answer.status_code == 200:
        return True
    if answer.status_code == 400:
        return False
    raise TokenUnreachableError(f"the revocation: {login_url} answered HTTP {answer.status_code}")


def userinfo(token: Token, http: Http) -> dict[str, Any]:
    """Who the token acts as (``preferred_username``, ``name``, ``organization_id``…)."""
    session = http.session()
    try:
        answer = session.get(
            token.instance_url + USERINFO_PATH,
            headers={"Authorization": f"Bearer {token.access_token}"},
            withhold_token=True,
        )
    except requests.RequestException as error:
        raise TokenUnreachableError(
            f"who the token acts as: cannot reach {token.instance_url} ({type(error).__name__})"
        ) from None
    finally:
        session.close()
    if answer.status_code != 200:
        raise ConnectionSettingsError(
            f"the org did not say who the token acts as (HTTP {answer.status_code})"
        )
    body: dict[str, Any] = answer.json()
    return body
