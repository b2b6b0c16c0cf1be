"""The HTTPS front door of the emulated org: TLS with a throw-away CA, the session,
the API allocation and injected faults, then routing to REST, SOAP or the admin path.
Request and response bodies pass through ``encoding`` (gzip/deflate both ways).

Pipeline position: the outermost layer; simple-salesforce talks to it exactly as to a
real org (it only builds https URLs, so the emulator serves TLS: a ``trustme`` CA and a
certificate for 127.0.0.1/localhost, kept in the state folder, never in git). It binds to
127.0.0.1 only. Requests are served one at a time under the store's lock; the sleep of
an injected latency happens outside it, so slow responses still overlap. Each connection
has its own thread, and a connection that sends nothing for ``idle_timeout`` seconds (the
TLS handshake included) is closed, so an idle or stalled client cannot hold a thread
forever.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import trustme

from journey.emulator import edition, versions
from journey.emulator.encoding import decode_body, encode_body
from journey.emulator.errors import ApiError
from journey.emulator.faults import Faults, reads_only
from journey.emulator.limits import ApiCounter
from journey.emulator.oauth import OAUTH_PATH, OAuthApi
from journey.emulator.org import Org
from journey.emulator.protocol import Request, Response, json_response
from journey.emulator.rest import DATA_PATH, RestApi
from journey.emulator.soap import SoapFaultError, handle_soap
from journey.emulator.soap_login import LoginFaultError, SoapLogin
from journey.emulator.tokens import Tokens

__all__ = ["ADMIN_PATH", "DEFAULT_IDLE_TIMEOUT", "OrgApp", "OrgServer", "ensure_certificates"]

ADMIN_PATH = "/__emulator__/faults"
#: Seconds a connection may stay silent before the server closes it.
DEFAULT_IDLE_TIMEOUT = 60.0
_log = logging.getLogger(__name__)
_WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
_SOAP_PATH = "/services/Soap/u/"


def ensure_certificates(folder: Path) -> tuple[Path, Path]:
    """The CA file clients trust and the server's key+chain file, made once per folder."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_file, server_file = folder / "ca.pem", folder / "server.pem"
    if not (ca_file.exists() and server_file.exists()):
        ca = trustme.CA(organization_name="journey emulated org")
        certificate = ca.issue_cert("127.0.0.1", "localhost")
        ca.cert_pem.write_to_path(str(ca_file))
        # The private key is created owner-only, never readable by others for a moment.
        os.close(os.open(server_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        server_file.chmod(0o600)
        certificate.private_key_and_cert_chain_pem.write_to_path(str(server_file))
    return ca_file, server_file


class OrgApp:
    """Turns one ``Request`` into one ``Response``: the checks every call goes through."""

    def __init__(self, org: Org, rest: RestApi, counter: ApiCounter, faults: Faults) -> None:
        self.org = org
        self.rest = rest
        self.counter = counter
        self.faults = faults
        self.admin_token = ""
        #: Bulk API 1.0 (``bulk1``): its own session header and error shape.
        self.async_api: Callable[[Request], Response] | None = None
        self.tokens = Tokens(org)
        self.oauth = OAuthApi(org, self.tokens)
        self.soap_login = SoapLogin(org, self.tokens)

    def session_valid(self, session_id: str) -> bool:
        """The emulator's own session ID, or a live OAuth access token."""
        if session_id in (self.org.store.meta("sessions") or []):
            return True
        return bool(session_id) and self.tokens.access(session_id) is not None

    def dispatch(self, request: Request) -> Response:
        if self.faults.latency_seconds and not request.path.startswith(ADMIN_PATH):
            time.sleep(self.faults.latency_seconds)
        with self.org.store.lock:
            try:
                if request.path.startswith(ADMIN_PATH):
                    return self._admin(request)
                if request.path.startswith((OAUTH_PATH, "/id/")):
                    # Logging in: no session, no API call counted (OAuthApi's docstring).
                    return self.oauth.handle(request, _base_url(request))
                if request.path.startswith(_SOAP_PATH):
                    return self._soap(request)
                if request.path.startswith("/services/async/") and self.async_api is not None:
                    response = self.async_api(request)
                    response.headers["Sforce-Limit-Info"] = self.counter.header()
                    return response
                response = self._rest(request)
            except ApiError as error:
                response = json_response(error.status, error.body())
            except Exception:  # an emulator bug must answer 500, not drop the connection
                _log.exception("emulated org failed on %s %s", request.method, request.path)
                response = json_response(
                    500,
                    [
                        {
                            "errorCode": "UNKNOWN_EXCEPTION",
                            "message": "An unexpected error occurred.",
                            "fields": [],
                        }
                    ],
                )
            response.headers["Sforce-Limit-Info"] = self.counter.header()
            return response

    def _rest(self, request: Request) -> Response:
        if request.path.rstrip("/") == "/services/data" and request.method == "GET":
            return json_response(200, versions.listing())  # no session, not counted
        request.path = versions.resolve_latest(request.path)
        match = DATA_PATH.match(request.path)
        if match is not None:
            versions.check_rest_version(match.group(1))
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not self.session_valid(token.strip()):
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        disabled = edition.api_disabled(self.org)
        if disabled is not None:
            raise disabled
        request.body = decode_body(request.body, request.headers.get("content-encoding"))
        self.counter.charge()
        if self.faults.unavailable:
            raise ApiError(
                503, "SERVER_UNAVAILABLE", "Service temporarily unavailable; please retry"
            )
        if request.method in _WRITE_METHODS and not reads_only(
            request.method, request.path, request.body
        ):
            per_record = "/composite/sobjects" in request.path or "/jobs/" in request.path
            unavailable = self.faults.write_error == "SERVER_UNAVAILABLE"
            if (unavailable or not per_record) and self.faults.next_write_fails():
                if unavailable:
                    raise ApiError(
                        503, "SERVER_UNAVAILABLE", "Service temporarily unavailable; please retry"
                    )
                raise ApiError(
                    400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
                )
        return self.rest.handle(request)

    def lock_fault(self) -> bool:
        """Per-record draw used by Collections and Bulk ingest."""
        return self.faults.write_error == "UNABLE_TO_LOCK_ROW" and self.faults.next_write_fails()

    def _soap(self, request: Request) -> Response:
        try:
            version = request.path[len(_SOAP_PATH) :].split("/")[0]
            unsupported = versions.soap_version_error(version)
            if unsupported is not None:
                raise SoapFaultError("sf:UNSUPPORTED_API_VERSION", unsupported)
            request.body = decode_body(request.body, request.headers.get("content-encoding"))
            body = handle_soap(
                self.org,
                request.body,
                self.session_valid,
                self._soap_charge,
                self.counter.header,
                lambda call: self.soap_login.answer(call, version, _base_url(request)),
            )
            return Response(200, body.encode("utf-8"), content_type="text/xml;charset=UTF-8")
        except LoginFaultError as login_fault:
            return Response(
                500, login_fault.envelope().encode("utf-8"), content_type="text/xml;charset=UTF-8"
            )
        except ApiError as error:
            fault = SoapFaultError(f"sf:{error.code}", error.message)
        except SoapFaultError as error:
            fault = error
        return Response(
            500, fault.envelope().encode("utf-8"), content_type="text/xml;charset=UTF-8"
        )

    def _soap_charge(self) -> None:
        """Count a SOAP call whose session is valid, unless the edition has no API."""
        disabled = edition.api_disabled(self.org)
        if disabled is not None:
            raise disabled
        self.counter.charge()

    def _admin(self, request: Request) -> Response:
        if not self.admin_token or request.headers.get("x-emulator-admin") != self.admin_token:
            raise ApiError(401, "INVALID_SESSION_ID", "the admin path needs X-Emulator-Admin")
        request.body = decode_body(request.body, request.headers.get("content-encoding"))
        changed: dict[str, Any] = {}
        if request.method == "POST":
            command = request.json() or {}
            if not isinstance(command, dict):
                raise ApiError(400, "INVALID_INPUT", "a JSON object of commands")
            changed = self.apply_admin(command)
        elif request.method != "GET":
            raise ApiError(405, "METHOD_NOT_ALLOWED", "GET or POST")
        return json_response(200, {**self.admin_state(), **changed})

    def admin_state(self) -> dict[str, Any]:
        return {
            **self.faults.state(),
            "api_usage": {"used": self.counter.used, "limit": self.counter.limit},
        }

    def apply_admin(self, command: dict[str, Any]) -> dict[str, Any]:
        """Apply fault commands (the admin path's body) and return what changed."""
        out: dict[str, Any] = {}
        try:
            if command.get("clear"):
                self.faults.clear()
            if command.get("expire_session"):
                self.org.store.set_meta("sessions", [])
                self.tokens.expire_access()  # refresh tokens survive a session's end
            if command.get("revoke_tokens"):
                self.tokens.revoke_all()
            if command.get("deactivate_user"):
                self._deactivate(str(command["deactivate_user"]))
            if command.get("renew_session"):
                out["session_id"] = self.new_session()
            if command.get("exhaust_api"):
                self.counter.exhaust()
            if command.get("reset_api"):
                self.counter.reset()
            if "api_limit" in command:
                self.counter.limit = int(command["api_limit"])
            if "outage" in command:
                self.faults.outage(bool(command["outage"]))
            if "latency_seconds" in command:
                self.faults.add_latency(float(command["latency_seconds"]))
            if "fail_writes" in command:
                spec = command["fail_writes"] or {}
                self.faults.fail_writes(
                    float(spec.get("share", 0)),
                    str(spec.get("error", "UNABLE_TO_LOCK_ROW")),
                    int(spec.get("seed", 0)),
                )
        except (TypeError, ValueError) as error:
            raise ApiError(400, "INVALID_INPUT", str(error)) from None
        return out

    def _deactivate(self, who: str) -> None:
        """A user made inactive (by email or username): its tokens stop working at once."""
        lowered = who.lower()
        for user in self.org.store.scan("User"):
            if lowered in (
                str(user.get("Email", "")).lower(),
                str(user.get("Username", "")).lower(),
            ):
                self.org.system_update(str(user["Id"]), {"IsActive": False})
                return
        raise ValueError(f"deactivate_user: no user {who!r}")

    def new_session(self) -> str:
        """Re-authorise: a new session, and the one it replaces revoked (Salesforce
        invalidates a revoked access token at once: "If an access token is included,
        Salesforce invalidates it and revokes the token",
        https://developer.salesforce.com/docs/atlas.en-us.mobile_sdk.meta/mobile_sdk/oauth_revoking_tokens.htm),
        so a leaked or superseded session ID stops working the moment it is renewed."""
        org_id = edition.ORGANIZATION_ID[:15]
        token = f"{org_id}!{secrets.token_urlsafe(48)}"
        self.org.store.set_meta("sessions", [token])
        return token


def _without_query(text: str) -> str:
    """``GET /path?secret HTTP/1.1`` as ``GET /path?… HTTP/1.1``."""
    return re.sub(r"\?\S*", "?…", text)


def _base_url(request: Request) -> str:
    """The URL the client reached the org by: what it is told to use as ``instance_url``."""
    return f"https://{request.headers.get('host') or '127.0.0.1'}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffered writes: headers and body leave in one TLS record (handle_one_request
    # flushes), instead of two small writes that meet Nagle and delayed ACKs (~40 ms).
    wbufsize = 64 * 1024
    server: OrgServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def setup(self) -> None:
        super().setup()
        # Every read (the TLS handshake too) waits at most this long: a silent client
        # ends in handle_one_request's TimeoutError, which closes the connection.
        self.connection.settimeout(self.server.idle_timeout)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line without its query: a query may carry a token or a code
        # (``revoke?token=``, an assertion), and tokens are never logged.
        args = tuple(_without_query(a) if isinstance(a, str) else a for a in args)
        _log.debug("%s " + format, self.address_string(), *args)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=unquote(split.path),
            params=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        response = self.server.app.dispatch(request)
        body, coding = encode_body(response.body, self.headers.get("Accept-Encoding"))
        self.send_response(response.status)
        if response.body or response.status not in (204, 304):
            self.send_header("Content-Type", response.content_type)
        if coding:
            self.send_header("Content-Encoding", coding)
            self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)


class OrgServer(ThreadingHTTPServer):
    """A threaded HTTPS server on 127.0.0.1 serving one ``OrgApp``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        app: OrgApp,
        port: int,
        server_file: Path,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.app = app
        self.idle_timeout = idle_timeout
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(server_file))
        # The handshake runs in the connection's own thread, not the accept loop.
        self.socket = context.wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="emulated-org",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-handshake is not an error worth a traceback.
        _log.debug("connection from %s ended abruptly", client_address, exc_info=True)
