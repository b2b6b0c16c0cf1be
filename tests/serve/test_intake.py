"""``POST /forms/{form}`` as a website's visitors reach it, over real HTTP to uvicorn and a real
SQLite store: a Salesforce Web-to-Lead form's post becomes a contact and a ``form
submitted`` event; the engine's own field names and JSON work too; the same email is the
same contact; ``retURL`` is followed only to allowed hosts; the honeypot, the rate limit, the
size limit and CORS guard it; and every refusal says which field and what to send."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests

from journey.engine.config import ConfigError, ServeConfig, load_config
from journey.engine.project import Project, open_project
from journey.engine.status import contact_report
from journey.serve.intake import FormIntake, routes
from tests.serve.intake_support import (
    TOML,
    contact_emails,
    form_events,
    served,
    write_project,
)

Serve = Callable[..., str]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    opened = open_project(write_project(tmp_path), with_journeys=False)
    yield opened
    opened.close()


@pytest.fixture
def serve(project: Project) -> Iterator[Serve]:
    """Serve the project's intake, ``[serve]`` changed by keyword; the base URL."""
    with ExitStack() as stack:

        def start(**changes: Any) -> str:
            settings = project.config.serve.model_copy(update=changes)
            return stack.enter_context(served(FormIntake(project, settings)))

        yield start


WEB_TO_LEAD = {
    "oid": "00D5g000004ABCD",
    "retURL": "https://www.acme.example/thanks",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@initech.example",
    "company": "Initech",
    "phone": "+44 20 7946 0000",
    "city": "London",
    "state": "Greater London",
    "country": "United Kingdom",
    "lead_source": "Web",
    "description": "Wants a demo",
    "00N5g00000ABCDe": "Enterprise",
}


