"""``journey serve`` as a person sees it, in headless Chromium against the real command:
a journey page's counts, a count moving without a reload, a step's contacts, finding a
contact (one without an email too) and retrying a failed run; screenshots are kept under
``.pytest-artifacts/serve/``. The page's script runs under the Content-Security-Policy:
any console error (a refused script, a failed fetch) fails the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.cli import actions_support as sup
from tests.serve.browser import OtherOrigin, Server
from tests.serve.project import MISSED, WELCOMED, add_member_status, submit_form

WAITING_AT_1 = '#graph [data-step="1"] [data-count="waiting"]'


@pytest.fixture
def console(page: Any) -> Iterator[list[str]]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield errors
    assert errors == []


def test_a_journey_page_shows_its_steps_counts(
    server: Server, page: Any, console: list[str], screenshot: Callable[[str], Path]
) -> None:
    page.goto(server.url)
    page.get_by_role("link", name="Welcome").click()
    page.wait_for_url("**/journeys/welcome")
    assert page.locator(WAITING_AT_1).text_content() == "1"
    entered = '#graph [data-step="1"] [data-count="entered"]'
    assert page.locator(entered).text_content() == "1"
    assert page.locator('#step-table [data-step="1"] [data-count="waiting"]').text_content() == "1"
    screenshot("welcome")


def test_a_count_changes_without_a_reload(
    server: Server, page: Any, console: list[str], screenshot: Callable[[str], Path]
) -> None:
    page.goto(server.url + "journeys/welcome")
    assert page.locator(WAITING_AT_1).text_content() == "1"
    page.evaluate("window.sameDocument = true")
    screenshot("before")
    submit_form("lin@initech.example")
    sup.run(sup.NOW)
    expect(page.locator(WAITING_AT_1)).to_have_text("2", timeout=30_000)  # against a hang
    assert page.evaluate("window.sameDocument") is True  # the page was never reloaded
    assert page.locator('#totals [data-total="live"]').text_content() == "2"
    screenshot("after")


def test_clicking_a_step_lists_the_contacts_there(
    server: Server, page: Any, console: list[str], screenshot: Callable[[str], Path]
) -> None:
    page.goto(server.url + "journeys/no%20shows")
    page.locator('#graph a[data-step="2"]').click()
    panel = page.locator("#step-panel .step-contacts")
    panel.wait_for()
    for email in MISSED:
        assert panel.get_by_role("link", name=email).is_visible()
    assert page.url.endswith("?step=2")
    screenshot("step-2")


def test_a_contact_is_found_with_or_without_an_email(
    server: Server, page: Any, console: list[str], screenshot: Callable[[str], Path]
) -> None:
    page.goto(server.url + "contacts")
    search = page.get_by_role("searchbox", name="Search contacts")
    search.fill("hopper")
    search.press("Enter")
    page.wait_for_url("**/contacts?q=hopper")
    screenshot("search")
    [grace] = page.locator("table.contacts tbody tr").all()
    assert "Grace Hopper" in grace.text_content()
    grace.get_by_role("link").click()
    page.get_by_role("heading", name="Grace Hopper").wait_for()
    assert "no email" in page.locator(".meta").text_content()
    screenshot("grace")
    page.goto(server.url + "contacts")
    page.get_by_role("searchbox", name="Search contacts").fill("initech")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=WELCOMED).click()
    page.get_by_role("heading", name=WELCOMED).wait_for()
    assert page.get_by_role("link", name="Welcome", exact=True).count() == 1
    screenshot("ada")


def test_retry_a_failed_run(
    server: Server,
    filled: Path,
    page: Any,
    console: list[str],
    screenshot: Callable[[str], Path],
) -> None:
    add_member_status(filled)  # the admin fixes the cause in Salesforce
    page.goto(server.url + "failures")
    rows = page.locator("table.failures tbody tr")
    assert rows.count() == 2
    assert "UNKNOWN_MEMBER_STATUS" in rows.first.text_content()
    screenshot("failed")
    rows.first.get_by_role("button", name="Retry").click()
    page.get_by_role("status").wait_for()
    assert "1 failed run put back" in page.get_by_role("status").text_content()
    assert page.locator("table.failures tbody tr").count() == 1
    screenshot("retried")
    sup.run(sup.NOW)
    page.goto(server.url + "journeys/no%20shows")
    done = '#graph [data-step="2"] [data-count="done"]'
    assert page.locator(done).text_content() == "1"
    screenshot("completed")


def test_a_form_on_another_site_cannot_retry_runs(
    server: Server,
    other_origin: OtherOrigin,
    page: Any,
    screenshot: Callable[[str], Path],
) -> None:
    """Cross-site request forgery, in a real browser: a page elsewhere posts the Retry form
    to the server (the browser holds its cookies); the server refuses it, no run moves."""
    page.goto(server.url + "failures")  # the browser has been here: it holds the cookies
    forged = other_origin.show(
        f'<form id="f" method="post" action="{server.url}failures/retry">'
        '<input name="journey" value="No shows"><button>Win a prize</button></form>'
    )
    page.goto(forged)
    page.get_by_role("button", name="Win a prize").click()
    page.wait_for_load_state()
    assert "this request came from another site" in page.content()
    screenshot("refused")
    page.goto(server.url + "failures")
    assert page.locator("table.failures tbody tr").count() == 2


def test_a_plain_form_on_another_site_brings_a_contact_into_the_journey(
    server: Server,
    other_origin: OtherOrigin,
    page: Any,
    console: list[str],
    screenshot: Callable[[str], Path],
) -> None:
    """The Web-to-Lead path end to end: a plain HTML form on another origin, with
    Salesforce's field names, posts to the intake; the journey page open in another tab
    counts the new contact without a reload once a run takes the event."""
    page.goto(server.url + "journeys/welcome")
    assert page.locator(WAITING_AT_1).text_content() == "1"
    page.evaluate("window.sameDocument = true")
    visitor = page.context.new_page()
    form = other_origin.show(
        f'<form method="post" action="{server.url}forms/Hello">'
        '<input name="first_name" value="Rosa"><input name="last_name" value="Parks">'
        '<input name="email" value="rosa@acme.example"><input name="company" value="Acme">'
        "<button>Send</button></form>"
    )
    visitor.goto(form)
    screenshot("form")
    visitor.get_by_role("button", name="Send").click()
    visitor.wait_for_load_state()
    assert '"accepted":true' in visitor.content().replace(" ", "")
    visitor.close()
    sup.run(sup.NOW)
    expect(page.locator(WAITING_AT_1)).to_have_text("2", timeout=30_000)  # against a hang
    assert page.evaluate("window.sameDocument") is True
    screenshot("counted")
    found = sup.contact("rosa@acme.example")
    assert found["fields"]["Company"] == "Acme"
    assert found["fields"]["First Name"] == "Rosa"
