"""The ``journey serve`` application: every page's routes behind the security rules.

Pipeline position: ``state`` (the project) -> pages (``journeys``, ``contacts``,
``failures``, ``connection``, ``login``) -> **app** -> uvicorn (``journey.cli.serve``).
Errors a page raises (``HTTPException``: no such journey, a stale CSRF token) are answered
as a small HTML page for people and in the CLI's error shape for programs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from journey.serve import connection, contacts, failures, journeys, login
from journey.serve.intake import FormIntake
from journey.serve.render import problem_response
from journey.serve.security import Security, SecurityMiddleware
from journey.serve.state import ServeState

__all__ = ["ASSETS", "create_app"]

ASSETS = Path(__file__).parent / "assets"

_CODES = {400: "input", 401: "unauthorized", 403: "forbidden", 404: "not_found"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _CODES.get(exc.status_code, "internal" if exc.status_code >= 500 else "usage")
    return problem_response(request, exc.status_code, code, str(exc.detail))


def create_app(state: ServeState, security: Security) -> Starlette:
    """The application over ``state``'s project, guarded by ``security``."""
    routes: list[BaseRoute] = [
        *journeys.routes(state),
        *contacts.routes(state),
        *failures.routes(state),
        *connection.routes(state),
        *login.routes(security),
        Mount("/assets", StaticFiles(directory=ASSETS), name="assets"),
    ]
    # The Web-to-Lead intake: public under /forms/ (``security.PUBLIC_PREFIXES``), its own
    # validation, rate limit and CORS; its writer thread writes what is queued at shutdown.
    forms = FormIntake(state.project, state.config.serve)
    routes += forms.routes()

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            forms.close()

    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityMiddleware, security=security)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
