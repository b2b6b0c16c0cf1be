"""The emulated org's OAuth 2.0 endpoints under ``/services/oauth2/``: ``token`` (the
JWT bearer, client credentials, authorization code with PKCE and refresh token grants),
``authorize`` (the consent page, ``consent``), ``revoke``, and ``userinfo`` with the
identity URL ``/id/{org}/{user}`` every token response names (``identity``).

Pipeline position: beside ``rest`` and ``soap`` behind the server, which routes here
without a session check and without counting an API call: logging in is not an API call
(LimitInfoHeader counts "all calls, except for login()",
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_limitinfo.htm).
Refusals use OAuth's own JSON, ``{"error", "error_description"}`` with status 400, worded
as Salesforce words them (docs/emulator.md lists each with its source). JWT signatures are
checked by PyJWT against the connected app's certificate, never by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import jwt

from journey.emulator import edition
from journey.emulator.apps import ConnectedApp, digest, load_apps
from journey.emulator.consent import Consent
from journey.emulator.identity import Identity
from journey.emulator.org import Org
from journey.emulator.protocol import Request, Response, json_response
from journey.emulator.tokens import Grant, Tokens

__all__ = ["JWT_BEARER", "OAUTH_PATH", "OAuthApi", "OAuthError"]

OAUTH_PATH = "/services/oauth2/"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: The login hosts a JWT's ``aud`` may name (a sandbox's is test.salesforce.com).
PRODUCTION_LOGIN, SANDBOX_LOGIN = "https://login.salesforce.com", "https://test.salesforce.com"
#: "exp … within 3 minutes" of the request (JWT bearer flow).
MAX_ASSERTION_LIFETIME = timedelta(minutes=3)


@dataclass
class OAuthError(Exception):
    """An OAuth refusal: the status, OAuth's ``error`` code and Salesforce's description."""

    status: int
    error: str
    description: str

    def response(self) -> Response:
        return json_response(
            self.status, {"error": self.error, "error_description": self.description}
        )


def _invalid_grant(description: str) -> OAuthError:
    return OAuthError(400, "invalid_grant", description)


_UNKNOWN_CLIENT = OAuthError(400, "invalid_client_id", "client identifier invalid")
_BAD_SECRET = OAuthError(400, "invalid_client", "invalid client credentials")


class OAuthApi:
    """Routes ``/services/oauth2/*`` and ``/id/*``. ``base_url`` of each call is the URL
    the client reached the org by (its My Domain): the ``instance_url`` it is given."""

    def __init__(self, org: Org, tokens: Tokens) -> None:
        self.org = org
        self.tokens = tokens
        self.consent = Consent(self)
        self.identity = Identity(self)

    def handle(self, request: Request, base_url: str) -> Response:
        try:
            if request.path.startswith("/id/"):
                return self.identity.identity(request, base_url)
            name = request.path[len(OAUTH_PATH) :].strip("/")
            routes: dict[str, Callable[[Request, str], Response]] = {
                "token": self.token,
                "authorize": self.consent.authorize,
                "revoke": self.revoke,
                "userinfo": self.identity.userinfo,
            }
            route = routes.get(name)
            if route is None:
                return Response(404, b"", content_type="text/plain")
            return route(request, base_url)
        except OAuthError as error:
            return error.response()

    # ---- shared -----------------------------------------------------------------------
    def apps(self) -> dict[str, ConnectedApp]:
        return load_apps(self.org.store)

    def app(self, client_id: str | None) -> ConnectedApp:
        found = self.apps().get(client_id or "")
        if found is None:
            raise _UNKNOWN_CLIENT
        return found

    def user(self, user_id: str) -> dict[str, Any]:
        found = self.org.store.get(user_id)
        assert found is not None
        assert found[0] == "User"
        return found[1]

    def user_by_username(self, username: str) -> dict[str, Any] | None:
        lowered = username.lower()
        return next(
            (
                u
                for u in self.org.store.scan("User")
                if str(u.get("Username", "")).lower() == lowered
            ),
            None,
        )

    def approved(self, app: ConnectedApp, user_id: str) -> bool:
        """Pre-authorized by the admin, or approved by the user on the consent page."""
        if app.approved is None or user_id in app.approved:
            return True
        consents = self.org.store.meta("oauth_consents") or {}
        return user_id in consents.get(app.client_id, [])

    def remember_consent(self, app: ConnectedApp, user_id: str) -> None:
        consents = dict(self.org.store.meta("oauth_consents") or {})
        users = set(consents.get(app.client_id, []))
        users.add(user_id)
        consents[app.client_id] = sorted(users)
        self.org.store.set_meta("oauth_consents", consents)

    def identity_url(self, base_url: str, user_id: str) -> str:
        return f"{base_url}/id/{edition.ORGANIZATION_ID}/{user_id}"

    def _granted(
        self,
        app: ConnectedApp,
        grant: Grant,
        base_url: str,
        refresh_token: str | None = None,
    ) -> Response:
        """The token response, as each flow's documentation shows it."""
        access = self.tokens.issue_access(grant)
        issued_at = str(int(self.org.now().timestamp() * 1000))
        identity = self.identity_url(base_url, grant.user_id)
        body: dict[str, Any] = {"access_token": access}
        if refresh_token:
            body["refresh_token"] = refresh_token
        if app.client_secret:
            # "Base64-encoded HMAC-SHA256 signature signed with the client_secret … containing
            # the concatenated ID and issued_at value": a client checks the answer is the org's.
            mac = hmac.new(app.client_secret.encode(), (identity + issued_at).encode(), "sha256")
            body["signature"] = base64.b64encode(mac.digest()).decode("ascii")
        body.update(
            {
                "scope": " ".join(grant.scopes),
                "instance_url": base_url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            }
        )
        return json_response(
            200, body, headers={"Cache-Control": "no-cache,must-revalidate,no-store"}
        )

    # ---- token ------------------------------------------------------------------------
    def token(self, request: Request, base_url: str) -> Response:
        if request.method != "POST":
            raise OAuthError(400, "invalid_request", "must use HTTP POST")
        form = {**request.params, **_form(request.body)}
        basic = _basic_credentials(request.headers.get("authorization", ""))
        if basic is not None:
            form.setdefault("client_id", basic[0])
            form.setdefault("client_secret", basic[1])
        flows: dict[str, Callable[[dict[str, str], str], Response]] = {
            JWT_BEARER: self._jwt_bearer,
            "client_credentials": self._client_credentials,
            "authorization_code": self._authorization_code,
            "refresh_token": self._refresh_token,
        }
        flow = flows.get(form.get("grant_type", ""))
        if flow is None:
            raise OAuthError(400, "unsupported_grant_type", "grant type not supported")
        with self.org.store.transaction():
            return flow(form, base_url)

    def _jwt_bearer(self, form: dict[str, str], base_url: str) -> Response:
        assertion = form.get("assertion", "")
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise _invalid_grant("invalid assertion") from None
        app = self.app(str(claims.get("iss") or ""))
        key = app.public_key()
        if key is None or header.get("alg") != "RS256":
            raise _invalid_grant("invalid assertion")
        try:
            # The org's clock decides expiry below, so PyJWT checks the signature only.
            jwt.decode(
                assertion,
                key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_aud": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            raise _invalid_grant("invalid assertion") from None
        if not isinstance(claims.get("aud"), str | list) or not self._audience_ok(
            claims["aud"], base_url
        ):
            raise _invalid_grant("audience is invalid")
        exp = claims.get("exp")
        now = self.org.now().timestamp()
        if not isinstance(exp, int | float) or not (
            now < exp <= now + MAX_ASSERTION_LIFETIME.total_seconds()
        ):
            # Salesforce's words for an assertion whose exp is past or too far ahead.
            raise _invalid_grant("expired authorization code")
        user = self.user_by_username(str(claims.get("sub") or ""))
        if user is None or not self.approved(app, str(user["Id"])):
            raise _invalid_grant("user hasn't approved this consumer")
        if not user.get("IsActive"):
            raise _invalid_grant("inactive user")
        grant = Grant(str(user["Id"]), app.client_id, _without_refresh(app.scopes))
        return self._granted(app, grant, base_url)

    def _audience_ok(self, audience: str | list[Any], base_url: str) -> bool:
        wanted = {base_url.rstrip("/")}
        wanted.add(SANDBOX_LOGIN if edition.settings(self.org).is_sandbox else PRODUCTION_LOGIN)
        given = [audience] if isinstance(audience, str) else [str(a) for a in audience]
        return any(a.rstrip("/") in wanted for a in given)

    def _client(self, form: dict[str, str], secret_needed: bool) -> ConnectedApp:
        app = self.app(form.get("client_id"))
        secret = form.get("client_secret")
        if (secret_needed or secret) and not app.secret_matches(secret):
            raise _BAD_SECRET
        return app

    def _client_credentials(self, form: dict[str, str], base_url: str) -> Response:
        app = self._client(form, secret_needed=True)
        if app.run_as is None:
            raise _invalid_grant("no client credentials user enabled")
        if not self.tokens.user_active(app.run_as):
            raise _invalid_grant("inactive user")
        grant = Grant(app.run_as, app.client_id, _without_refresh(app.scopes))
        return self._granted(app, grant, base_url)

    def _authorization_code(self, form: dict[str, str], base_url: str) -> Response:
        app = self._client(form, secret_needed=self.app(form.get("client_id")).require_secret)
        grant, expired = self.tokens.take_code(form.get("code", ""))
        if grant is None:
            raise _invalid_grant(
                "expired authorization code" if expired else "invalid authorization code"
            )
        if grant.client_id != app.client_id:
            raise _invalid_grant("invalid authorization code")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise _invalid_grant("redirect_uri must match configuration")
        if grant.code_challenge is not None:
            # A challenge without a verifier fails with invalid_grant, one that does not
            # match with invalid_request (the web server flow's code_challenge parameter).
            verifier = form.get("code_verifier", "")
            if not verifier:
                raise _invalid_grant("invalid code verifier")
            if not hmac.compare_digest(s256(verifier), grant.code_challenge):
                raise OAuthError(400, "invalid_request", "invalid code verifier")
        if not self.tokens.user_active(grant.user_id):
            raise _invalid_grant("inactive user")
        refresh = None
        if {"refresh_token", "offline_access"} & set(grant.scopes):
            refresh = self.tokens.issue_refresh(Grant(grant.user_id, app.client_id, grant.scopes))
        access_grant = Grant(
            grant.user_id,
            app.client_id,
            grant.scopes,
            refresh=digest(refresh) if refresh else None,
        )
        return self._granted(app, access_grant, base_url, refresh_token=refresh)

    def _refresh_token(self, form: dict[str, str], base_url: str) -> Response:
        app = self._client(form, secret_needed=self.app(form.get("client_id")).require_secret)
        grant = self.tokens.refresh(form.get("refresh_token", ""))
        if grant is None or grant.client_id != app.client_id:
            raise _invalid_grant("expired access/refresh token")
        if not self.tokens.user_active(grant.user_id):
            raise _invalid_grant("inactive user")
        return self._granted(app, grant, base_url)

    # ---- revoke, userinfo, identity ---------------------------------------------------
    def revoke(self, request: Request, base_url: str) -> Response:
        form = {**request.params, **(_form(request.body) if request.method == "POST" else {})}
        token = form.get("token", "")
        if not token or not self.tokens.revoke(token):
            raise OAuthError(400, "invalid_token", "invalid token")
        return Response(200, b"", content_type="text/plain")


def s256(verifier: str) -> str:
    """PKCE's S256 challenge of a verifier (RFC 7636 §4.2): base64url(SHA-256), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _without_refresh(scopes: tuple[str, ...]) -> tuple[str, ...]:
    """Flows that issue no refresh token do not grant the scope for one."""
    return tuple(s for s in scopes if s not in ("refresh_token", "offline_access"))


def _form(body: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise OAuthError(400, "invalid_request", "the body is not form-encoded UTF-8") from None


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return client_id, secret
