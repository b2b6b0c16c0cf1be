"""What a ``journey`` process imports before it does its work: the guard on start-up.

Start-up is paid by every command, in every editor save hook and CI step, so the heavy
parts — SQLAlchemy, simple-salesforce and its HTTP stack, the emulated org's server and
store, OAuth and JWT — are imported only by the commands that use them. These tests run
real processes, list the modules each had imported when it exited, and hold the lists,
not the clock: a timed test would fail on a busy machine
and pass a slow change on a quiet one. ``bench/startup.py`` measures the time.

``journey check`` on the example project reads the embedded org's names from its seed,
so it imports the emulated org's seed reader and schema (``journey.emulator.seed``,
``journey.emulator.schema``), never the org itself.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

import journey.cli
from journey.cli import errors
from journey.cli.app import COMMANDS, app

EXAMPLE = Path(journey.__file__).parent / "example"

#: What no command that only reads journey files may import.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "simple_salesforce",
    "requests",
    "urllib3",
    "zeep",
    "authlib",
    "jwt",
    "cryptography",
    "networkx",
    "rich",
    "journey.engine.store",
    "journey.engine.runner",
    "journey.connectors.salesforce.connection",
    "journey.emulator.emulated_org",
    "journey.emulator.server",
    "journey.emulator.org",
    "journey.emulator.store",
    "journey.emulator.soql",
)

#: All that ``journey --version`` may import of journey itself: it answers before the app.
VERSION_ONLY = {"journey", "journey.__main__", "journey.cli", "journey.cli.main"}

#: What ``journey --version`` may not import besides: the CLI framework, the language.
NOT_FOR_THE_VERSION = ("typer", "click", "rich", "lark", "pydantic", "pydantic_core")

#: Typer's Pydantic coercion, which journey's own (``journey.cli.coercion``) stands in for.
TYPER_ADAPTERS = "typer._adapters"


#: ``python -m journey ARGS...``, which writes the names of every module it imported, at
#: exit, to the file named by ``$MODULES_OUT``.
PROBE = """
import atexit, json, os, runpy, sys
def dump():
    with open(os.environ["MODULES_OUT"], "w") as out:
        json.dump(sorted(sys.modules), out)
atexit.register(dump)
sys.argv[0] = "journey"
runpy.run_module("journey", run_name="__main__", alter_sys=True)
"""


def imported(args: list[str], cwd: Path, cache: Path) -> set[str]:
    """The modules a ``journey`` process has imported when it exits."""
    found = probed(args, cwd, cache)[0]
    assert "journey.cli.main" in found
    return found


def probed(args: list[str], cwd: Path, cache: Path) -> tuple[set[str], str]:
    """The modules a ``journey`` process (which must succeed) has imported when it exits,
    and what it printed."""
    out = cache.parent / "modules.json"
    env = {**os.environ, "JOURNEY_CACHE_DIR": str(cache), "MODULES_OUT": str(out)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return set(json.loads(out.read_text(encoding="utf-8"))), done.stdout


def under(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def heavy(modules: set[str]) -> list[str]:
    return under(modules, HEAVY)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLE, copy)
    return copy


@pytest.mark.parametrize("command", [["check", "journeys"], ["fmt", "--check", "journeys"]])
def test_checking_and_formatting_import_none_of_the_heavy_parts(
    project: Path, tmp_path: Path, command: list[str]
) -> None:
    modules = imported(command, project, tmp_path / "cache")
    assert heavy(modules) == []
    assert TYPER_ADAPTERS not in modules
    assert "journey.dsl.parser" in modules  # it did check the journeys


def test_checking_the_example_needs_no_configuration_models(project: Path, tmp_path: Path) -> None:
    """The example's ``journey.toml`` is one ``engine.config_view`` reads: ``check``
    loads neither Pydantic nor the configuration's models."""
    modules = imported(["check", "journeys"], project, tmp_path / "cache")
    assert under(modules, ("pydantic", "pydantic_core", "journey.engine.config")) == []


def test_formatting_reads_no_configuration(project: Path, tmp_path: Path) -> None:
    """``fmt`` rewrites text: it needs neither ``journey.toml``'s models nor the org's
    names, so it never loads Pydantic."""
    modules = imported(["fmt", "--check", "journeys"], project, tmp_path / "cache")
    assert under(modules, ("pydantic", "pydantic_core", "journey.engine.config")) == []
    assert under(modules, ("journey.engine.org_cache", "journey.emulator")) == []


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_the_version_imports_no_command(project: Path, tmp_path: Path, flag: str) -> None:
    modules = imported([flag], project, tmp_path / "cache")
    ours = {m for m in modules if m == "journey" or m.startswith("journey.")}
    assert ours <= VERSION_ONLY
    assert heavy(modules) == []
    assert under(modules, NOT_FOR_THE_VERSION) == []


