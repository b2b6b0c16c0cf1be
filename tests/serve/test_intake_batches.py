"""Many posts at once: the intake writes the posts that arrive together in one transaction
(``serve.form_writer``), and a user sees the same as if each were alone — every post
answered 202 is stored, posts of the same email are one contact, and a post that cannot be
written fails alone. On SQLite and PostgreSQL. The rate limiter refills as time passes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from journey.engine.field_values import FieldValueError
from journey.engine.intake import FormSubmission, submit_forms
from journey.engine.project import Project, open_project
from journey.engine.status import contact_report
from journey.serve.form_writer import FormWriter
from journey.serve.intake import FormIntake
from journey.serve.ratelimit import RateLimiter
from tests.serve.intake_support import contact_emails, form_events, served, write_project

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str) -> Iterator[Project]:
    monkeypatch.setenv("JOURNEY_DATABASE_URL", store_url)
    opened = open_project(write_project(tmp_path), with_journeys=False)
    yield opened
    opened.close()


def test_concurrent_posts_are_all_stored_once_each(project: Project) -> None:
    posts = [
        {"email": f"p{n % 60}@x.example", "first_name": f"P{n}", "00N5g00000SEATS": str(n)}
        for n in range(240)
    ]
    with served(FormIntake(project)) as url, ThreadPoolExecutor(16) as pool:

        def post(body: dict[str, str]) -> int:
            with requests.Session() as session:
                return session.post(f"{url}/forms/Demo", data=body).status_code

        codes = list(pool.map(post, posts))
    assert codes == [202] * 240
    assert contact_emails(project) == sorted(f"p{n}@x.example" for n in range(60))
    assert len(form_events(project)) == 240


def test_a_batch_is_the_same_as_its_posts_one_by_one(project: Project) -> None:
    ctx = project.context(NOW)
    submit_forms(project.store, ctx, [FormSubmission("Demo", "old@x.example", {"Seats": "1"})])
    results = submit_forms(
        project.store,
        ctx,
        [
            FormSubmission("Demo", "new@x.example", {"First Name": "Nia"}),
            FormSubmission("Webinar", "NEW@x.example", {"Last Name": "Ng"}),
            FormSubmission("Webinar", "old@x.example", {"Seats": "2"}),
        ],
    )
    created = [flag for _, flag in results]
    assert created == [True, False, False]
    assert results[0][0] == results[1][0]  # the second post merged into the first's contact
    new = contact_report(project.store, "new@x.example")
    old = contact_report(project.store, "old@x.example")
    assert new is not None
    assert old is not None
    assert (new.fields["First Name"], new.fields["Last Name"], old.fields["Seats"]) == (
        "Nia",
        "Ng",
        "2",
    )
    assert [name for name, _ in form_events(project)] == ["Demo", "Demo", "Webinar", "Webinar"]


def test_several_writers_still_make_one_contact_per_email(project: Project) -> None:
    # On PostgreSQL several writer threads write at once; posts of one email, in any
    # letter case, all go to the same one. (On SQLite there is always one.)
    writer = FormWriter(project.store, lambda: project.context(NOW), writers=3)

    async def many() -> None:
        await asyncio.gather(
            *(
                writer.submit(
                    "Demo", f"P{n % 25}@X.example" if n % 2 else f"p{n % 25}@x.example", {}
                )
                for n in range(300)
            )
        )

    try:
        asyncio.run(many())
    finally:
        writer.close()
    emails = contact_emails(project)
    assert sorted(e.casefold() for e in emails) == sorted(f"p{n}@x.example" for n in range(25))
    assert len(form_events(project)) == 300


def test_a_post_that_cannot_be_written_fails_alone(project: Project) -> None:
    writer = FormWriter(project.store, lambda: project.context(NOW))

    async def three() -> list[BaseException | None]:
        results = await asyncio.gather(
            writer.submit("Demo", "a@x.example", {"Seats": "3"}),
            writer.submit("Demo", "b@x.example", {"Seats": "a few"}),  # not a number
            writer.submit("Demo", "c@x.example", {"Seats": "4"}),
            return_exceptions=True,
        )
        return [r if isinstance(r, BaseException) else None for r in results]

    try:
        outcomes = asyncio.run(three())
    finally:
        writer.close()
    assert [type(o) for o in outcomes] == [type(None), FieldValueError, type(None)]
    assert contact_emails(project) == ["a@x.example", "c@x.example"]


def test_the_rate_limiter_refills_with_time_and_forgets_old_addresses() -> None:
    now = [0.0]
    limiter = RateLimiter(3, clock=lambda: now[0], max_addresses=2)
    assert [limiter.take("1.2.3.4") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("1.2.3.4") == pytest.approx(20.0)  # 3 a minute: one every 20 s
    assert limiter.take("5.6.7.8") == 0.0  # another address has its own bucket
    now[0] = 20.0
    assert limiter.take("1.2.3.4") == 0.0
    assert limiter.take("1.2.3.4") > 0  # empty again
    limiter.take("5.6.7.8")
    limiter.take("9.9.9.9")  # a third address: the least recently seen (1.2.3.4) is forgotten
    assert limiter.take("1.2.3.4") == 0.0
    assert RateLimiter(0).take("1.2.3.4") == 0.0  # 0: no limit


@pytest.mark.postgres
def test_a_store_that_cannot_take_the_post_says_it_was_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    import psycopg

    monkeypatch.setenv("JOURNEY_DATABASE_URL", postgres_url)
    opened = open_project(write_project(tmp_path), with_journeys=False)
    base, name = postgres_url.replace("+psycopg", "").rsplit("/", 1)
    try:
        with served(FormIntake(opened)) as url:
            assert requests.post(f"{url}/forms/Demo", data={"email": "a@x.example"}).ok
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            answer = requests.post(f"{url}/forms/Demo", data={"email": "b@x.example"})
    finally:
        opened.close()
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert "not kept" in answer.json()["error"]["message"]
