"""The connection page: which Salesforce org journeys act on, API use against the cap, a
pause in force, and a Renew action.

Pipeline position: ``connectors.factory.connection_status`` (``journey salesforce status``)
and ``connectors.authorise.renew_org`` (``journey salesforce renew``) -> **connection** ->
HTML or JSON. Nothing here calls Salesforce except Renew, which does what the command
does: authorise again and lift the pause, so paused runs go on at once. For ``auth =
"web"`` the renewal waits for the person to authorise in Salesforce, so it runs in the
background and the page offers the authorize URL (which carries only the consumer key,
the PKCE challenge and a state); the page shows how the last renewal ended.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from journey.connectors.authorise import renew_org
from journey.connectors.factory import connection_status
from journey.connectors.salesforce.errors import ConnectionSettingsError, SalesforceProblem
from journey.engine.locks import InUseError
from journey.serve.render import page, wants_json
from journey.serve.security import csrf_form
from journey.serve.state import ServeState

__all__ = ["Renewal", "routes"]

#: Seconds a web-flow renewal waits for the authorize URL before the page is shown.
_URL_WAIT = 10.0


@dataclass
class Renewal:
    """The last renewal asked for from the page: running, its authorize URL, its outcome."""

    running: bool = False
    url: str | None = None
    outcome: dict[str, Any] | None = None
    error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "authorize_url": self.url,
            "outcome": self.outcome,
            "error": self.error,
        }


def _renew(state: ServeState, renewal: Renewal, got_url: threading.Event) -> None:
    def announce(url: str) -> None:
        renewal.url = url
        got_url.set()

    try:
        renewal.outcome = renew_org(state.config, announce)
    except (ConnectionSettingsError, InUseError, SalesforceProblem, OSError) as error:
        message = error.message if isinstance(error, InUseError) else str(error)
        renewal.error = f"the renewal failed: {message}"
    finally:
        renewal.running = False
        renewal.url = None
        got_url.set()


def _start(state: ServeState, renewal: Renewal) -> None:
    """Renew; for the web flow, return once the authorize URL is known (module docstring)."""
    with renewal._lock:
        if renewal.running:
            return
        renewal.running, renewal.outcome, renewal.error, renewal.url = True, None, None, None
    got_url = threading.Event()
    if state.config.salesforce.kind != "web":
        _renew(state, renewal, got_url)
        return
    threading.Thread(target=_renew, args=(state, renewal, got_url), daemon=True).start()
    got_url.wait(_URL_WAIT)


def _connection(state: ServeState, renewal: Renewal) -> dict[str, Any]:
    status = connection_status(state.config)
    api = status.get("api") or {}
    cap, used = api.get("cap"), api.get("calls_by_journeys")
    share = round(100 * used / cap) if cap and used is not None else None
    return {**status, "cap_used_percent": share, "renewal": renewal.as_dict()}


def routes(state: ServeState) -> list[Route]:
    renewal = Renewal()

    def connection_page(request: Request) -> Response:
        return page(request, "connection.html", _connection(state, renewal))

    async def renew_action(request: Request) -> Response:
        await csrf_form(request)
        await run_in_threadpool(_start, state, renewal)
        if wants_json(request):
            return JSONResponse(renewal.as_dict())
        return RedirectResponse("/connection", status_code=303)

    return [
        Route("/connection", connection_page, name="connection"),
        Route("/connection/renew", renew_action, methods=["POST"], name="renew"),
    ]
