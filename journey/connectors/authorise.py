"""Connecting this project to its org, renewing the connection, disconnecting it: the work
behind ``journey salesforce connect``, ``renew`` and ``disconnect``.

Pipeline position: CLI → **authorise** → connection / oauth / credentials → the org. Connect
and renew are one thing said two ways: get a working access token the way ``[salesforce]
auth`` says (the browser for ``web``, a new assertion for ``jwt``, the client credentials,
a new login, or the session variable read again), try it with one ``limits`` call, learn
what the org is (its edition, whether it is a sandbox, whether its API is enabled: the
``Organization`` object, https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_organization.htm),
and then lift the pause and make the paused runs due at once (``engine.paused_runs``).
The org's facts are kept in the connector's state for ``journey salesforce status``,
which makes no call itself.

A failure says what failed and what to fix — never "run renew", which the user has just
done. An org whose edition has no API access answers ``API_DISABLED_FOR_ORG``
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_compatible_editions.htm);
that is said in so many words.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from simple_salesforce.api import Salesforce

from journey.connectors.factory import (
    ORG_FACTS_KEY,
    connector_state,
    start_embedded,
)
from journey.connectors.salesforce import credentials
from journey.connectors.salesforce.budget import ApiBudget
from journey.connectors.salesforce.connection import (
    Endpoint,
    connect,
    endpoint_from_config,
    env_value,
    http_of,
)
from journey.connectors.salesforce.connector import clear_pause, current_pause
from journey.connectors.salesforce.errors import (
    API_DISABLED,
    Backoff,
    ConnectionSettingsError,
    SalesforceProblem,
    with_retries,
)
from journey.connectors.salesforce.loopback import Callback, callback_url
from journey.connectors.salesforce.oauth import Token, WebLogin, revoke, userinfo
from journey.emulator import EmulatedOrg
from journey.engine.config import ProjectConfig
from journey.engine.locks import FileLock
from journey.engine.paused_runs import resume_paused
from journey.engine.store import open_store

__all__ = [
    "BROWSER_WAIT_SECONDS",
    "Announce",
    "connect_org",
    "disconnect_org",
    "renew_org",
]

#: How long ``connect`` waits for the browser to come back (an upper bound, not a delay).
BROWSER_WAIT_SECONDS = 300.0
#: Shows the authorize URL to the person connecting (the CLI prints it, opens a browser).
Announce = Callable[[str], None]


def _web_flow(config: ProjectConfig, announce: Announce | None, wait: float) -> Token:
    """The browser round trip; the refresh token it brings is stored."""
    settings = config.salesforce
    if announce is None:
        raise ConnectionSettingsError(
            '[salesforce] auth = "web" authorises in a browser: run `journey salesforce '
            "connect` in a terminal"
        )
    http = http_of(settings, config.root)
    secret_env = settings.client_secret_env
    login = WebLogin(
        settings.effective_login_url,
        env_value(settings.client_id_env, "client_id_env", os.environ),
        callback_url(settings.callback_port),
        env_value(secret_env, "client_secret_env", os.environ) if secret_env else None,
        http,
    )
    callback = Callback(settings.callback_port, login.state)
    try:
        announce(login.authorize_url())
        code = callback.wait(wait)
    finally:
        callback.close()
    token = login.exchange(code)
    assert token.refresh_token is not None  # exchange refuses an answer without one
    who = _who(token, config)
    credentials.save(
        config.state_dir,
        credentials.StoredCredentials(
            token.refresh_token,
            settings.effective_login_url,
            token.instance_url,
            who.get("preferred_username"),
            datetime.now(UTC).isoformat(timespec="seconds"),
        ),
    )
    return token


def _who(token: Token, config: ProjectConfig) -> dict[str, Any]:
    """The user the token acts as (``/services/oauth2/userinfo``); ``{}`` when the org does
    not say: knowing who is a courtesy, not a condition."""
    try:
        return userinfo(token, http_of(config.salesforce, config.root))
    except ConnectionSettingsError:
        return {}


def _organization(client: Salesforce) -> dict[str, Any]:
    """Name, edition and sandbox flag of the org (one query); ``{}`` when not readable."""
    try:
        answer = with_retries(
            lambda: client.query("SELECT Name, OrganizationType, IsSandbox FROM Organization"),
            Backoff(attempts=1),
        )
    except SalesforceProblem:
        return {}
    records = answer.get("records") or [{}]
    return dict(records[0])


def _try(client: Salesforce, config: ProjectConfig, endpoint: Endpoint) -> dict[str, Any]:
    """One ``limits`` call: does the token work, and is the org's API enabled?"""
    try:
        limits: Any = with_retries(client.limits, Backoff(attempts=1))
    except SalesforceProblem as problem:
        if problem.code == API_DISABLED:
            raise ConnectionSettingsError(_api_disabled_message(problem.message)) from None
        setting = "session_id_env" if endpoint.session_id is not None else "auth"
        what = (
            "the session ID in that variable"
            if setting == "session_id_env"
            else "the new access token"
        )
        raise ConnectionSettingsError(
            f"[salesforce] {setting}: the org refused {what} "
            f"({problem.code}: {problem.message.split(' — ')[0]})"
        ) from None
    return limits if isinstance(limits, dict) else {}


