"""The security rules of ``journey serve`` (docs/serve.md, "Security"), as a browser or a
program meets them: the token beyond loopback, CSRF on every state-changing request, a
foreign Origin refused, and the Content-Security-Policy on every response."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from journey.engine.config import load_config
from journey.serve.security import SESSION_COOKIE, ServeSecurityError, safe_next, security_for
from tests.serve.conftest import client_for
from tests.serve.test_pages import JSON, csrf_of

TOKEN = "a-long-random-token-0123456789"
PAGES = ["/", "/journeys/welcome", "/journeys/no%20shows?step=2", "/contacts", "/failures"]


def test_a_state_changing_request_needs_the_pages_csrf_token(client: TestClient) -> None:
    assert client.post("/failures/retry", data={}).status_code == 403
    assert client.post("/failures/retry", data={"csrf": "0" * 64}).status_code == 403
    assert client.post("/connection/renew", data={}).status_code == 403
    assert len(client.get("/failures", headers=JSON).json()["failed_runs"]) == 2


def test_a_request_from_another_site_is_refused_even_with_a_token(client: TestClient) -> None:
    csrf = csrf_of(client.get("/failures").text)
    response = client.post(
        "/failures/retry", data={"csrf": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert len(client.get("/failures", headers=JSON).json()["failed_runs"]) == 2


def test_another_browsers_csrf_token_does_not_fit(filled: Path) -> None:
    with client_for(filled) as mine, client_for(filled) as theirs:
        stolen = csrf_of(theirs.get("/failures").text)
        mine.get("/failures")
        assert mine.post("/failures/retry", data={"csrf": stolen}).status_code == 403


@pytest.mark.parametrize("path", [*PAGES, "/connection", "/nope", "/assets/app.js"])
def test_every_response_sets_the_content_security_policy(client: TestClient, path: str) -> None:
    response = client.get(path)
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert re.search(r"script-src 'self' 'nonce-[\w-]+'", policy)
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", [*PAGES, "/connection", "/login"])
def test_pages_hold_no_inline_script_or_style(client: TestClient, path: str) -> None:
    html = client.get(path).text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert re.findall(r"\son[a-z]+=", html) == []
    assert " style=" not in html


def test_beyond_loopback_the_server_refuses_to_start_without_a_token(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ServeSecurityError, match=r"\[serve\] token_env"):
        security_for(load_config(project), "0.0.0.0")
    with (project / "journey.toml").open("a") as toml:
        toml.write('\n[serve]\ntoken_env = "JOURNEY_SERVE_TOKEN"\n')
    monkeypatch.delenv("JOURNEY_SERVE_TOKEN", raising=False)
    with pytest.raises(ServeSecurityError, match="JOURNEY_SERVE_TOKEN is not set"):
        security_for(load_config(project), "192.168.1.20")
    assert not security_for(load_config(project), "127.0.0.1").token_required
    assert not security_for(load_config(project), "::1").token_required
    monkeypatch.setenv("JOURNEY_SERVE_TOKEN", "letmein")
    with pytest.raises(ServeSecurityError, match="7 characters long"):
        security_for(load_config(project), "0.0.0.0")
    monkeypatch.setenv("JOURNEY_SERVE_TOKEN", TOKEN)
    security = security_for(load_config(project), "0.0.0.0")
    assert security.token_required
    assert TOKEN not in repr(security)


@pytest.fixture
def guarded(filled: Path) -> Iterator[TestClient]:
    with client_for(filled, TOKEN, base_url="http://192.168.1.20:8080") as test_client:
        yield test_client


def test_with_a_token_every_page_and_api_asks_for_it(guarded: TestClient) -> None:
    for path in PAGES:
        response = guarded.get(path, headers=JSON)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "unauthorized"
        page = guarded.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login?next=")
    assert guarded.post("/failures/retry", data={}).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token", **JSON}
    assert guarded.get("/", headers=wrong).status_code == 401
    right = {"Authorization": f"Bearer {TOKEN}", **JSON}
    assert guarded.get("/", headers=right).status_code == 200
    # A program with the token needs no CSRF token: it sends no cookie a site could ride on.
    retried = guarded.post("/failures/retry", data={}, headers=right)
    assert retried.status_code == 200
    assert retried.json()["retried"] == 2


def test_a_person_logs_in_once_with_the_token(guarded: TestClient) -> None:
    login = guarded.get("/login?next=/failures")
    assert login.status_code == 200
    csrf = csrf_of(login.text)
    refused = guarded.post("/login", data={"csrf": csrf, "token": "guess", "next": "/failures"})
    assert refused.status_code == 401
    assert SESSION_COOKIE not in guarded.cookies
    response = guarded.post(
        "/login", data={"csrf": csrf, "token": TOKEN, "next": "/failures"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/failures"
    assert TOKEN not in guarded.cookies[SESSION_COOKIE]
    assert guarded.get("/failures", headers=JSON).status_code == 200


def test_the_intake_and_the_assets_stay_public(guarded: TestClient) -> None:
    assert guarded.get("/assets/app.css").status_code == 200
    # /forms/ is the intake's (public, validated and rate-limited by it): never a 401 here.
    assert guarded.post("/forms/Hello", data={"email": "x@y.example"}).status_code != 401


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/failures", "/failures"),
        ("/contacts?q=ada", "/contacts?q=ada"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
    ],
)
def test_login_goes_back_only_to_this_server(target: str | None, kept: str) -> None:
    assert safe_next(target) == kept


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"])
def test_without_a_token_the_server_answers_to_this_machines_names(
    client: TestClient, host: str
) -> None:
    assert client.get("/", headers={"Host": host, **JSON}).status_code == 200


@pytest.mark.parametrize("host", ["rebound.evil.example:8080", "127.0.0.1.evil.example"])
def test_without_a_token_another_host_name_is_refused(client: TestClient, host: str) -> None:
    """DNS rebinding: a site whose name resolves to 127.0.0.1 still sends its own name."""
    response = client.get("/contacts", headers={"Host": host, **JSON})
    assert response.status_code == 400
    assert "answers only to 127.0.0.1" in response.json()["error"]["message"]
