"""The pages of ``journey serve`` in-process, through the app's ASGI interface: what each
shows, as HTML for people and as its JSON twin, on a project the CLI filled."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.cli import actions_support as sup
from tests.serve.conftest import client_for
from tests.serve.project import MISSED, NO_EMAIL, WELCOMED, add_member_status

JSON = {"Accept": "application/json"}


def get_json(client: TestClient, url: str) -> Any:
    response = client.get(url, headers=JSON)
    assert response.status_code == 200, response.text
    return response.json()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page carries no CSRF token"
    return found[1]


def test_the_journeys_list_has_each_journeys_state_and_counts(client: TestClient) -> None:
    data = get_json(client, "/")
    by_name = {j["journey"]: j for j in data["journeys"]}
    assert set(by_name) == {"Welcome", "No shows"}
    assert by_name["Welcome"]["live"] == 1
    assert by_name["Welcome"]["state"] == "published"
    assert by_name["No shows"]["failed"] == 2
    html = client.get("/").text
    assert 'href="/journeys/welcome"' in html
    assert 'href="/journeys/no%20shows"' in html


def test_a_journey_page_draws_its_steps_with_their_counts(client: TestClient) -> None:
    data = get_json(client, "/journeys/welcome")
    counts = {s["step"]: s for s in data["steps"]}
    assert counts["1"]["entered"] == 1
    assert counts["1"]["waiting"] == 1
    html = client.get("/journeys/welcome").text
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count('class="step-link"') == len(counts)  # every step drawn, the end too
    assert "1: wait 2 days" in svg
    step = svg[svg.index('data-step="1"') :]
    assert re.search(r'data-count="waiting">1<', step)


def test_clicking_a_step_lists_the_contacts_there(client: TestClient) -> None:
    data = get_json(client, "/journeys/no%20shows?step=2")
    assert sorted(c["email"] for c in data["step"]["contacts"]) == sorted(MISSED)
    assert {c["status"] for c in data["step"]["contacts"]} == {"failed"}
    fragment = client.get("/journeys/no%20shows?step=2&fragment=contacts").text
    assert "<html" not in fragment
    assert all(email in fragment for email in MISSED)


def test_an_unknown_journey_or_step_is_not_found(client: TestClient) -> None:
    response = client.get("/journeys/nope", headers=JSON)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.get("/journeys/welcome?step=99", headers=JSON).status_code == 404
    html = client.get("/journeys/nope", headers={"Accept": "text/html"})
    assert html.status_code == 404
    assert "no published journey is named" in html.text


def test_contacts_are_found_by_email_name_company_or_salesforce_id(client: TestClient) -> None:
    def found(query: str) -> list[dict[str, Any]]:
        contacts: list[dict[str, Any]] = get_json(client, f"/contacts?q={query}")["contacts"]
        return contacts

    assert [c["email"] for c in found("ADA@initech")] == [WELCOMED]
    for query in ("grace", "Hopper", "grace%20hopper", "navy%20labs", NO_EMAIL["Salesforce ID"]):
        [hit] = found(query)
        assert hit["email"] is None, query
        assert hit["name"] == "Grace Hopper"
    assert found("%25") == []  # a LIKE wildcard is taken literally
    html = client.get("/contacts?q=hopper").text
    assert "Grace Hopper" in html


def test_a_contact_page_has_fields_lists_segments_runs_and_feed(client: TestClient) -> None:
    [ada] = get_json(client, f"/contacts?q={WELCOMED}")["contacts"]
    data = get_json(client, ada["url"])
    assert data["email"] == WELCOMED
    assert data["segments"] == ["Initech people"]
    assert [(r["journey"], r["status"]) for r in data["runs"]] == [("Welcome", "waiting")]
    assert any(a["journey"] == "Welcome" for a in data["activity"])
    [grace] = get_json(client, "/contacts?q=grace")["contacts"]
    data = get_json(client, grace["url"])
    assert "Imported" in data["lists"]
    assert data["fields"]["Company"] == "Navy Labs"
    html = client.get(grace["url"]).text
    assert "no email" in html
    assert client.get("/contacts/999999", headers=JSON).status_code == 404


def test_failures_list_failed_runs_with_their_reasons(client: TestClient) -> None:
    data = get_json(client, "/failures")
    assert sorted(f["contact"] for f in data["failed_runs"]) == sorted(MISSED)
    for failure in data["failed_runs"]:
        assert failure["error"]["code"] == "UNKNOWN_MEMBER_STATUS"
        assert failure["step"] == "2"
    assert data["sync_errors"] == []
    html = client.get("/failures").text
    assert html.count('class="retry"') == 2


def test_retry_puts_a_failed_run_back_and_the_next_run_completes_it(
    client: TestClient, filled: Path
) -> None:
    add_member_status(filled)
    html = client.get("/failures").text
    [failure, _] = get_json(client, "/failures")["failed_runs"]
    form = {
        "csrf": csrf_of(html),
        "journey": failure["journey"],
        "step": failure["step"],
        "contact": str(failure["contact_id"]),
    }
    response = client.post("/failures/retry", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/failures?retried=1&skipped=0"
    assert "1 failed run put back" in client.get(response.headers["location"]).text
    assert len(get_json(client, "/failures")["failed_runs"]) == 1
    sup.run(sup.NOW)
    [left] = get_json(client, "/failures")["failed_runs"]
    assert left["contact"] != failure["contact"]


def test_the_connection_page_shows_the_org_usage_and_pause(client: TestClient) -> None:
    data = get_json(client, "/connection")
    assert data["embedded"] is True
    assert data["paused"] is None
    assert data["api"]["calls_by_journeys"] > 0
    html = client.get("/connection").text
    assert "embedded emulated org" in html
    assert 'action="/connection/renew"' in html


def test_renew_renews_the_embedded_orgs_session(client: TestClient) -> None:
    csrf = csrf_of(client.get("/connection").text)
    response = client.post("/connection/renew", data={"csrf": csrf}, headers=JSON)
    assert response.status_code == 200, response.text
    renewal = response.json()
    assert renewal["error"] is None
    assert renewal["outcome"]["renewed"] is True
    assert "Renewed" in client.get("/connection").text


def test_failures_list_the_records_the_sync_could_not_write(project: Path) -> None:
    sup.journey("sync", "--once")  # the org's Leads come in
    # A form sets a Lead Status the org's picklist refuses: the next cycle cannot write it.
    owned = MISSED[0]
    sup.journey("event", "form-submitted", "Demo", "--email", owned, "--field", "Lead Status=Bogus")
    assert sup.as_json("sync", "--once")["errors"] == 1
    with client_for(project) as client:
        [error] = get_json(client, "/failures")["sync_errors"]
        assert error["direction"] == "out"
        assert error["object"] == "Lead"
        assert "Status" in error["message"]
        html = client.get("/failures").text
    assert error["code"] in html
    assert "to Salesforce" in html
