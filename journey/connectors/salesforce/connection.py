"""Building the simple-salesforce client from ``journey.toml`` ``[salesforce]`` and the
environment.

Pipeline position: factory → **connection** → ``Salesforce`` client → batching. Secrets
come only from the environment variables the config names (``session_id_env``, or
``username_env`` + ``password_env`` + ``security_token_env``), are handed to the client
and never logged, echoed or stored. ``sandbox = true`` logs in at test.salesforce.com;
``ca_file`` trusts a private CA (the standalone emulator's).

Every request is bounded: requests waits forever unless each call passes ``timeout=``
(https://requests.readthedocs.io/en/latest/user/advanced/#timeouts), and simple-salesforce
passes none, so the client's session is a ``BoundedSession`` that gives every request —
simple-salesforce's REST calls and login, Bulk 2.0's uploads and polling, our SOAP
``convertLead``, the sync's reads — ``[salesforce] connect_timeout`` to connect and
``read_timeout`` between bytes of the answer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from journey.engine.config import SalesforceConfig

__all__ = [
    "BoundedSession",
    "ConnectionSettingsError",
    "Endpoint",
    "connect",
    "endpoint_from_config",
]

ResponseHook = Callable[..., Any]


class BoundedSession(requests.Session):
    """A session whose every request has a (connect, read) timeout: one given by the
    caller is kept, a missing or ``None`` one (wait forever) is replaced."""

    def __init__(self, connect_timeout: float, read_timeout: float) -> None:
        super().__init__()
        self.timeout = (connect_timeout, read_timeout)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class ConnectionSettingsError(Exception):
    """The connection cannot be built: a missing variable, a refused login. The message
    names the setting (never its value)."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect. ``session_id`` or ``username``/``password`` is set."""

    instance_url: str | None
    version: str
    session_id: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    sandbox: bool = False
    ca_file: Path | None = None
    connect_timeout: float = SalesforceConfig.model_fields["connect_timeout"].default
    read_timeout: float = SalesforceConfig.model_fields["read_timeout"].default

    def __repr__(self) -> str:  # never show a secret, even in a traceback
        return f"Endpoint(instance_url={self.instance_url!r}, version={self.version!r})"


def _env(name: str | None, setting: str, environ: Mapping[str, str]) -> str | None:
    if name is None:
        return None
    value = environ.get(name)
    if not value:
        raise ConnectionSettingsError(
            f"[salesforce] {setting} names the environment variable {name}, which is not set"
        )
    return value


def endpoint_from_config(
    settings: SalesforceConfig, root: Path, environ: Mapping[str, str] | None = None
) -> Endpoint:
    """The endpoint ``[salesforce]`` describes (``instance_url`` must be set)."""
    env = os.environ if environ is None else environ
    ca_file = None
    if settings.ca_file:
        ca_file = Path(settings.ca_file)
        if not ca_file.is_absolute():
            ca_file = root / ca_file
        if not ca_file.is_file():
            raise ConnectionSettingsError(f"[salesforce] ca_file: {ca_file} does not exist")
    if settings.session_id_env:
        return Endpoint(
            settings.instance_url,
            settings.api_version,
            session_id=_env(settings.session_id_env, "session_id_env", env),
            ca_file=ca_file,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
        )
    if settings.username_env:
        return Endpoint(
            settings.instance_url,
            settings.api_version,
            username=_env(settings.username_env, "username_env", env),
            password=_env(settings.password_env, "password_env", env)
            if settings.password_env
            else None,
            security_token=_env(settings.security_token_env, "security_token_env", env)
            if settings.security_token_env
            else "",
            sandbox=settings.sandbox,
            ca_file=ca_file,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
        )
    raise ConnectionSettingsError(
        "[salesforce] instance_url is set but no credentials: set session_id_env, or "
        "username_env with password_env (and security_token_env)"
    )


def connect(endpoint: Endpoint, hooks: list[ResponseHook] | None = None) -> Salesforce:
    """A client for ``endpoint``; every response passes through ``hooks`` (API counting)."""
    session = BoundedSession(endpoint.connect_timeout, endpoint.read_timeout)
    if endpoint.ca_file is not None:
        session.verify = str(endpoint.ca_file)
        # requests lets REQUESTS_CA_BUNDLE override ``verify`` (psf/requests#3829).
        session.trust_env = False
    if hooks:
        session.hooks["response"] = list(hooks)
    if endpoint.session_id is not None:
        if not endpoint.instance_url:
            raise ConnectionSettingsError("[salesforce] session_id_env needs instance_url")
        return Salesforce(
            instance_url=endpoint.instance_url,
            session_id=endpoint.session_id,
            version=endpoint.version,
            session=session,
        )
    if endpoint.username is None or endpoint.password is None:
        raise ConnectionSettingsError("[salesforce] username_env needs password_env to log in")
    try:
        return Salesforce(
            username=endpoint.username,
            password=endpoint.password,
            security_token=endpoint.security_token or "",
            domain="test" if endpoint.sandbox else None,
            version=endpoint.version,
            session=session,
        )
    except SalesforceAuthenticationFailed as error:
        raise ConnectionSettingsError(
            f"Salesforce refused the login ({error.code}): check the variables named by "
            "username_env, password_env and security_token_env"
        ) from None
    except requests.RequestException as error:
        raise ConnectionSettingsError(f"cannot reach Salesforce to log in: {error}") from None
