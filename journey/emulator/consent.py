"""``/services/oauth2/authorize``: the web-server flow's first leg, and the consent page a
person answers with Allow or Deny.

Pipeline position: called by ``oauth``. The person "logged in" at the emulated org is its
connected user (the seed's ``"connected": true`` user): the org has no login form. A
request whose ``client_id`` is unknown or whose ``redirect_uri`` is not one of the app's
callback URLs gets an error page, never a redirect — a redirect to an unregistered URL is
how authorization codes are stolen. Every other outcome goes back to the callback:
``?code=…&state=…`` on Allow, ``?error=access_denied&…`` on Deny. An app seeded with
``"auto_approve": true`` skips the page (a 302 straight to the callback), so tests need
no browser. The page's form carries a one-time token, so another site cannot post an
Allow on the user's behalf.
"""

from __future__ import annotations

import html
import secrets
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from journey.emulator.protocol import Request, Response
from journey.emulator.tokens import Grant

if TYPE_CHECKING:
    from journey.emulator.apps import ConnectedApp
    from journey.emulator.oauth import OAuthApi

__all__ = ["Consent"]

_MAX_PENDING = 64


class Consent:
    """The authorize endpoint of one org."""

    def __init__(self, api: OAuthApi) -> None:
        self.api = api
        self._pending: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def authorize(self, request: Request, base_url: str) -> Response:
        if request.method == "POST":
            return self._answer(request)
        params = dict(request.params)
        app = self.api.apps().get(params.get("client_id", ""))
        if app is None:
            return _error_page("invalid_client_id", "client identifier invalid")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in app.callback_urls:
            return _error_page("redirect_uri_mismatch", "redirect_uri must match configuration")
        state = {"state": params["state"]} if "state" in params else {}
        if params.get("response_type") != "code":
            return _redirect(
                redirect_uri,
                {
                    "error": "unsupported_response_type",
                    "error_description": "response type not supported",
                    **state,
                },
            )
        method = params.get("code_challenge_method", "S256")
        if "code_challenge" in params and method != "S256":
            return _redirect(
                redirect_uri,
                {
                    "error": "invalid_request",
                    "error_description": "invalid code_challenge_method",
                    **state,
                },
            )
        if app.auto_approve:
            return self._allow(app, params)
        nonce = secrets.token_urlsafe(24)
        with self._lock:
            self._pending[nonce] = params
            while len(self._pending) > _MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
        user = self.api.user(self.api.org.connected_user_id)
        return _consent_page(app, str(user.get("Username")), nonce)

    def _answer(self, request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        with self._lock:
            params = self._pending.pop(form.get("consent", ""), None)
        if params is None:
            return _error_page("invalid_request", "the consent form expired; start again")
        app = self.api.apps().get(params.get("client_id", ""))
        if app is None:
            return _error_page("invalid_client_id", "client identifier invalid")
        if form.get("decision") != "allow":
            state = {"state": params["state"]} if "state" in params else {}
            return _redirect(
                params["redirect_uri"],
                {
                    "error": "access_denied",
                    "error_description": "end-user denied authorization",
                    **state,
                },
            )
        return self._allow(app, params)

    def _allow(self, app: ConnectedApp, params: dict[str, str]) -> Response:
        user_id = self.api.org.connected_user_id
        requested = params.get("scope", "").split()
        scopes = tuple(s for s in app.scopes if not requested or s in requested)
        with self.api.org.store.transaction():
            self.api.remember_consent(app, user_id)
            code = self.api.tokens.issue_code(
                Grant(
                    user_id,
                    app.client_id,
                    scopes,
                    redirect_uri=params["redirect_uri"],
                    code_challenge=params.get("code_challenge"),
                )
            )
        answer = {"code": code}
        if "state" in params:
            answer["state"] = params["state"]
        return _redirect(params["redirect_uri"], answer)


def _redirect(url: str, params: dict[str, str]) -> Response:
    separator = "&" if "?" in url else "?"
    location = url + separator + urlencode(params)
    return Response(302, b"", content_type="text/plain", headers={"Location": location})


def _page(title: str, body: str, status: int = 200) -> Response:
    text = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title></head><body>{body}</body></html>"
    )
    return Response(
        status,
        text.encode("utf-8"),
        content_type="text/html;charset=UTF-8",
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


def _error_page(error: str, description: str) -> Response:
    return _page(
        "Error",
        f"<h1>Remote Access Error</h1><p>error={html.escape(error)}</p>"
        f"<p>{html.escape(description)}</p>",
        status=400,
    )


def _consent_page(app: ConnectedApp, username: str, nonce: str) -> Response:
    fields: dict[str, Any] = {"consent": nonce}
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(str(v))}">'
        for k, v in fields.items()
    )
    return _page(
        "Allow Access?",
        f"<h1>Allow Access?</h1><p>{html.escape(app.name)} is asking to access your data "
        f"as {html.escape(username)}.</p>"
        '<form method="post" action="/services/oauth2/authorize">'
        f"{hidden}"
        '<button type="submit" name="decision" value="deny">Deny</button> '
        '<button type="submit" name="decision" value="allow">Allow</button>'
        "</form>",
    )