def test_a_web_to_lead_form_post_becomes_a_contact_and_a_form_event(
    project: Project, serve: Serve
) -> None:
    url = serve()
    answer = requests.post(f"{url}/forms/Demo request", data=WEB_TO_LEAD, allow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "https://www.acme.example/thanks"
    report = contact_report(project.store, "ada@initech.example")
    assert report is not None
    assert report.fields == {
        "City": "London",
        "Company": "Initech",
        "Country": "United Kingdom",
        "Description": "Wants a demo",
        "Email": "ada@initech.example",
        "First Name": "Ada",
        "Last Name": "Lovelace",
        "Lead Source": "Web",
        "Phone": "+44 20 7946 0000",
        "Plan Tier": "Enterprise",
        "State": "Greater London",
    }
    assert form_events(project) == [("Demo request", "ada@initech.example")]


def test_json_with_the_engines_own_field_names_is_taken(project: Project, serve: Serve) -> None:
    url = serve()
    body = {"Email": "bo@initech.example", "First Name": "Bo", "plan tier": "Team", "Seats": 12}
    answer = requests.post(f"{url}/forms/Pricing", json=body)
    assert (answer.status_code, answer.json()) == (202, {"accepted": True, "form": "Pricing"})
    report = contact_report(project.store, "bo@initech.example")
    assert report is not None
    assert report.fields == {
        "Email": "bo@initech.example",
        "First Name": "Bo",
        "Plan Tier": "Team",
        "Seats": "12",
    }


def test_the_same_email_is_the_same_contact_and_each_post_an_event(
    project: Project, serve: Serve
) -> None:
    url = serve()
    first = requests.post(f"{url}/forms/Demo", data={"email": "cy@x.example", "company": "Old"})
    again = requests.post(f"{url}/forms/Webinar", data={"email": "CY@x.example", "company": "New"})
    # The answer never says whether the email was known: the form cannot be used to ask.
    assert first.json() == {"accepted": True, "form": "Demo"}
    assert again.json() == {"accepted": True, "form": "Webinar"}
    assert len(contact_emails(project)) == 1  # the email's letter case is the latest post's
    report = contact_report(project.store, "cy@x.example")
    assert report is not None
    assert report.fields["Company"] == "New"
    assert [form for form, _ in form_events(project)] == ["Demo", "Webinar"]


def test_a_form_no_journey_listens_to_is_still_taken(project: Project, serve: Serve) -> None:
    url = serve()
    answer = requests.post(
        f"{url}/forms/Not%20a%20journey%E2%80%99s", data={"email": "d@x.example"}
    )
    assert answer.status_code == 202
    assert form_events(project) == [("Not a journey’s", "d@x.example")]


def test_fields_a_form_may_not_write_are_set_aside_and_named(
    project: Project, serve: Serve
) -> None:
    url = serve()
    body = {
        "email": "e@x.example",
        "favourite_colour": "teal",
        "00N5g00000ZZZZZ": "unmapped",
        "Salesforce ID": "00Q5g00000AbCdEFGH",
        "Lead Owner": "boss@acme.example",
        "submit": "Send",
    }
    answer = requests.post(f"{url}/forms/Demo", data=body)
    assert answer.status_code == 202
    ignored = answer.json()["ignored"]
    assert sorted(ignored) == ["00N5g00000ZZZZZ", "Lead Owner", "Salesforce ID", "favourite_colour"]
    assert "[fields]" in ignored["favourite_colour"]
    report = contact_report(project.store, "e@x.example")
    assert report is not None
    assert report.fields == {"Email": "e@x.example"}
    assert report.salesforce == {"id": None, "type": None}


@pytest.mark.parametrize(
    "ret_url",
    [
        "//evil.example/thanks",
        "https://evil.example/thanks",
        "https://www.acme.example@evil.example/",
        "https://www.acme.example:443@evil.example/",
        "https://evil.example\\@www.acme.example/",
        "https:\\\\evil.example",
        "/\\evil.example",
        "https:/evil.example",
        "https:evil.example",
        "javascript:alert(document.cookie)//www.acme.example",
        "https://www.acme.example.evil.example/",
        "https://evil.example#@www.acme.example",
        "https://evil.example?@www.acme.example",
        "https://www.acme.example\t.evil.example/",
        "https://www.acme.exam\nple/",
        " https://evil.example",
        "https://www.acme.example:notaport/",
        "https://www.аcme.example/",  # a Cyrillic "а"
        "/thanks",
        "ftp://www.acme.example/",
    ],
)
def test_ret_url_outside_the_allowed_hosts_is_not_followed(
    project: Project, serve: Serve, ret_url: str
) -> None:
    url = serve()
    body = {"email": "f@x.example", "retURL": ret_url}
    answer = requests.post(f"{url}/forms/Demo", data=body, allow_redirects=False)
    assert answer.status_code == 202
    assert "Location" not in answer.headers
    assert answer.json()["redirect_refused"]
    assert contact_emails(project) == ["f@x.example"]  # the lead is kept all the same


@pytest.mark.parametrize(
    "ret_url",
    ["https://www.acme.example/thanks?from=demo#top", "HTTP://ACME.EXAMPLE:8443/ok"],
)
def test_ret_url_on_an_allowed_host_is_followed(serve: Serve, ret_url: str) -> None:
    url = serve()
    body = {"email": "g@x.example", "retURL": ret_url}
    answer = requests.post(f"{url}/forms/Demo", data=body, allow_redirects=False)
    assert (answer.status_code, answer.headers["Location"]) == (303, ret_url)


def test_a_filled_honeypot_is_answered_as_a_success_and_stored_nowhere(
    project: Project, serve: Serve
) -> None:
    url = serve()
    bot = {**WEB_TO_LEAD, "website": "http://spam.example"}
    answer = requests.post(f"{url}/forms/Demo", data=bot, allow_redirects=False)
    assert (answer.status_code, answer.headers["Location"]) == (303, WEB_TO_LEAD["retURL"])
    json_bot = requests.post(f"{url}/forms/Demo", json={"email": "h@x.example", "website": "x"})
    assert json_bot.json() == {"accepted": True, "form": "Demo"}
    assert contact_emails(project) == []
    assert form_events(project) == []
    person = requests.post(f"{url}/forms/Demo", data={"email": "h@x.example", "website": ""})
    assert person.status_code == 202  # an empty honeypot is a person
    assert contact_emails(project) == ["h@x.example"]


def test_an_address_over_its_rate_is_told_when_to_come_back(project: Project, serve: Serve) -> None:
    url = serve(rate_limit_per_minute=3)
    codes = [
        requests.post(f"{url}/forms/Demo", data={"email": f"r{n}@x.example"}).status_code
        for n in range(3)
    ]
    assert codes == [202, 202, 202]
    over = requests.post(f"{url}/forms/Demo", data={"email": "r3@x.example"})
    assert over.status_code == 429
    assert int(over.headers["Retry-After"]) >= 1
    assert over.json()["error"]["code"] == "rate_limited"
    assert contact_emails(project) == ["r0@x.example", "r1@x.example", "r2@x.example"]


def test_a_body_over_the_size_limit_is_refused_declared_or_streamed(
    project: Project, serve: Serve
) -> None:
    url = serve(max_body_bytes=2048)
    big = {"email": "s@x.example", "description": "x" * 4096}
    declared = requests.post(f"{url}/forms/Demo", data=big)
    assert declared.status_code == 413
    assert "2048 bytes" in declared.json()["error"]["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b"email=s%40x.example&description="
        for _ in range(10):
            yield b"y" * 512

    streamed = requests.post(
        f"{url}/forms/Demo",
        data=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413
    assert contact_emails(project) == []


@pytest.mark.parametrize(
    ("body", "where", "hint"),
    [
        ({"first_name": "Ann"}, "email", "add an email field"),
        ({"email": "not an email"}, "email", "name@domain"),
        ({"email": "t@x.example", "00N5g00000SEATS": "a dozen"}, "00N5g00000SEATS", "digits"),
        ({"email": "t@x.example", "emailOptOut": "perhaps"}, "emailOptOut", "true or false"),
        ({"email": "t@x.example", "description": "a\x00b"}, "description", "control characters"),
        ({"email": "t\x01@x.example"}, "email", "control characters"),
    ],
)
def test_a_value_that_cannot_be_taken_is_422_naming_the_field(
    project: Project, serve: Serve, body: dict[str, str], where: str, hint: str
) -> None:
    url = serve()
    answer = requests.post(f"{url}/forms/Demo", data=body)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert (error["code"], error["where"]) == ("input", where)
    assert hint in error["hint"]
    assert contact_emails(project) == []


@pytest.mark.parametrize(
    ("data", "content_type", "status", "message"),
    [
        (b'{"email": ', "application/json", 400, "not JSON"),
        (b'["a@x.example"]', "application/json", 400, "not an object"),
        (b'{"email": "u@x.example", "x": {"y": 1}}', "application/json", 422, "holds an object"),
        (b"email=u%FF%40x.example", "application/x-www-form-urlencoded", 400, "utf-8"),
        (b"--b\r\n\r\n--b--", "multipart/form-data; boundary=b", 415, "multipart/form-data"),
        (b"email=u@x.example", "", 415, "untyped"),
    ],
)
def test_a_body_that_cannot_be_read_says_what_to_send(
    project: Project, serve: Serve, data: bytes, content_type: str, status: int, message: str
) -> None:
    url = serve()
    headers = {"Content-Type": content_type} if content_type else {}
    answer = requests.post(f"{url}/forms/Demo", data=data, headers=headers)
    assert answer.status_code == status
    assert message in answer.json()["error"]["message"]
    assert contact_emails(project) == []


def test_scripts_of_configured_origins_only_may_post_and_read_answers(serve: Serve) -> None:
    url = serve()
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    allowed = requests.options(
        f"{url}/forms/Demo", headers={"Origin": "https://www.acme.example", **preflight}
    )
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://www.acme.example"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    other = requests.options(
        f"{url}/forms/Demo", headers={"Origin": "https://evil.example", **preflight}
    )
    assert other.status_code == 403
    assert "Access-Control-Allow-Origin" not in other.headers

    from_site = requests.post(
        f"{url}/forms/Demo",
        json={"email": "v@x.example"},
        headers={"Origin": "https://www.acme.example"},
    )
    assert from_site.headers["Access-Control-Allow-Origin"] == "https://www.acme.example"
    # A plain HTML form on any site is taken (CORS only keeps other sites' scripts from
    # reading the answer).
    plain = requests.post(
        f"{url}/forms/Demo",
        data={"email": "w@x.example"},
        headers={"Origin": "https://other.example"},
    )
    assert plain.status_code == 202
    assert "Access-Control-Allow-Origin" not in plain.headers


@pytest.mark.parametrize(
    ("serve_toml", "message"),
    [
        ('redirect_hosts = ["https://acme.example/"]', "is not a host name"),
        ('cors_origins = ["*"]', "is not an origin"),
        ('cors_origins = ["https://acme.example/path"]', "is not an origin"),
        ("rate_limit_per_minute = -1", "rate_limit_per_minute"),
        ("max_body_bytes = 10", "max_body_bytes"),
        ('[serve.web_to_lead]\n"Plan_Tier__c" = "Plan Tier"', "is not a custom field ID"),
    ],
)
def test_a_bad_serve_section_names_the_key(tmp_path: Path, serve_toml: str, message: str) -> None:
    write_project(tmp_path, f"[serve]\n{serve_toml}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path)


def test_a_custom_field_mapped_to_an_unknown_field_stops_the_intake(tmp_path: Path) -> None:
    write_project(tmp_path, '[serve.web_to_lead]\n"00N5g00000ABCDe" = "Plan Tier"\n')
    project = open_project(tmp_path, with_journeys=False)
    try:
        with pytest.raises(ConfigError, match="'Plan Tier': not a field of this project"):
            routes(project)
    finally:
        project.close()


def test_an_eighteen_character_custom_id_is_its_fifteen_character_one(tmp_path: Path) -> None:
    toml = TOML.replace('"00N5g00000ABCDe"', '"00N5g00000ABCDeEAO"')
    settings = load_config(write_project(tmp_path, toml)).serve
    assert settings.web_to_lead["00N5g00000ABCDe"] == "Plan Tier"
    assert ServeConfig().rate_limit_per_minute > 0  # the default is a limit
