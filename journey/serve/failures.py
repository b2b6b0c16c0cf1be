"""The failures page: failed runs with their reasons and a Retry action, and the records
the sync could not take or write.

Pipeline position: ``engine.failed_runs`` (``journey status JOURNEY``'s list and ``journey
retry``) and ``engine.sync.error_rows`` (``journey sync errors``) -> **failures** -> HTML or
JSON. Retry is the same call as ``journey retry``: it only touches the store (the runs go
back to their failed step, due now) and a running worker takes them on; a form may narrow
it to one journey, one step and one contact, as the command's options do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from journey.engine.failed_runs import RetryReport, failed_runs, retry_failed
from journey.engine.journeys import journey_key
from journey.engine.sync import error_rows
from journey.serve.journeys import journey_url
from journey.serve.render import page, wants_json
from journey.serve.security import csrf_form
from journey.serve.state import ServeState

__all__ = ["routes"]

#: Failed runs a page shows, at most (``journey status JOURNEY --json`` has them all).
FAILURES_LIMIT = 500


def _failures(state: ServeState, journey: str | None) -> dict[str, Any]:
    catalog = state.catalog()
    key = journey_key(journey) if journey else None
    runs = []
    for run in failed_runs(state.store, catalog, journey_key=key, limit=FAILURES_LIMIT):
        runs.append(
            {
                **run.as_dict(),
                "contact_id": run.contact_id,
                "contact_url": f"/contacts/{run.contact_id}",
                "journey_key": journey_key(run.journey),
                "journey_url": journey_url(journey_key(run.journey), run.step),
            }
        )
    with state.store.engine.connect() as conn:
        sync = [
            {**row, "first_at": str(row["first_at"])[:19], "last_at": str(row["last_at"])[:19]}
            for row in error_rows(conn)
        ]
    return {"journey": journey, "failed_runs": runs, "sync_errors": sync}


def _retry(state: ServeState, form: Mapping[str, Any]) -> RetryReport:
    def text(name: str) -> str | None:
        value = form.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    journey, step, contact = text("journey"), text("step"), text("contact")
    if step is not None and journey is None:
        raise HTTPException(400, "a step needs the journey it is a step of")
    contact_id: int | None = None
    if contact is not None:
        if not contact.isdigit():
            raise HTTPException(400, f"{contact!r} is not a contact ID")
        contact_id = int(contact)
    return retry_failed(
        state.store,
        state.catalog(),
        state.now(),
        journey_key=journey_key(journey) if journey else None,
        step=step,
        contact_id=contact_id,
    )


def routes(state: ServeState) -> list[Route]:
    def failures_page(request: Request) -> Response:
        data = _failures(state, request.query_params.get("journey") or None)
        if "retried" in request.query_params:  # back from a Retry: say what it did
            retried, skipped = (request.query_params.get(k, "") for k in ("retried", "skipped"))
            data["notice"] = {
                "retried": int(retried) if retried.isdigit() else 0,
                "skipped": int(skipped) if skipped.isdigit() else 0,
            }
        return page(request, "failures.html", data)

    async def retry_action(request: Request) -> Response:
        form = await csrf_form(request)
        report = await run_in_threadpool(_retry, state, form)
        if wants_json(request):
            return JSONResponse(report.as_dict())
        query = urlencode({"retried": len(report.retried), "skipped": len(report.skipped)})
        return RedirectResponse(f"/failures?{query}", status_code=303)

    return [
        Route("/failures", failures_page, name="failures"),
        Route("/failures/retry", retry_action, methods=["POST"], name="retry"),
    ]
