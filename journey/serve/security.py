"""Who may use the server, and what every response tells the browser.

Pipeline position: around every route of ``app``. The rules (docs/serve.md, "Security"):

* **Token.** Bound to a loopback address the server is for the person at this machine, and
  asks for nothing. Bound elsewhere it refuses to start without a token: ``[serve]
  token_env`` names the environment variable holding it (the token itself never sits in
  ``journey.toml``, a URL or a log line). A token that is set is asked for on loopback too.
  Programs send ``Authorization: Bearer TOKEN``; people type it once at ``/login``, which
  sets an HttpOnly, SameSite=Strict cookie holding a value derived from the token (not the
  token). Compared in constant time.
* **Host.** Without a token, a request must name this machine (``Host: 127.0.0.1`` or
  ``localhost``), so a site whose name is made to resolve to 127.0.0.1 (DNS rebinding)
  cannot read the pages.
* **Public paths.** ``/forms/`` (the Web-to-Lead intake, which validates and rate-limits
  on its own) and ``/assets/`` (the stylesheet and script) need no token.
* **CSRF.** Every state-changing request of the UI (POST, PUT, PATCH, DELETE) carries a
  CSRF token, a form field ``csrf`` or an ``X-CSRF-Token`` header: an HMAC, under a secret
  made at start-up, of a random value in the browser's ``journey_csrf`` cookie, so another
  site can neither read nor forge it. A request with a foreign ``Origin`` is refused as
  well. A request authenticated by the bearer header carries no ambient credential, so
  it needs no CSRF token.
* **Headers.** A Content-Security-Policy allowing only this server's own script, styles
  and connections (inline script only with the per-response nonce; the pages use none),
  no framing, no forms posting elsewhere; ``nosniff``; the referrer for this server only.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from journey.engine.config import ProjectConfig
from journey.serve.render import problem_response

__all__ = [
    "CSRF_COOKIE",
    "LOOPBACK_NAMES",
    "MIN_TOKEN_LENGTH",
    "PUBLIC_PREFIXES",
    "SESSION_COOKIE",
    "Security",
    "SecurityMiddleware",
    "ServeSecurityError",
    "csrf_form",
    "is_loopback",
    "safe_next",
    "security_for",
]

#: Paths that need no token: the intake (public by design) and the static assets.
PUBLIC_PREFIXES = ("/forms/", "/assets/")
_INTAKE = PUBLIC_PREFIXES[0]
SESSION_COOKIE = "journey_session"
CSRF_COOKIE = "journey_csrf"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: A token shorter than this is refused: it would be guessed.
MIN_TOKEN_LENGTH = 16
#: The names a request may give this machine by when no token is asked for.
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
_SESSION_LABEL = b"journey serve session v1"


class ServeSecurityError(Exception):
    """The server cannot start safely as asked (an address beyond loopback without a
    token); the message says what to set."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


class Security:
    """The token (``None``: none asked for) and the CSRF secret of one running server."""

    def __init__(self, token: str | None) -> None:
        #: Without a token, only requests naming this machine are answered: a page on
        #: another site whose name is made to resolve to 127.0.0.1 (DNS rebinding) names
        #: its own host, and is refused.
        self.allowed_hosts = None if token else LOOPBACK_NAMES
        self._token = token
        self._secret = secrets.token_bytes(32)
        self._session = (
            hmac.new(token.encode(), _SESSION_LABEL, hashlib.sha256).hexdigest() if token else None
        )

    def __repr__(self) -> str:  # the token stays out of every repr and traceback
        return f"Security(token={'set' if self._token else 'none'})"

    @property
    def token_required(self) -> bool:
        return self._token is not None

    def token_matches(self, given: str) -> bool:
        return self._token is not None and hmac.compare_digest(given.encode(), self._token.encode())

    @property
    def session_value(self) -> str:
        """The cookie a login sets: derived from the token, so the cookie is not the token."""
        assert self._session is not None
        return self._session

    def authenticated(self, request: Request) -> tuple[bool, bool]:
        """(allowed, by the bearer header)."""
        if self._session is None:
            return True, False
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.casefold() == "bearer" and value and self.token_matches(value.strip()):
            return True, True
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie, self._session), False

    def csrf_token(self, cookie_value: str) -> str:
        return hmac.new(self._secret, cookie_value.encode(), hashlib.sha256).hexdigest()


def _host_name(header: str) -> str:
    """``Host: name:port`` (or ``[::1]:port``) -> the name, lower case."""
    if header.startswith("["):
        return header[: header.find("]") + 1].casefold()
    return header.rsplit(":", 1)[0].casefold() if header.count(":") == 1 else header.casefold()


