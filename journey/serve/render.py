"""Pages for people and their JSON twins, from one view.

Pipeline position: each page module builds a plain ``dict`` of data; **render** turns it
into HTML (a Jinja2 template, autoescaped) or, when the request asks for JSON
(``?format=json`` or ``Accept: application/json``), into that same dict as JSON, so what
a person sees and what a program reads cannot drift apart. Errors have one JSON shape,
the CLI's: ``{"error": {"code", "message", "where", "hint"}}``.
"""

from __future__ import annotations

from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

__all__ = ["TEMPLATES", "error_response", "page", "problem_response", "wants_json"]

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def wants_json(request: Request) -> bool:
    if request.query_params.get("format") == "json":
        return True
    accept = request.headers.get("accept", "")
    return accept.startswith("application/json")


def page(
    request: Request, template: str, data: dict[str, Any], *, status: int = 200, **extra: Any
) -> Response:
    """``data`` as the page ``template`` draws (``extra``: what only the HTML needs, such as
    a drawing) or as JSON."""
    if wants_json(request):
        return JSONResponse(data, status_code=status)
    html = (
        _environment()
        .get_template(template)
        .render(
            data=data,
            csrf=request.state.csrf,
            nonce=request.state.nonce,
            path=request.url.path,
            **extra,
        )
    )
    return HTMLResponse(html, status_code=status)


def error_response(status: int, code: str, message: str, hint: str | None) -> Response:
    return JSONResponse(
        {"error": {"code": code, "message": message, "where": None, "hint": hint}},
        status_code=status,
    )


def problem_response(
    request: Request, status: int, code: str, message: str, hint: str | None = None
) -> Response:
    """An error for whoever asked: a small page for a browser, the error shape otherwise."""
    if wants_json(request) or "text/html" not in request.headers.get("accept", ""):
        return error_response(status, code, message, hint)
    title = HTTPStatus(status).phrase
    data = {"status": status, "title": title, "message": message, "hint": hint}
    return page(request, "error.html", data, status=status)