def _api_disabled_message(said: str) -> str:
    return (
        f"the org's API is not enabled ({API_DISABLED}: {said}): its edition has no API "
        "access. Enterprise, Performance, Unlimited and Developer Edition have it; "
        "Professional Edition only with the API add-on"
    )


def _authorise(config: ProjectConfig, announce: Announce | None, wait: float) -> dict[str, Any]:
    settings = config.salesforce
    org: EmulatedOrg | None = None
    lock: FileLock | None = None
    token: Token | None = None
    state = None
    try:
        if not settings.remote:
            org, endpoint, lock = start_embedded(config)
            org.renew_session()
            endpoint = replace(endpoint, session_id=org.session_id)
        elif settings.kind == "web":
            token = _web_flow(config, announce, wait)
            endpoint = endpoint_from_config(settings, config.root)
        else:
            endpoint = endpoint_from_config(settings, config.root)
            token = endpoint.authorizer.token() if endpoint.authorizer else None
        state = connector_state(config.store_url)
        budget = ApiBudget(state, settings.max_daily_api_share)
        client = connect(endpoint, hooks=[budget.hook], token=token)
        now = datetime.now(UTC)
        try:
            limits = _try(client, config, endpoint)
        except ConnectionSettingsError as error:
            if API_DISABLED in str(error):
                state.put(ORG_FACTS_KEY, {"api_enabled": False, "seen_at": now.isoformat()})
            raise
        organization = _organization(client)
        who = _who(token, config) if token is not None and settings.kind != "web" else {}
        if settings.kind == "web":
            stored = credentials.load(config.state_dir)
            who = {"preferred_username": stored.username} if stored else {}
        budget.save()
        facts = {
            "instance_url": f"https://{client.sf_instance}",
            "name": organization.get("Name"),
            "edition": organization.get("OrganizationType"),
            "is_sandbox": organization.get("IsSandbox"),
            "api_enabled": True,
            "user": who.get("preferred_username"),
            "seen_at": now.isoformat(timespec="seconds"),
        }
        state.put(ORG_FACTS_KEY, facts)
        was = current_pause(state, now)
        clear_pause(state)
        store = open_store(config.store_url)
        try:
            resumed = resume_paused(store)
        finally:
            store.close()
        daily = limits.get("DailyApiRequests", {})
        return {
            "auth": settings.kind or "embedded",
            "org": facts,
            "was_paused": was,
            "resumed_runs": resumed,
            "org_limit": daily.get("Max"),
            "org_remaining": daily.get("Remaining"),
        }
    finally:
        if state is not None:
            state.close()
        if org is not None:
            org.stop()
        if lock is not None:
            lock.release()


def connect_org(
    config: ProjectConfig, announce: Announce | None = None, wait: float = BROWSER_WAIT_SECONDS
) -> dict[str, Any]:
    """Authorise this project with its org (module docstring): ``{"connected": True, …}``."""
    return {"connected": True, **_authorise(config, announce, wait)}


def renew_org(
    config: ProjectConfig, announce: Announce | None = None, wait: float = BROWSER_WAIT_SECONDS
) -> dict[str, Any]:
    """Authorise again and lift the pause: ``{"renewed": True, "was_paused": …, …}``."""
    return {"renewed": True, **_authorise(config, announce, wait)}


def disconnect_org(config: ProjectConfig) -> dict[str, Any]:
    """Revoke the stored refresh token at ``/services/oauth2/revoke`` and delete it. When
    the revocation cannot be sent the file is kept, so it can be tried again."""
    settings = config.salesforce
    stored = credentials.load(config.state_dir)
    if stored is None:
        kind = settings.kind or "embedded"
        why = (
            "this project has no stored credentials"
            if kind == "web"
            else f'auth = "{kind}" stores no credentials in this project'
        )
        return {"disconnected": False, "revoked": False, "message": why}
    revoked = revoke(stored.login_url, stored.refresh_token, http_of(settings, config.root))
    credentials.forget(config.state_dir)
    return {
        "disconnected": True,
        "revoked": revoked,
        "message": "revoked the refresh token and deleted .journey/credentials"
        if revoked
        else "Salesforce no longer knew the refresh token; deleted .journey/credentials",
    }