def security_for(config: ProjectConfig, host: str) -> Security:
    """The server's ``Security`` for binding to ``host`` (module docstring); refuses an
    address beyond loopback without a token."""
    name = config.serve.token_env
    token = (os.environ.get(name) or "").strip() if name else ""
    if not token and not is_loopback(host):
        where = (
            f"the environment variable {name} is not set"
            if name
            else "journey.toml has no [serve] token_env"
        )
        raise ServeSecurityError(
            f"bound to {host}, every page needs a token, and {where}: set [serve] token_env "
            "to the name of an environment variable holding a long random token, or serve "
            "on 127.0.0.1"
        )
    if token and len(token) < MIN_TOKEN_LENGTH:
        raise ServeSecurityError(
            f"the token in {name} is {len(token)} characters long: use at least "
            f"{MIN_TOKEN_LENGTH} random ones (docs/serve.md shows a way to make one)"
        )
    return Security(token or None)


def safe_next(target: str | None) -> str:
    """A path on this server to go back to after login, never another site's."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # not a browser's cross-site request: browsers send Origin on POST
        return True
    parts = urlsplit(origin)
    # The host and port decide; the scheme may differ behind a proxy that ends TLS.
    return parts.netloc == request.headers.get("host", "")


def _public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES)


class SecurityMiddleware(BaseHTTPMiddleware):
    """The token and CSRF rules, and the response headers (module docstring)."""

    def __init__(self, app: ASGIApp, security: Security) -> None:
        super().__init__(app)
        self.security = security

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The intake's posts (public, and the busiest path) pass the same rules without
        # BaseHTTPMiddleware's task and body stream per request, which cost more CPU than
        # the post itself: the headers are added to the intake's answer as it starts.
        if scope["type"] != "http" or not scope["path"].startswith(_INTAKE):
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        nonce, cookie, fresh, refused = self._admit(request)
        if refused is not None:
            await refused(scope, receive, send)
            return
        added = [
            header
            for header in _headers(Response(), nonce, cookie if fresh else None).raw_headers
            if header[0] not in (b"content-length", b"content-type")
        ]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *added]}
            await send(message)

        await self.app(scope, receive, sending)

    def _admit(self, request: Request) -> tuple[str, str, bool, Response | None]:
        """The response's nonce, the CSRF cookie (``fresh``: made now, to be set), and the
        answer to a request naming another host than this machine (else ``None``)."""
        nonce = secrets.token_urlsafe(16)
        request.state.nonce = nonce
        cookie = request.cookies.get(CSRF_COOKIE, "")
        fresh = len(cookie) != 43  # token_urlsafe(32)'s length: anything else is not ours
        if fresh:
            cookie = secrets.token_urlsafe(32)
        request.state.csrf = self.security.csrf_token(cookie)
        request.state.by_bearer = False
        hosts = self.security.allowed_hosts
        if hosts is not None and _host_name(request.headers.get("host", "")) not in hosts:
            response = problem_response(
                request,
                400,
                "forbidden",
                "without a token this server answers only to 127.0.0.1 and localhost",
                "open it as http://127.0.0.1:PORT/, or set [serve] token_env (docs/serve.md)",
            )
            return nonce, cookie, fresh, _headers(response, nonce, None)
        return nonce, cookie, fresh, None

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        nonce, cookie, fresh, refused = self._admit(request)
        if refused is not None:
            return refused
        path = request.url.path
        if not _public(path):
            allowed, by_bearer = self.security.authenticated(request)
            request.state.by_bearer = by_bearer
            if not allowed and path != "/login":
                response = _unauthorised(request)
                return _headers(response, nonce, cookie if fresh else None)
            if request.method in _UNSAFE and not _same_origin(request):
                response = problem_response(
                    request, 403, "forbidden", "this request came from another site"
                )
                return _headers(response, nonce, cookie if fresh else None)
        response = await call_next(request)
        return _headers(response, nonce, cookie if fresh else None)


def _unauthorised(request: Request) -> Response:
    accepts_html = "text/html" in request.headers.get("accept", "")
    if request.method == "GET" and accepts_html:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return problem_response(
        request,
        401,
        "unauthorized",
        "this server asks for its token",
        "send `Authorization: Bearer TOKEN` (the value of the variable [serve] token_env "
        "names), or log in at /login",
    )


def _headers(response: Response, nonce: str, new_cookie: str | None) -> Response:
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Not "no-referrer": under it a browser's form post says ``Origin: null``.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if new_cookie is not None:
        response.set_cookie(CSRF_COOKIE, new_cookie, httponly=True, samesite="strict")
    return response


async def csrf_form(request: Request) -> FormData:
    """The posted form, once its CSRF token is checked (module docstring); 403 otherwise."""
    form = await request.form()
    if getattr(request.state, "by_bearer", False):
        return form
    given: Any = form.get("csrf") or request.headers.get("x-csrf-token") or ""
    if not isinstance(given, str) or not hmac.compare_digest(given, request.state.csrf):
        raise HTTPException(403, "the form's CSRF token is missing or stale: reload the page")
    return form
