"""``POST /forms/{form}``: a website's form (or a Salesforce Web-to-Lead form) becomes a contact
and a ``form submitted`` event.

Pipeline position: browser -> **intake** (HTTP: guards, parsing, the answer) ->
``serve.web_to_lead`` (field names) -> ``serve.form_writer`` (posts written together) ->
``serve.pg_rows`` on PostgreSQL, ``engine.intake.submit_forms`` elsewhere (each contact
created or merged by email, its ``form_submitted`` event) -> a worker's next pass runs
``trigger form submitted "{form}"``.
``routes`` gives the routes ``journey serve`` mounts; they are public (no token) because a
website's visitors post to them, so every post passes the guards first, in this order:

1. the address's rate limit (``serve.ratelimit``): 429 with ``Retry-After``;
2. the body's size (``[serve] max_body_bytes``, by ``Content-Length`` and as it streams): 413;
3. the body's type: ``application/x-www-form-urlencoded`` (an HTML form's default) or
   ``application/json`` (an object of names to text, numbers, true/false, lists): else 415,
   a body that does not parse 400;
4. the honeypot (``[serve] honeypot``): filled, the post is answered as a success and
   stored nowhere, so a bot learns nothing;
5. the values (``serve.web_to_lead``): no email, or a value that does not fit its field's
   type, is 422, naming the field as posted and what to send instead.

The answer to a post taken is a 303 to its ``retURL`` when ``serve.redirects`` allows the
host, else 202 with ``{"accepted": true, "form": ...}``. It never says whether the email
was known (so the form cannot be used to learn who is a contact), and it names the fields
set aside (``ignored``) and why a ``retURL`` was not followed (``redirect_refused``).
Errors have the CLI's one shape, ``{"error": {"code", "message", "where", "hint"}}``,
``where`` naming the field. A store that cannot take the post answers 503: the post was
not kept and may be sent again.

A form no journey listens to is still taken, as ``journey event form-submitted`` takes
it: the contact is captured, and a website's form keeps working while its journey is
renamed or between versions (docs/forms.md). CORS: a browser's script may post from, and
read the answers of, the origins of ``[serve] cors_origins`` only (the preflight of any
other is 403); a plain HTML form needs no CORS, so any site's form is taken.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from journey.engine.config import ConfigError, ServeConfig
from journey.engine.contacts import ContactContext
from journey.engine.field_values import FieldValueError
from journey.engine.project import Project
from journey.serve.form_writer import FormWriter
from journey.serve.ratelimit import RateLimiter
from journey.serve.redirects import redirect_target
from journey.serve.web_to_lead import FieldNames, FormFieldError, read_post

__all__ = ["FormIntake", "routes"]

#: Most fields a post may carry (Salesforce's generated forms carry a few dozen at most).
MAX_FIELDS = 200
#: Longest form name taken from the URL.
MAX_FORM_NAME = 200
_FORM_TYPE = "application/x-www-form-urlencoded"
_JSON_TYPE = "application/json"


def _now() -> datetime:
    return datetime.now(UTC)


class _RefusedError(Exception):
    def __init__(
        self, status: int, code: str, message: str, where: str | None = None, hint: str = ""
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.where, self.hint = (
            status,
            code,
            message,
            where,
            hint,
        )
        self.headers: dict[str, str] = {}


class FormIntake:
    """The intake of one project: its settings, field names, rate limiter and writer."""

    def __init__(
        self,
        project: Project,
        settings: ServeConfig | None = None,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.project = project
        self.settings = settings or project.config.serve
        self.clock = clock
        self.names = FieldNames(project.field_types, self.settings.web_to_lead)
        unknown = self.names.unknown_targets()
        if unknown:
            raise ConfigError(
                f"{project.config.root / 'journey.toml'}: [serve.web_to_lead] fills "
                f"{', '.join(repr(n) for n in unknown)}: not a field of this project "
                "(declare it in [fields])"
            )
        # The project's fields and sync settings are fixed while it is served: the context
        # is made once, and only its clock moves.
        self._context = project.context(clock())
        self.writer = FormWriter(project.store, self.context)
        self.limiter = RateLimiter(self.settings.rate_limit_per_minute)
        self._origins = frozenset(self.settings.cors_origins)

    def context(self) -> ContactContext:
        """The contacts' context (field types, inbound-only fields) at the clock's now."""
        return dataclasses.replace(self._context, now=self.clock())

    def routes(self) -> list[BaseRoute]:
        return [Route("/forms/{form}", self.endpoint, methods=["POST", "OPTIONS"])]

    def close(self) -> None:
        """Write the posts still queued and stop the writer (the app's shutdown)."""
        self.writer.close()

    async def endpoint(self, request: Request) -> Response:
        cors = self._cors(request)
        if request.method == "OPTIONS":
            return self._preflight(request, cors)
        try:
            response = await self._post(request)
        except _RefusedError as refused:
            response = JSONResponse(
                {
                    "error": {
                        "code": refused.code,
                        "message": refused.message,
                        "where": refused.where,
                        "hint": refused.hint or None,
                    }
                },
                status_code=refused.status,
                headers=refused.headers,
            )
        response.headers.update(cors)
        return response

    async def _post(self, request: Request) -> Response:
        form = request.path_params["form"]
        if not form.strip() or len(form) > MAX_FORM_NAME or not form.isprintable():
            raise _RefusedError(
                400, "input", "the form's name is empty, too long or not printable", "form"
            )
        wait = self.limiter.take(request.client.host if request.client else "")
        if wait > 0:
            refused = _RefusedError(
                429,
                "rate_limited",
                "too many posts from this address",
                hint=f"send it again in {math.ceil(wait)} s",
            )
            refused.headers["Retry-After"] = str(math.ceil(wait))
            raise refused
        pairs = _pairs(request, await self._body(request))
        try:
            post = read_post(pairs, self.names, self._context, self.settings.honeypot)
        except FormFieldError as exc:
            raise _RefusedError(422, "input", exc.message, exc.field, exc.hint) from None
        if not post.trapped:
            try:
                await self.writer.submit(form.strip(), post.email, post.fields)
            except FieldValueError as exc:
                raise _RefusedError(422, "input", str(exc)) from None
            except SQLAlchemyError:
                refused = _RefusedError(
                    503,
                    "store",
                    "the store cannot take the post just now; it was not kept",
                    hint="send it again in a few seconds",
                )
                refused.headers["Retry-After"] = "5"
                raise refused from None
        answer: dict[str, Any] = {"accepted": True, "form": form.strip()}
        if post.ignored:
            answer["ignored"] = post.ignored
        if post.ret_url:
            target, why = redirect_target(post.ret_url, self.settings.redirect_hosts)
            if target is not None:
                return RedirectResponse(target, status_code=303)
            answer["redirect_refused"] = why
        return JSONResponse(answer, status_code=202)

    async def _body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _cors(self, request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        if origin is not None and origin.lower() in self._origins:
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        return {"Vary": "Origin"}

    def _preflight(self, request: Request, cors: Mapping[str, str]) -> Response:
        wanted = request.headers.get("access-control-request-method", "").upper()
        if "Access-Control-Allow-Origin" not in cors or wanted != "POST":
            return JSONResponse(
                {
                    "error": {
                        "code": "cors",
                        "message": "this origin may not post to the intake from a script",
                        "where": request.headers.get("origin"),
                        "hint": "add the origin to [serve] cors_origins",
                    }
                },
                status_code=403,
                headers=dict(cors),
            )
        return Response(
            status_code=204,
            headers={
                **cors,
                "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": "Content-Type",
                "Access-Control-Max-Age": "600",
            },
        )


def _too_large(limit: int) -> _RefusedError:
    return _RefusedError(
        413,
        "input",
        f"the form is larger than {limit} bytes",
        hint="send less text (or raise [serve] max_body_bytes)",
    )


def _pairs(request: Request, body: bytes) -> list[tuple[str, str]]:
    kind, _, params = request.headers.get("content-type", "").partition(";")
    kind = kind.strip().lower()
    charset = "utf-8"
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        if kind == _FORM_TYPE:
            text = body.decode("ascii")  # percent-encoded: any other byte is not a form body
            return parse_qsl(
                text,
                keep_blank_values=True,
                encoding=charset,
                errors="strict",
                max_num_fields=MAX_FIELDS,
            )
        if kind == _JSON_TYPE:
            return _json_pairs(json.loads(body.decode(charset)))
    except (UnicodeDecodeError, LookupError):
        raise _RefusedError(
            400, "input", f"the body is not {charset} text", hint="send UTF-8"
        ) from None
    except json.JSONDecodeError as exc:
        raise _RefusedError(
            400, "input", f"the body is not JSON: {exc.msg} at character {exc.pos}"
        ) from None
    except ValueError:  # parse_qsl: more than MAX_FIELDS
        raise _RefusedError(
            400, "input", f"the form has more than {MAX_FIELDS} fields", hint="send fewer"
        ) from None
    raise _RefusedError(
        415,
        "input",
        f"a form is sent as {_FORM_TYPE} or {_JSON_TYPE}, not {kind or 'untyped'}",
        hint="leave the form's enctype out (an HTML form's default) or send \"Content-Type: "
        'application/json"',
    )


def _json_pairs(data: object) -> list[tuple[str, str]]:
    if not isinstance(data, dict):
        raise _RefusedError(400, "input", "the JSON body is not an object of field names to values")
    if len(data) > MAX_FIELDS:
        raise _RefusedError(400, "input", f"the form has more than {MAX_FIELDS} fields")
    pairs: list[tuple[str, str]] = []
    for name, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, bool):
                pairs.append((name, "true" if item else "false"))
            elif isinstance(item, str | int | float):
                pairs.append((name, str(item)))
            else:
                raise _RefusedError(
                    422,
                    "input",
                    f'field "{name}" holds an object',
                    name,
                    "send text, a number, true/false, or a list of them",
                )
    return pairs


def routes(
    project: Project,
    settings: ServeConfig | None = None,
    *,
    clock: Callable[[], datetime] = _now,
) -> list[BaseRoute]:
    """The intake's routes for ``journey serve`` (or any Starlette app) to mount; raises
    ``ConfigError`` when ``[serve.web_to_lead]`` names a field the project does not know.
    Its writer thread ends with the process; an app that stops earlier (and wants the
    queued posts written first) builds a ``FormIntake`` and calls its ``close``."""
    return FormIntake(project, settings, clock=clock).routes()