def test_the_version_among_other_options_goes_through_the_app(
    project: Path, tmp_path: Path
) -> None:
    modules = imported(["--debug", "--version"], project, tmp_path / "cache")
    assert "journey.cli.app" in modules
    assert under(modules, ("journey.cli.language", "lark", "pydantic")) == []


def test_a_command_still_imports_what_it_needs(project: Path, tmp_path: Path) -> None:
    """The other side of the guard: ``journey status`` reads the store, so it loads it."""
    (project / ".journey").mkdir()
    modules = imported(["status", "--json"], project, tmp_path / "cache")
    assert "journey.cli.runs" in modules
    assert "journey.cli.language" not in modules
    # It shows the connection as last seen: no client, no login or OAuth stack.
    assert (
        under(modules, ("simple_salesforce", "requests", "authlib", "journey.cli.connection")) == []
    )


def test_every_registered_command_is_in_the_lazy_registry() -> None:
    """A command a module registers without a ``COMMANDS`` entry would be missing from
    ``journey`` until that module happened to be imported by another command."""
    for module in pkgutil.iter_modules(journey.cli.__path__, "journey.cli."):
        importlib.import_module(module.name)
    registered = set(typer.main.get_group(app).commands)
    assert registered == set(COMMANDS)


def test_every_library_error_the_cli_explains_still_exists() -> None:
    """``journey.cli.errors`` names the library's exceptions instead of importing them; a
    class renamed or moved would quietly become an internal error."""
    source = Path(errors.__file__).read_text(encoding="utf-8")
    named = re.findall(r'"(journey(?:\.\w+)+):(\w+)"', source)
    assert len(named) >= 12
    for module, name in named:
        kind = getattr(importlib.import_module(module), name)
        assert isinstance(kind, type)
        assert issubclass(kind, Exception)


