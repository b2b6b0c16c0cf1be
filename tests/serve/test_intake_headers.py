"""A form post to ``journey serve`` gets every response's security rules (the
Content-Security-Policy with its nonce, nosniff, no framing, the referrer rule, the CSRF
cookie, the host check) although it takes the middleware's short path, and an address
under ``/forms/`` that is no form is answered as any other unknown page."""

from __future__ import annotations

import re
from pathlib import Path

from tests.serve.conftest import client_for

SECURITY = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
)


def test_a_form_post_carries_the_same_security_headers_as_a_page(project: Path) -> None:
    with client_for(project) as client:
        page = client.get("/assets/app.css")
        client.cookies.clear()
        posted = client.post("/forms/Hello", data={"email": "ada@x.example"})
    assert posted.status_code == 202
    assert posted.json() == {"accepted": True, "form": "Hello"}
    for name in SECURITY:
        mask = re.sub(r"nonce-[\w-]+", "nonce", posted.headers[name])
        assert mask == re.sub(r"nonce-[\w-]+", "nonce", page.headers[name])
    assert re.search(
        r"script-src 'self' 'nonce-[\w-]{20,}'", posted.headers["content-security-policy"]
    )
    cookie = posted.headers["set-cookie"]
    assert cookie.startswith("journey_csrf=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.casefold()


def test_a_form_post_naming_another_host_is_refused(project: Path) -> None:
    with client_for(project) as client:
        answer = client.post(
            "/forms/Hello",
            data={"email": "ada@x.example"},
            headers={"Host": "rebound.evil.example"},
        )
    assert answer.status_code == 400
    assert "answers only to 127.0.0.1" in answer.json()["error"]["message"]
    assert "content-security-policy" in answer.headers


def test_an_address_under_forms_that_is_no_form_is_not_found(project: Path) -> None:
    with client_for(project) as client:
        answer = client.post(
            "/forms/a/b", data={"email": "ada@x.example"}, headers={"Accept": "application/json"}
        )
    assert answer.status_code == 404
    assert "content-security-policy" in answer.headers
