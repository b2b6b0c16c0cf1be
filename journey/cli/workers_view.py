"""The Workers section of ``journey status``: who works the store and who leads the sync.

Pipeline position: thin — ``engine.status.fleet_status`` reads the registry; here it is
drawn for people (a table, ages in seconds) or listed for programs (``--json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.table import Table

from journey.engine.fleet import WorkerStatus

__all__ = ["workers_json", "workers_table"]


def _age(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def workers_json(statuses: Sequence[WorkerStatus]) -> dict[str, Any]:
    """``workers`` and ``sync_leader`` (a worker id, or null) for ``journey status --json``."""
    leader = next((w.id for w in statuses if w.leads_sync), None)
    return {"workers": [w.as_dict() for w in statuses], "sync_leader": leader}


def workers_table(statuses: Sequence[WorkerStatus], now: datetime) -> Table | str:
    """The table, or one line when no worker is registered."""
    if not statuses:
        return "Workers: none running (`journey worker` starts one)"
    alive = sum(w.alive for w in statuses)
    gone = len(statuses) - alive
    leader = next((w.id for w in statuses if w.leads_sync), None)
    title = f"Workers: {alive} alive" + (f", {gone} gone" if gone else "")
    title += f"; the sync is led by {leader}" if leader else "; no worker leads the sync"
    table = Table(title=title, title_justify="left")
    for column in ("worker", "host", "pid", "claimed runs", "last heartbeat", "state", "sync"):
        table.add_column(column, justify="right" if column in ("pid", "claimed runs") else "left")
    for w in statuses:
        table.add_row(
            w.id,
            w.host,
            str(w.pid),
            str(w.claimed),
            _age(w.heartbeat_at, now),
            "alive" if w.alive else "gone",
            "leads" if w.leads_sync else "",
        )
    return table
