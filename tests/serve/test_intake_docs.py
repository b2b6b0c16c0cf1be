"""docs/forms.md cannot rot: its HTML form, filled in and posted as a browser would, is taken
and sends the visitor to its thank-you page; its table of Web-to-Lead names is the one the
intake reads."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests

from journey.engine.project import Project, open_project
from journey.engine.status import contact_report
from journey.serve.intake import FormIntake
from journey.serve.web_to_lead import WEB_TO_LEAD_FIELDS
from tests.serve.intake_support import form_events, served, write_project

DOC = Path(__file__).parents[2] / "docs" / "forms.md"


class _Form(HTMLParser):
    """The first form's action and its fields' names."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}
        self.names: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.action:
            self.action = attr["action"]
        elif tag in ("input", "select", "textarea") and "name" in attr:
            if attr.get("type") == "hidden":
                self.hidden[attr["name"]] = attr["value"]
            else:
                self.names.append(attr["name"])


def _first_block(language: str) -> str:
    match = re.search(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"no ```{language} block in {DOC.name}"
    return match.group(1)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    toml = '[fields]\n"Plan Tier" = "Text"\n\n' + _first_block("toml")
    opened = open_project(write_project(tmp_path, toml), with_journeys=False)
    yield opened
    opened.close()


def test_the_documented_form_is_taken_and_returns_to_its_page(project: Project) -> None:
    form = _Form()
    form.feed(_first_block("html"))
    filled = dict.fromkeys(form.names, "")
    filled.update(
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@initech.example",
            "company": "Initech",
            "Plan Tier": "Enterprise",
            "description": "A tour, please",
        }
    )
    path = urlsplit(form.action).path
    with served(FormIntake(project)) as url:
        answer = requests.post(url + path, data={**form.hidden, **filled}, allow_redirects=False)
    assert (answer.status_code, answer.headers["Location"]) == (303, form.hidden["retURL"])
    report = contact_report(project.store, "ada@initech.example")
    assert report is not None
    assert report.fields["Plan Tier"] == "Enterprise"
    assert form_events(project) == [(unquote(path.rsplit("/", 1)[1]), "ada@initech.example")]


def test_the_documented_web_to_lead_names_are_the_ones_read() -> None:
    documented: dict[str, str] = {}
    for row in re.findall(
        r"^  \| `(\w+)` \| ([^|]+) \| \| `(\w+)` \| ([^|]+) \|$", DOC.read_text(), re.M
    ):
        documented[row[0]] = row[1].strip()
        documented[row[2]] = row[3].strip()
    assert documented == dict(WEB_TO_LEAD_FIELDS)
