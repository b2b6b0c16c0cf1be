"""Building the simple-salesforce client from ``journey.toml`` ``[salesforce]`` and the
environment, for each connection kind.

Pipeline position: factory → **connection** → ``Salesforce`` client → batching. The kind
(``[salesforce] auth``, docs/salesforce.md "Connecting") decides how the access token is had:

* ``jwt``, ``client_credentials``: an OAuth token request (``oauth``) at ``login_url``,
  and again whenever the token expires — no person, nothing stored;
* ``web``: the refresh token ``journey salesforce connect`` stored in
  ``.journey/credentials`` (``credentials``) buys each access token;
* ``password``: SOAP ``login()`` with the username, password and security token —
  retired by Salesforce (gone from API 65.0, and from every version in Summer '27:
  https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/api_eol_soap.htm), so it
  logs in at API 64.0 and warns once;
* ``session``: a session ID from the environment, as it is; nothing renews it.

All but ``session`` come with an ``Authorizer``: ``Renewer`` asks it for a new token when
the org answers ``INVALID_SESSION_ID`` and puts it in the client. Secrets come only from the
environment variables (and the key file) the config names, go to Salesforce and nowhere
else: never into a message, a repr or the store.

Every request is bounded: requests waits forever unless each call passes ``timeout=``
(https://requests.readthedocs.io/en/latest/user/advanced/#timeouts), and simple-salesforce
passes none, so the client's session is a ``BoundedSession`` that gives every request —
simple-salesforce's REST calls, Bulk 2.0's uploads and polling, our SOAP ``convertLead``,
the sync's reads — ``[salesforce] connect_timeout`` to connect and ``read_timeout``
between bytes of the answer; the OAuth requests get the same bounds (``oauth.Http``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from journey.connectors.salesforce import credentials
from journey.connectors.salesforce.errors import ConnectionSettingsError
from journey.connectors.salesforce.oauth import (
    Authorizer,
    ClientCredentials,
    Http,
    JwtBearer,
    RefreshToken,
    Token,
    jwt_audience,
)
from journey.engine.config import SalesforceConfig

__all__ = [
    "LOGIN_API_VERSION",
    "BoundedSession",
    "ConnectionSettingsError",
    "Endpoint",
    "PasswordLogin",
    "Renewer",
    "connect",
    "endpoint_from_config",
    "env_value",
    "http_of",
]

ResponseHook = Callable[..., Any]
#: The last API version with SOAP ``login()`` (absent from 65.0 on).
LOGIN_API_VERSION = "64.0"
_log = logging.getLogger(__name__)
_warned: set[str] = set()


class BoundedSession(requests.Session):
    """A session whose every request has a (connect, read) timeout: one given by the
    caller is kept, a missing or ``None`` one (wait forever) is replaced. ``access_token``,
    once set, is the bearer every request carries: a handler made before a renewal (a Bulk
    2.0 job's) sends the renewed token, not the one it was made with."""

    def __init__(self, connect_timeout: float, read_timeout: float) -> None:
        super().__init__()
        self.timeout = (connect_timeout, read_timeout)
        self.access_token: str | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.access_token and request.headers.get("Authorization", "").startswith("Bearer "):
            request.headers["Authorization"] = f"Bearer {self.access_token}"
        return super().send(request, **kwargs)


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect: a ``session_id`` as it is, or an ``authorizer`` that gets
    (and renews) the access token."""

    instance_url: str | None
    version: str
    session_id: str | None = None
    authorizer: Authorizer | None = None
    ca_file: Path | None = None
    connect_timeout: float = SalesforceConfig.model_fields["connect_timeout"].default
    read_timeout: float = SalesforceConfig.model_fields["read_timeout"].default

    def __repr__(self) -> str:  # never show a secret, even in a traceback
        return f"Endpoint(instance_url={self.instance_url!r}, version={self.version!r})"

    @property
    def http(self) -> Http:
        return Http(self.connect_timeout, self.read_timeout, self.ca_file)


@dataclass(frozen=True)
class PasswordLogin:
    """SOAP ``login()`` at ``login_url`` — login.salesforce.com, test.salesforce.com, a My
    Domain or any other host — through simple-salesforce's ``SalesforceLogin``, whose
    ``scratch_url`` names the host to post the envelope to (without it, it builds
    ``https://{domain}.salesforce.com`` only)."""

    login_url: str
    username: str
    password: str
    security_token: str
    http: Http
    kind: str = "password"

    def __repr__(self) -> str:
        return f"PasswordLogin(login_url={self.login_url!r})"

    def token(self) -> Token:
        session = BoundedSession(self.http.connect_timeout, self.http.read_timeout)
        if self.http.ca_file is not None:
            session.verify, session.trust_env = str(self.http.ca_file), False
        try:
            session_id, instance = SalesforceLogin(
                username=self.username,
                password=self.password,
                # SalesforceLogin escapes the username and password but puts the token
                # into the XML as it is.
                security_token=escape(self.security_token),
                scratch_url=self.login_url.rstrip("/"),
                session=session,
                sf_version=LOGIN_API_VERSION,
            )
        except SalesforceAuthenticationFailed as error:
            raise _refusal(error) from None
        except requests.RequestException as error:
            raise ConnectionSettingsError(
                f"[salesforce] login_url: cannot reach {self.login_url} to log in "
                f"({type(error).__name__})"
            ) from None
        finally:
            session.close()
        return Token(session_id, f"https://{instance}")


def _refusal(error: SalesforceAuthenticationFailed) -> ConnectionSettingsError:
    """The setting to fix: the credentials for ``INVALID_LOGIN``; ``auth`` when the org
    refuses ``login()`` itself (``INVALID_OPERATION``: disabled, or not in this version),
    with Salesforce's words, which hold no secret."""
    if error.code == "INVALID_LOGIN":
        return ConnectionSettingsError(
            "[salesforce] password_env: Salesforce refused the login (INVALID_LOGIN: invalid "
            "username, password, security token; or user locked out): check the variables "
            "named by username_env, password_env and security_token_env"
        )
    return ConnectionSettingsError(
        f"[salesforce] auth: Salesforce refuses SOAP login() ({error.code}: "
        f'{error.auth_message[:300]}); use auth = "jwt", "client_credentials" or "web"'
    )


class Renewer:
    """Puts a new access token from ``authorizer`` into ``client`` (its headers, its
    ``session_id`` for SOAP, and its session's bearer)."""

    def __init__(self, client: Salesforce, authorizer: Authorizer) -> None:
        self.client, self.authorizer = client, authorizer

    @property
    def kind(self) -> str:
        return self.authorizer.kind

    def renew(self) -> None:
        _apply(self.client, self.authorizer.token())


def _apply(client: Salesforce, token: Token) -> None:
    client.session_id = token.access_token
    client.headers["Authorization"] = f"Bearer {token.access_token}"
    if isinstance(client.session, BoundedSession):
        client.session.access_token = token.access_token


def env_value(name: str | None, setting: str, environ: Mapping[str, str]) -> str:
    """The value of the variable ``setting`` names; refused (naming both, never the
    value) when it is not set."""
    value = environ.get(name) if name else None
    if not value:
        raise ConnectionSettingsError(
            f"[salesforce] {setting} names the environment variable {name}, which is not set"
        )
    return value


def _optional_env(name: str | None, setting: str, environ: Mapping[str, str]) -> str | None:
    return env_value(name, setting, environ) if name else None


def _private_key(settings: SalesforceConfig, root: Path, env: Mapping[str, str]) -> tuple[str, str]:
    if settings.private_key_env:
        return env_value(settings.private_key_env, "private_key_env", env), "private_key_env"
    path = Path(str(settings.private_key_file))
    path = path if path.is_absolute() else root / path
    try:
        return path.read_text(encoding="ascii"), "private_key_file"
    except (OSError, UnicodeDecodeError):
        raise ConnectionSettingsError(
            f"[salesforce] private_key_file: cannot read {path}"
        ) from None


def http_of(settings: SalesforceConfig, root: Path) -> Http:
    """The OAuth requests' bounds and trust (``ca_file`` checked)."""
    ca_file = None
    if settings.ca_file:
        ca_file = Path(settings.ca_file)
        if not ca_file.is_absolute():
            ca_file = root / ca_file
        if not ca_file.is_file():
            raise ConnectionSettingsError(f"[salesforce] ca_file: {ca_file} does not exist")
    return Http(settings.connect_timeout, settings.read_timeout, ca_file)


def authorizer_for(
    settings: SalesforceConfig, root: Path, environ: Mapping[str, str] | None = None
) -> Authorizer | None:
    """The ``Authorizer`` of a kind that gets its own tokens (``None`` for ``session``);
    ``web`` reads the refresh token stored by ``journey salesforce connect``."""
    env = os.environ if environ is None else environ
    http = http_of(settings, root)
    login_url = settings.effective_login_url
    match settings.kind:
        case "jwt":
            key, key_setting = _private_key(settings, root, env)
            return JwtBearer(
                login_url,
                jwt_audience(login_url, settings.sandbox),
                env_value(settings.client_id_env, "client_id_env", env),
                env_value(settings.username_env, "username_env", env),
                key,
                http,
                key_setting,
            )
        case "client_credentials":
            return ClientCredentials(
                login_url,
                env_value(settings.client_id_env, "client_id_env", env),
                env_value(settings.client_secret_env, "client_secret_env", env),
                http,
            )
        case "web":
            stored = credentials.load(root / ".journey")
            if stored is None:
                raise ConnectionSettingsError(
                    '[salesforce] auth = "web": not connected yet: run `journey salesforce '
                    "connect` to authorise this project in the browser"
                )
            return RefreshToken(
                stored.login_url or login_url,
                env_value(settings.client_id_env, "client_id_env", env),
                stored.refresh_token,
                _optional_env(settings.client_secret_env, "client_secret_env", env),
                http,
            )
        case "password":
            if "password" not in _warned:
                _warned.add("password")
                _log.warning(
                    'auth = "password" uses SOAP login(), which Salesforce has removed from '
                    "API 65.0 on and retires for every version in Summer '27 "
                    "(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/"
                    'api_eol_soap.htm): switch to auth = "jwt", "client_credentials" or "web"'
                )
            return PasswordLogin(
                login_url,
                env_value(settings.username_env, "username_env", env),
                env_value(settings.password_env, "password_env", env),
                _optional_env(settings.security_token_env, "security_token_env", env) or "",
                http,
            )
    return None


def endpoint_from_config(
    settings: SalesforceConfig, root: Path, environ: Mapping[str, str] | None = None
) -> Endpoint:
    """The endpoint ``[salesforce]`` describes (a real org: ``settings.remote``)."""
    env = os.environ if environ is None else environ
    http = http_of(settings, root)
    common: dict[str, Any] = {
        "ca_file": http.ca_file,
        "connect_timeout": settings.connect_timeout,
        "read_timeout": settings.read_timeout,
    }
    if settings.kind == "session":
        return Endpoint(
            settings.instance_url,
            settings.api_version,
            session_id=env_value(settings.session_id_env, "session_id_env", env),
            **common,
        )
    authorizer = authorizer_for(settings, root, env)
    if authorizer is None:
        raise ConnectionSettingsError(
            "[salesforce] instance_url is set but no credentials: set auth (docs/salesforce.md, "
            '"Connecting"), or session_id_env, or username_env with password_env'
        )
    return Endpoint(settings.instance_url, settings.api_version, authorizer=authorizer, **common)


def connect(
    endpoint: Endpoint, hooks: list[ResponseHook] | None = None, token: Token | None = None
) -> Salesforce:
    """A client for ``endpoint``; every response passes through ``hooks`` (API counting).
    An endpoint with an authorizer gets its first token now (``token``: one just had)."""
    session = BoundedSession(endpoint.connect_timeout, endpoint.read_timeout)
    if endpoint.ca_file is not None:
        session.verify = str(endpoint.ca_file)
        # requests lets REQUESTS_CA_BUNDLE override ``verify`` (psf/requests#3829).
        session.trust_env = False
    if hooks:
        session.hooks["response"] = list(hooks)
    if endpoint.authorizer is not None:
        token = token or endpoint.authorizer.token()
        session.access_token = token.access_token
        return Salesforce(
            instance_url=token.instance_url,
            session_id=token.access_token,
            version=endpoint.version,
            session=session,
        )
    if endpoint.session_id is None or not endpoint.instance_url:
        raise ConnectionSettingsError("[salesforce] session_id_env needs instance_url")
    return Salesforce(
        instance_url=endpoint.instance_url,
        session_id=endpoint.session_id,
        version=endpoint.version,
        session=session,
    )
