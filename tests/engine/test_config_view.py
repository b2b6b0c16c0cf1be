"""``journey check`` reads the common ``journey.toml`` without the configuration's models
(``engine.config_view``): what it reads must be what ``load_config`` loads, and a file the
view does not vouch for — a bad one above all — must be left to ``load_config``, whose
messages say what is wrong and where."""

from __future__ import annotations

from pathlib import Path

import pytest

import journey
from journey.engine.config import SYNC_OBJECTS, ConfigError, load_config
from journey.engine.config_view import read_view

EXAMPLE = Path(journey.__file__).parent / "example" / "journey.toml"
NEW_PROJECT = Path(journey.__file__).parent / "engine" / "new_project" / "journey.toml"

VOUCHED = {
    "empty": "",
    "example": EXAMPLE.read_text(encoding="utf-8"),
    "new project": NEW_PROJECT.read_text(encoding="utf-8"),
    "fields": '[fields]\n"Plan Tier" = "Text"\nScore = "Number"\nSeen = "Date"\n'
    'Ok = "True/False"\n',
    "groups and segments": '[groups]\nSDR = ["a@x.example", "b@x.example"]\n'
    '[segments]\nHot = \'field "Rating" is "Hot"\'\n',
    "seed only": '[salesforce]\nseed = "seed.json"\ndefault_company = "ACME"\n',
    "empty seed": '[salesforce]\nseed = ""\n',
}

#: Valid, but beyond what the view reads: ``load_config`` reads them.
LEFT_TO_THE_MODELS = {
    "sync": '[sync]\nevery = "5m"\n',
    "store": '[store]\nurl = "sqlite:///x.db"\n',
    "a real org": '[salesforce]\ninstance_url = "https://acme.my.salesforce.com"\n'
    'session_id_env = "SF_SESSION"\n',
    "serve": "[serve]\nhoneypot = 'url'\n",
}

#: Refused by ``load_config``; the view must not take any of them.
REFUSED = {
    "group without users": '[groups]\n"Sales" = []\n',
    "unknown field type": '[fields]\nColour = "Colour"\n',
    "seed not text": "[salesforce]\nseed = 5\n",
    "segment not text": "[segments]\nHot = 1\n",
    "user not text": '[groups]\nSales = ["a@x.example", 1]\n',
    "unknown key": '[salesforce]\nbogus = "x"\n',
    "unknown section": "[bogus]\nx = 1\n",
    "field type as list": '[fields]\nColour = ["Text"]\n',
    "groups not a table": "groups = 5\n",
    "salesforce not a table": 'salesforce = "x"\n',
    "not toml": "[fields\n",
    "users not a list": '[groups]\nSales = "a@x.example"\n',
}


def project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "journey.toml").write_text(text, encoding="utf-8")
    journeys = tmp_path / "journeys"
    journeys.mkdir()
    return journeys


@pytest.mark.parametrize("name", VOUCHED)
def test_the_view_reads_what_the_models_load(tmp_path: Path, name: str) -> None:
    start = project(tmp_path, VOUCHED[name])
    view, config = read_view(start), load_config(start)
    assert view is not None
    assert (view.root, view.found) == (config.root, config.found)
    assert (view.groups, view.segments, view.fields) == (
        config.groups,
        config.segments,
        config.fields,
    )
    assert view.all_fields() == config.all_fields()
    assert (view.seed_path, view.state_dir) == (config.seed_path, config.state_dir)
    assert view.store_url == config.store_url
    sf = config.salesforce
    assert (view.salesforce.seed, view.salesforce.remote) == (sf.seed, sf.remote)
    assert (view.salesforce.instance_url, view.salesforce.kind) == (sf.instance_url, sf.kind)
    for sobject in SYNC_OBJECTS:
        assert view.sync.mappings(sobject) == config.sync.mappings(sobject)
        ours, theirs = view.sync.object_sync(sobject), config.sync.object_sync(sobject)
        assert (ours.mode, list(ours.criteria)) == (theirs.mode, theirs.criteria)


def test_without_a_journey_toml_the_view_is_the_default(tmp_path: Path) -> None:
    view, config = read_view(tmp_path), load_config(tmp_path)
    assert view is not None
    assert (view.root, view.found, view.groups) == (config.root, config.found, config.groups)
    assert view.store_url == config.store_url


@pytest.mark.parametrize("name", LEFT_TO_THE_MODELS)
def test_a_file_beyond_the_view_is_left_to_the_models(tmp_path: Path, name: str) -> None:
    start = project(tmp_path, LEFT_TO_THE_MODELS[name])
    assert read_view(start) is None
    load_config(start)  # and it is valid


@pytest.mark.parametrize("name", REFUSED)
def test_a_bad_file_is_left_to_the_models_that_say_why(tmp_path: Path, name: str) -> None:
    start = project(tmp_path, REFUSED[name])
    assert read_view(start) is None
    with pytest.raises(ConfigError):
        load_config(start)