def run_check(project: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journey", "check", "journeys", "--json"],
        cwd=project,
        env={**os.environ, "JOURNEY_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_parser_tables_are_kept_and_a_torn_cache_file_is_rebuilt(
    project: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = run_check(project, cache)
    assert (first.returncode, first.stderr) == (0, "")
    (kept,) = cache.glob("journey-grammar-*.lark-cache")
    kept.write_bytes(kept.read_bytes()[:200])  # as if a process died writing it
    second = run_check(project, cache)
    assert (second.returncode, second.stdout, second.stderr) == (0, first.stdout, "")
    assert kept.stat().st_size > 200  # written again, whole


def test_a_cache_folder_that_cannot_be_made_only_costs_time(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = run_check(project, blocker / "cache")
    assert (done.returncode, done.stderr) == (0, "")


#: Every module of journey's own that a dry run of a journey with no Salesforce step
#: imports (``engine.org_reads``): no connector, no store, no emulated org. A module
#: added here is one more that every such dry run loads before its first contact.
DRY_RUN_MODULES = {
    "journey",
    "journey.__main__",
    "journey.cache_dir",
    "journey.cli",
    "journey.cli.app",
    "journey.cli.coercion",
    "journey.cli.dryrun",
    "journey.cli.errors",
    "journey.cli.help",
    "journey.cli.main",
    "journey.cli.moments",
    "journey.dsl",
    "journey.dsl.checker",
    "journey.dsl.compiled",
    "journey.dsl.compiler",
    "journey.dsl.diagnostics",
    "journey.dsl.formatter",
    "journey.dsl.hints",
    "journey.dsl.limits",
    "journey.dsl.org_names",
    "journey.dsl.parser",
    "journey.dsl.pipeline",
    "journey.dsl.syntax",
    "journey.dsl.templates",
    "journey.dsl.text",
    "journey.dsl.transformer",
    "journey.dsl.walk",
    "journey.engine",
    "journey.engine.actions",
    "journey.engine.collector",
    "journey.engine.conditions",
    "journey.engine.config_file",
    "journey.engine.config_view",
    "journey.engine.contact",
    "journey.engine.contact_context",
    "journey.engine.csv_rows",
    "journey.engine.dryrun",
    "journey.engine.dryrun_contacts",
    "journey.engine.dryrun_json",
    "journey.engine.executor",
    "journey.engine.executor_plan",
    "journey.engine.field_values",
    "journey.engine.intake_rows",
    "journey.engine.journeys",
    "journey.engine.org_reads",
    "journey.engine.run_status",
    "journey.engine.segments",
    "journey.engine.sync",
    "journey.engine.sync.mapping",
    "journey.lark_cache",
    "journey.salesforce_ids",
    "journey.vocabulary",
}


def test_a_dry_run_without_salesforce_steps_imports_no_connector_store_or_org(
    project: Path, tmp_path: Path
) -> None:
    """A journey on the project's own fields and lists (none a Salesforce record holds):
    the dry run makes no connector and no scratch org, so it loads none of their layers;
    the journey.toml is one ``engine.config_view`` reads, so not the configuration's
    models either."""
    toml = project / "journey.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8") + '\n[fields]\n"Score" = "Number"\n"Region" = "Text"\n',
        encoding="utf-8",
    )
    (project / "journeys" / "routing.journey").write_text(
        'journey "Routing"\n\ntrigger added to list "Inbound"\n\n'
        'if field "Score" > 1000000:\n    update field "Region" to "Big"\n'
        '    add to list "Enterprise"\nelse:\n    add to list "Nurture"\n',
        encoding="utf-8",
    )
    contacts = project / "contacts.csv"
    contacts.write_text(
        "Email,Region,Score\na@x.example,United States,5\nb@x.example,France,2000000\n",
        encoding="utf-8",
    )
    command = ["dry-run", "journeys/routing.journey", "--contacts", str(contacts), "--json"]
    modules = imported(command, project, tmp_path / "cache")
    assert "journey.engine.dryrun" in modules
    no_org = ("sqlalchemy", "sqlmodel", "simple_salesforce", "requests", "urllib3", "pydantic")
    assert under(modules, (*no_org, "journey.connectors", "journey.emulator")) == []
    assert heavy(modules) == []
    ours = {m for m in modules if m == "journey" or m.startswith("journey.")}
    assert sorted(ours - DRY_RUN_MODULES) == []


# --- the run, the dry run and the import on the embedded org (issue "Performance") ------

#: bench/peer's routing journey: two conditions and four local actions, no Salesforce call.
ROUTING = Path(__file__).parents[1] / "bench" / "peer" / "routing.journey"
ROUTING_CONTACTS = (
    "Email,First Name,Last Name,Country,Annual Revenue\n"
    "ada@x.example,Ada,Lovelace,United States,5000\n"
    "bo@x.example,Bo,Diddley,France,2000000\n"
    "cy@x.example,Cy,Young,Germany,300000\n"
)

#: What a run of local steps on the embedded org never loads: the client and its HTTP,
#: SOAP and OAuth stacks, the mail stack, the org itself (``connectors.factory`` starts it
#: on first use). ``email`` itself is not here: ``importlib.metadata`` loads it for
#: SQLAlchemy; the composer (``email.mime``, ``notify.message``) is.
NOT_FOR_LOCAL_STEPS = (
    "simple_salesforce",
    "zeep",
    "requests",
    "urllib3",
    "authlib",
    "joserfc",
    "jwt",
    "cryptography",
    "smtplib",
    "email.mime",
    "lxml",
    "journey.emulator.emulated_org",
    "journey.emulator.server",
    "journey.connectors.salesforce.batching",
    "journey.connectors.salesforce.connection",
    "journey.connectors.salesforce.oauth",
    "journey.connectors.notify.delivery",
    "journey.connectors.notify.message",
    "journey.connectors.notify.smtp",
)

#: What no command on a SQLite store needs once the store is made (the revisions, which
#: name PostgreSQL's index options, load it): PostgreSQL's driver and SQLAlchemy's
#: dialect for it, 75 ms of imports that a model naming those options would load.
NOT_ON_SQLITE = ("psycopg", "sqlalchemy.dialects.postgresql")


def journey_cli(args: list[str], cwd: Path, cache: Path) -> str:
    """``journey ARGS``, which must succeed; what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "journey", *args],
        cwd=cwd,
        env={**os.environ, "JOURNEY_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def routing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project from ``journey init`` whose journeys/ holds only the routing journey, on
    the embedded emulated org, and a CSV of contacts for it."""
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    root = tmp_path / "routing"
    journey_cli(["init", str(root)], tmp_path, tmp_path / "cache")
    for made in (root / "journeys").glob("*.journey"):
        made.unlink()
    shutil.copy(ROUTING, root / "journeys" / "routing.journey")
    (root / "contacts.csv").write_text(ROUTING_CONTACTS, encoding="utf-8")
    return root


def test_importing_contacts_loads_no_connector(routing: Path, tmp_path: Path) -> None:
    """An import performs nothing on Salesforce: no connector, no org, no HTTP."""
    command = ["contacts", "import", "contacts.csv", "--list", "Inbound"]
    modules, printed = probed(command, routing, tmp_path / "cache")
    assert "3 created" in printed
    assert "journey.engine.csv_import" in modules
    assert under(modules, (*NOT_FOR_LOCAL_STEPS, "journey.connectors", "journey.emulator")) == []
    # journey init's journey.toml is one ``engine.config_view`` reads: no models, no Alembic
    # once the store exists (the second import).
    assert under(modules, ("pydantic", "journey.engine.config")) == []
    again = probed(command, routing, tmp_path / "cache")[0]
    assert under(again, ("pydantic", "journey.engine.config", "alembic", *NOT_ON_SQLITE)) == []


def test_a_run_of_local_steps_takes_the_contacts_through(routing: Path, tmp_path: Path) -> None:
    """The other side of the guard below: the run does its work. The first one makes and
    seeds the embedded org, but neither serves it nor loads a client: the org's file says
    it holds none of the new contacts, so none is looked up (``emulator.seeding``,
    ``connectors.sync.KnowsPersonEmails``)."""
    cache = tmp_path / "cache"
    journey_cli(["contacts", "import", "contacts.csv", "--list", "Inbound"], routing, cache)
    modules, printed = probed(["run", "--until-idle", "--json"], routing, cache)
    assert "journey.emulator.seeding" in modules  # it did make the org
    assert under(modules, (*NOT_FOR_LOCAL_STEPS, *NOT_ON_SQLITE)) == []
    report = json.loads(printed)
    assert (report["entered"], report["ended"], report["failed"]) == (3, 3, 0)
    status = json.loads(journey_cli(["status", "--json"], routing, cache))
    [routed] = status["journeys"]
    assert routed["runs"] == {"completed": 3}
    assert status["salesforce"]["embedded"] is True
    assert "Rating: Hot" in journey_cli(["contact", "bo@x.example"], routing, cache)


def test_an_idle_run_on_the_embedded_org_loads_no_client_org_or_mail(
    routing: Path, tmp_path: Path
) -> None:
    """What a scheduler's ``journey run --until-idle`` pays when nothing calls Salesforce:
    the connector is opened (and described), the org's lock held, but the org is not
    started, the client not made and the notifier not made."""
    cache = tmp_path / "cache"
    journey_cli(["contacts", "import", "contacts.csv", "--list", "Inbound"], routing, cache)
    journey_cli(["run", "--until-idle", "--json"], routing, cache)
    modules, printed = probed(["run", "--until-idle", "--json"], routing, cache)
    assert json.loads(printed)["runs"] == 0
    assert "journey.connectors.factory" in modules  # it did open the connector
    assert under(modules, NOT_FOR_LOCAL_STEPS) == []


def test_a_dry_run_on_the_embedded_org_loads_no_oauth_or_mail(
    routing: Path, tmp_path: Path
) -> None:
    """The routing journey reads Salesforce fields, so the dry run of a contact the org
    may hold (an email its seed names) reads a scratch copy of the org through
    simple-salesforce; it asks for no OAuth token and sends no mail, so neither Authlib
    (nor joserfc under it) nor the delivery stack is loaded. PyJWT and cryptography are:
    ``simple_salesforce.login`` imports them whenever simple-salesforce loads."""
    seed = json.loads((routing / "salesforce-seed.json").read_text(encoding="utf-8"))
    known = seed["User"][0]["Email"]
    with (routing / "contacts.csv").open("a", encoding="utf-8") as contacts:
        contacts.write(f"{known},Known,User,France,\n")
    command = ["dry-run", "journeys/routing.journey", "--contacts", "contacts.csv", "--json"]
    modules, printed = probed(command, routing, tmp_path / "cache")
    assert len(json.loads(printed)["contacts"]) == 4
    assert "simple_salesforce" in modules  # it did read the org
    unused = (
        "authlib",
        "joserfc",
        "smtplib",
        "email.mime",
        "journey.connectors.notify.delivery",
        "journey.connectors.notify.message",
        "journey.connectors.notify.smtp",
    )
    assert under(modules, unused) == []


def test_a_dry_run_of_contacts_the_embedded_org_cannot_hold_opens_no_org(
    routing: Path, tmp_path: Path
) -> None:
    """New contacts (no Salesforce ID, no email the org's seed gives a record): the routing
    journey's dry run has nothing to look up, so it makes no scratch org and loads no
    connector, no client and no database layer (``connectors.dry_run_reads``)."""
    command = ["dry-run", "journeys/routing.journey", "--contacts", "contacts.csv", "--json"]
    modules, printed = probed(command, routing, tmp_path / "cache")
    assert len(json.loads(printed)["contacts"]) == 3
    assert "journey.connectors.dry_run_reads" in modules  # it did ask the org's seed
    unopened = ("journey.connectors.factory", "journey.connectors.scratch")
    unopened += ("journey.engine.linking",)
    assert under(modules, (*NOT_FOR_LOCAL_STEPS, *unopened, "sqlalchemy", "pydantic")) == []
