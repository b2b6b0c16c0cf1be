"""The journeys pages: every journey with its state and counts, and one journey's graph
with live per-step counts and the contacts at a step.

Pipeline position: ``engine.status.journey_status`` (the counts ``journey status`` prints)
and the compiled graph -> **journeys** -> HTML or JSON (``render``). The journey page's
script asks for the page's JSON twin every few seconds and writes the new counts into the
drawing, so a count moves without a reload; a step's contacts are the page with
``?step=ID`` (the script fetches just that panel with ``&fragment=contacts``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from journey.dsl.compiled import CompiledJourney
from journey.engine.journeys import journey_key
from journey.engine.status import JourneyStatus, journey_status
from journey.engine.store import LIVE_STATUSES, Contact, Run, RunStatus
from journey.serve.graph import COUNT_KINDS, to_svg
from journey.serve.render import page, wants_json
from journey.serve.state import ServeState

__all__ = ["journey_url", "routes", "step_contacts"]

#: Contacts listed at a step, at most (the count on the step says how many there are).
STEP_LIMIT = 200
_STATUS_ORDER = [s.value for s in RunStatus]
_FINISHED = (RunStatus.COMPLETED, RunStatus.EXITED, RunStatus.GOAL)


def journey_url(key: str, step: str | None = None) -> str:
    url = f"/journeys/{quote(key, safe='')}"
    return url + (f"?step={quote(step, safe='')}" if step is not None else "")


def _relative(path: str | None, root: Path) -> str | None:
    """A journey's file as the project names it (``journeys/x.journey``)."""
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path


def _summary(
    status: JourneyStatus, journey: CompiledJourney, kept: bool, root: Path
) -> dict[str, Any]:
    key = journey_key(status.journey)
    live = sum(status.runs.get(s, 0) for s in LIVE_STATUSES)
    return {
        **status.as_dict(),
        "key": key,
        "url": journey_url(key),
        "file": _relative(journey.source_path, root),
        "state": "kept at its last good version: its file has errors" if kept else "published",
        "live": live,
        "failed": status.runs.get(RunStatus.FAILED.value, 0),
        "finished": sum(status.runs.get(s.value, 0) for s in _FINISHED),
    }


def _journeys(state: ServeState) -> dict[str, Any]:
    catalog = state.catalog()
    kept = set(catalog.kept)
    out = []
    for status in journey_status(state.store, catalog):
        journey = catalog.current[journey_key(status.journey)]
        out.append(_summary(status, journey, journey.source_path in kept, state.config.root))
    problems = [
        {"where": f"{d.path}:{d.line}:{d.column}", "message": d.message}
        for d in catalog.problems
        if d.severity == "error"
    ]
    return {"journeys": out, "problems": problems}


def step_contacts(state: ServeState, key: str, step: str) -> list[dict[str, Any]]:
    """The runs at ``step`` now (failed and waiting first), with their contacts."""
    runs, contacts = Run, Contact
    order = sa.case({s: i for i, s in enumerate(_STATUS_ORDER)}, value=runs.c.status)
    failed_first = sa.case((runs.c.status == RunStatus.FAILED.value, 0), else_=1)
    query = (
        sa.select(
            runs.c.id,
            runs.c.status,
            runs.c.entered_at,
            runs.c.next_due,
            contacts.c.id.label("contact_id"),
            contacts.c.email,
            contacts.c.first_name,
            contacts.c.last_name,
            contacts.c.company,
        )
        .join(contacts, contacts.c.id == runs.c.contact_id)
        .where(runs.c.journey_key == key, runs.c.step_id == step)
        .order_by(failed_first, order, runs.c.id)
        .limit(STEP_LIMIT)
    )
    with state.store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "run": int(r.id),
            "status": r.status,
            "contact_id": int(r.contact_id),
            "contact_url": f"/contacts/{int(r.contact_id)}",
            "email": r.email,
            "name": " ".join(p for p in (r.first_name, r.last_name) if p) or None,
            "company": r.company,
            "since": r.entered_at.isoformat(timespec="seconds"),
            "next_due": r.next_due.isoformat(timespec="seconds")
            if r.status == RunStatus.WAITING.value
            else None,
        }
        for r in rows
    ]


def _journey(
    state: ServeState, key: str, step: str | None
) -> tuple[dict[str, Any], CompiledJourney, JourneyStatus]:
    catalog = state.catalog()
    journey = catalog.current.get(journey_key(key))
    if journey is None:
        raise HTTPException(404, f'no published journey is named "{key}"')
    key = journey_key(journey.name)
    [status] = journey_status(state.store, catalog, journey.name)
    data = _summary(status, journey, journey.source_path in catalog.kept, state.config.root)
    if step is not None:
        if step not in journey.steps:
            raise HTTPException(404, f'"{journey.name}" has no step {step!r}')
        data["step"] = {
            "id": step,
            "text": journey.steps[step].text,
            "contacts": step_contacts(state, key, step),
            "limit": STEP_LIMIT,
        }
    return data, journey, status


def _drawing(journey: CompiledJourney, status: JourneyStatus) -> str:
    counts = {c.step: {k: getattr(c, k) for k in COUNT_KINDS} for c in status.steps}
    key = journey_key(journey.name)
    return to_svg(journey, lambda sid: journey_url(key, sid), counts)


def routes(state: ServeState) -> list[Route]:
    def journeys_page(request: Request) -> Response:
        return page(request, "journeys.html", _journeys(state))

    def journey_page(request: Request) -> Response:
        step = request.query_params.get("step")
        data, journey, status = _journey(state, request.path_params["key"], step)
        if request.query_params.get("fragment") == "contacts" and step is not None:
            return page(request, "step_contacts.html", data)
        if wants_json(request):  # the page's script, every few seconds: no drawing
            return page(request, "journey.html", data)
        return page(request, "journey.html", data, svg=_drawing(journey, status))

    return [
        Route("/", journeys_page, name="journeys"),
        Route("/journeys", journeys_page),
        Route("/journeys/{key:path}", journey_page, name="journey"),
    ]
