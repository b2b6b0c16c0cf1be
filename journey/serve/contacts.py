"""The contacts pages: search, and one contact's fields, lists, segments, runs and feed.

Pipeline position: the store's ``contacts`` table and ``engine.status.contact_report_by_id``
(what ``journey contact`` prints) -> **contacts** -> HTML or JSON. A search matches any
part of the email, first name, last name, "first last" or company, case-insensitively, or
a Salesforce ID (the 15-character form matches its 18-character one), so a contact
without an email is found by name, company or ID. Contacts are addressed by their store
ID, which every contact has.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from journey.engine.contact_loading import load_views
from journey.engine.status import contact_report_by_id
from journey.engine.store import Contact
from journey.serve.journeys import journey_url
from journey.serve.render import page
from journey.serve.state import ServeState

__all__ = ["routes", "search_contacts"]

#: Contacts a search shows, at most.
SEARCH_LIMIT = 100
_SALESFORCE_ID_LENGTHS = (15, 18)


def _like(text: str) -> str:
    """``%text%`` for LIKE, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_contacts(state: ServeState, query: str) -> list[dict[str, Any]]:
    """Contacts matching ``query`` (module docstring); the latest changed when it is empty."""
    c = Contact
    text = query.strip()
    select = sa.select(c).order_by(c.c.updated_at.desc(), c.c.id.desc()).limit(SEARCH_LIMIT)
    if text:
        pattern = _like(text.casefold())
        first = sa.func.coalesce(c.c.first_name, "")
        last = sa.func.coalesce(c.c.last_name, "")
        matches: list[sa.ColumnElement[bool]] = [
            sa.func.lower(sa.func.coalesce(column, "")).like(pattern, escape="\\")
            for column in (c.c.email, c.c.first_name, c.c.last_name, c.c.company)
        ]
        matches.append(sa.func.lower(first + " " + last).like(pattern, escape="\\"))
        matches.append(c.c.salesforce_id == text)
        if len(text) in _SALESFORCE_ID_LENGTHS and text.isalnum():
            matches.append(c.c.salesforce_id.like(text[:15] + "%"))
        select = select.where(sa.or_(*matches))
    with state.store.engine.connect() as conn:
        rows = conn.execute(select).all()
    return [
        {
            "id": int(r.id),
            "url": f"/contacts/{int(r.id)}",
            "email": r.email,
            "name": " ".join(p for p in (r.first_name, r.last_name) if p) or None,
            "company": r.company,
            "salesforce_id": r.salesforce_id,
            "salesforce_type": r.salesforce_type,
        }
        for r in rows
    ]


def _contact(state: ServeState, cid: int) -> dict[str, Any]:
    report = contact_report_by_id(state.store, cid)
    if report is None:
        raise HTTPException(404, f"no contact has the ID {cid}")
    evaluator = state.project.evaluator
    with state.store.engine.connect() as conn:
        view = load_views(conn, [cid])[cid]
    segments = [name for name in evaluator.segment_names if evaluator.in_segment(name, view)]
    data = report.as_dict()
    first, last = report.fields.get("First Name"), report.fields.get("Last Name")
    data["name"] = " ".join(p for p in (first, last) if p) or None
    data["segments"] = sorted(segments)
    for run in data["runs"]:
        run["journey_url"] = journey_url(run["journey"].casefold())
    return data


def routes(state: ServeState) -> list[Route]:
    def search_page(request: Request) -> Response:
        query = request.query_params.get("q", "")
        return page(
            request, "contacts.html", {"query": query, "contacts": search_contacts(state, query)}
        )

    def contact_page(request: Request) -> Response:
        return page(request, "contact.html", _contact(state, int(request.path_params["cid"])))

    return [
        Route("/contacts", search_page, name="contacts"),
        Route("/contacts/{cid:int}", contact_page, name="contact"),
    ]
