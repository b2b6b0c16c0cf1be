"""The form intake served for real: a project folder, the intake's routes in a Starlette app,
uvicorn on a free port in a thread, and what the store holds afterwards.

``journey serve`` mounts the same routes in its app; here they stand alone, so the tests
speak HTTP to exactly what a website's form reaches."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
import uvicorn
from starlette.applications import Starlette

from journey.engine.project import Project
from journey.engine.store import Contact, Event
from journey.serve.intake import FormIntake

#: Upper bound for anything a test waits on (a guard against hangs, never a timing).
BOUND = 60.0

TOML = """[fields]
"Plan Tier" = "Text"
"Seats" = "Number"
"Nurture Stage" = "Text"

[serve]
redirect_hosts = ["www.acme.example", "acme.example"]
cors_origins = ["https://www.acme.example"]
honeypot = "website"
rate_limit_per_minute = 0

[serve.web_to_lead]
"00N5g00000ABCDe" = "Plan Tier"
"00N5g00000SEATS" = "Seats"
"""


def write_project(root: Path, toml: str = TOML, journeys: dict[str, str] | None = None) -> Path:
    (root / "journeys").mkdir(parents=True, exist_ok=True)
    for name, text in (journeys or {}).items():
        (root / "journeys" / f"{name}.journey").write_text(text)
    (root / "journey.toml").write_text(toml)
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(intake: FormIntake) -> Iterator[str]:
    """The intake's routes served by uvicorn; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(
        Starlette(routes=intake.routes()),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="none",
        http="h11",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + BOUND
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped before it started"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=BOUND)
        intake.close()


def contact_emails(project: Project) -> list[str]:
    with project.store.begin() as conn:
        return sorted(str(r.email) for r in conn.execute(sa.select(Contact.c.email)) if r.email)


def form_events(project: Project) -> list[tuple[str, str]]:
    """(form name, the contact's email) of each ``form_submitted`` event, oldest first."""
    e, c = Event, Contact
    query = (
        sa.select(e.c.name, c.c.email)
        .join(c, c.c.id == e.c.contact_id)
        .where(e.c.kind == "form_submitted")
        .order_by(e.c.id)
    )
    with project.store.begin() as conn:
        return [(str(r.name), str(r.email)) for r in conn.execute(query)]
