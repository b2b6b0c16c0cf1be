"""The login page: where a person gives the server's token once (``security``).

Pipeline position: beside ``security``. The token is posted in a form (never put in a URL,
where logs and history would keep it); a right one sets the session cookie and goes back
to the page asked for, on this server only (``safe_next``); a wrong one is answered 401.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from journey.serve.render import page
from journey.serve.security import SESSION_COOKIE, Security, csrf_form, safe_next

__all__ = ["routes"]


def routes(security: Security) -> list[Route]:
    def login_page(request: Request) -> Response:
        target = safe_next(request.query_params.get("next"))
        data = {"next": target, "required": security.token_required, "refused": False}
        return page(request, "login.html", data)

    async def login_action(request: Request) -> Response:
        form = await csrf_form(request)
        target = safe_next(str(form.get("next") or "/"))
        given = form.get("token")
        if not security.token_required:
            return RedirectResponse(target, status_code=303)
        if not isinstance(given, str) or not security.token_matches(given.strip()):
            data = {"next": target, "required": True, "refused": True}
            return page(request, "login.html", data, status=401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE, security.session_value, httponly=True, samesite="strict"
        )
        return response

    return [
        Route("/login", login_page, name="login"),
        Route("/login", login_action, methods=["POST"]),
    ]
