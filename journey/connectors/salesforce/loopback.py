"""The web flow's callback: a one-request HTTP listener on 127.0.0.1 that receives the
authorization code the browser brings back from Salesforce.

Pipeline position: ``journey salesforce connect`` (``auth = "web"``) → factory → **loopback**
→ ``oauth.WebLogin.exchange``. The connected app's callback URL is
``http://127.0.0.1:PORT/callback`` (``[salesforce] callback_port``); Salesforce redirects the
browser there with ``code`` and ``state`` (or ``error`` and ``error_description``), as
its web server flow documents
(https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm).
The listener binds the loopback address only, answers nothing but ``/callback``, refuses a
``state`` other than the one this attempt sent (a forged or stale redirect), and stops after
the first real answer or ``timeout`` seconds. The code is never printed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from journey.connectors.salesforce.errors import ConnectionSettingsError

__all__ = ["CALLBACK_PATH", "Callback", "callback_url"]

CALLBACK_PATH = "/callback"
_PAGE = (
    "<!doctype html><meta charset=utf-8><title>journey</title>"
    "<p>{text}</p><p>You can close this tab.</p>"
)


def callback_url(port: int) -> str:
    return f"http://127.0.0.1:{port}{CALLBACK_PATH}"


@dataclass
class _Outcome:
    code: str | None = None
    error: str | None = None


class _Server(HTTPServer):
    expected_state: str
    outcome: _Outcome
    done: threading.Event


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        if split.path != CALLBACK_PATH:
            self._answer(404, "Not the journey callback.")
            return
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        if query.get("state") != self.server.expected_state:
            # Not this attempt's redirect: refused, and the listener keeps waiting.
            self._answer(400, "This sign-in was not started by this journey command.")
            return
        if "error" in query:
            described = query.get("error_description")
            self.server.outcome.error = query["error"] + (f": {described}" if described else "")
            self._answer(400, "Salesforce did not authorise journey; see the terminal.")
        elif query.get("code"):
            self.server.outcome.code = query["code"]
            self._answer(200, "journey is connected to Salesforce.")
        else:
            self._answer(400, "The callback carried no code.")
            return
        self.server.done.set()

    def _answer(self, status: int, text: str) -> None:
        body = _PAGE.format(text=text).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # the query holds the code
        return


class Callback:
    """Listen on ``127.0.0.1:port`` (opened at construction, so the browser can never be
    faster than the listener); ``wait`` returns the code."""

    def __init__(self, port: int, state: str) -> None:
        try:
            self._server = _Server(("127.0.0.1", port), _Handler)
        except OSError as error:
            raise ConnectionSettingsError(
                f"[salesforce] callback_port: cannot listen on 127.0.0.1:{port} "
                f"({error.strerror}); free the port or choose another (and change the "
                "connected app's callback URL to match)"
            ) from None
        self._server.expected_state = state
        self._server.outcome = _Outcome()
        self._server.done = threading.Event()
        self._server.timeout = 0.5  # handle_request returns this often to look at done

    @property
    def url(self) -> str:
        return callback_url(self._server.server_address[1])

    def wait(self, timeout: float) -> str:
        """The authorization code; ``ConnectionSettingsError`` on a refusal or no answer."""
        serving = threading.Thread(target=self._serve, daemon=True)
        serving.start()
        try:
            finished = self._server.done.wait(timeout)
        finally:
            self._server.done.set()
            serving.join(timeout=5)
            self._server.server_close()
        outcome = self._server.outcome
        if outcome.error:
            raise ConnectionSettingsError(f"Salesforce did not authorise journey ({outcome.error})")
        if not finished or not outcome.code:
            raise ConnectionSettingsError(
                f"no answer from the browser within {int(timeout)} seconds: open the URL "
                "printed above, sign in and allow access"
            )
        return outcome.code

    def _serve(self) -> None:
        while not self._server.done.is_set():
            self._server.handle_request()

    def close(self) -> None:
        self._server.done.set()
        self._server.server_close()
