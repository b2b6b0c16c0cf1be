"""``journey serve`` on a PostgreSQL store: the counts, the search (the same SQL on both
databases: LOWER, LIKE with its escape, concatenation) and a retry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serve.conftest import client_for
from tests.serve.project import MISSED, NO_EMAIL, fill
from tests.serve.test_pages import JSON, csrf_of

pytestmark = pytest.mark.postgres


def test_serve_on_postgresql(
    project: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOURNEY_DATABASE_URL", postgres_url)
    fill(project)
    with client_for(project) as client:
        journeys = client.get("/", headers=JSON).json()["journeys"]
        assert {j["journey"]: j["failed"] for j in journeys} == {"Welcome": 0, "No shows": 2}
        for query in ("hopper", "GRACE h", NO_EMAIL["Salesforce ID"], "navy"):
            [hit] = client.get(f"/contacts?q={query}", headers=JSON).json()["contacts"]
            assert hit["name"] == "Grace Hopper", query
        assert client.get("/contacts?q=_", headers=JSON).json()["contacts"] == []
        step = client.get("/journeys/no%20shows?step=2", headers=JSON).json()["step"]
        assert sorted(c["email"] for c in step["contacts"]) == sorted(MISSED)
        csrf = csrf_of(client.get("/failures").text)
        retried = client.post("/failures/retry", data={"csrf": csrf}, headers=JSON).json()
        assert retried["retried"] == 2
        assert client.get("/failures", headers=JSON).json()["failed_runs"] == []
