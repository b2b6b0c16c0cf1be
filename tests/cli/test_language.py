"""``journey check``, ``fmt``, ``graph`` and ``demo`` as a user runs them: real files in
temporary folders, real ``journey.toml`` files, the exit codes and the printed text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from typer.testing import CliRunner

import journey.cli.language  # noqa: F401  (registers check, fmt, graph)
from journey.cli.app import app

REPO = Path(__file__).resolve().parents[2]
SPEC = (REPO / "../shared/spec/acceptance").resolve()
needs_spec = pytest.mark.skipif(not SPEC.is_dir(), reason="../shared/spec is not here")

runner = CliRunner()

VALID = 'journey "J"\ntrigger added to list "A"\nupdate field "Plan Tier" to "Pro"\n'


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    output = result.output
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, output


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journey.toml").write_text(
        '[fields]\n"Plan Tier" = "Text"\n[groups]\n"SDRs" = ["ann@acme.example"]\n'
    )
    return tmp_path


@needs_spec
def test_check_passes_every_acceptance_journey() -> None:
    code, output = run("check", *map(str, sorted(SPEC.glob("*.journey"))))
    assert code == 0, output
    assert "0 error(s)" in output


@needs_spec
@pytest.mark.parametrize("path", sorted((SPEC / "invalid").glob("*.journey")), ids=lambda p: p.stem)
def test_check_fails_every_invalid_journey_at_its_place(path: Path) -> None:
    where, word = path.read_text().splitlines()[0].removeprefix("# expect-error: ").split(" ", 1)
    code, output = run("check", str(path))
    assert code == 1
    first = output.splitlines()[0]
    assert first.startswith(f"{path}:{where}: error: ")
    block = "\n".join(output.splitlines()[:4]).lower()
    assert word.lower() in block


def test_check_output_shape(tmp_path: Path, snapshot: SnapshotAssertion) -> None:
    (tmp_path / "typo.journey").write_text(
        'journey "Typo"\ntrigger added to list "A"\n\nif field "Lead Owner" is empty:\n'
        '    asign lead to group "SDRs"\nwait 2 dayz\n'
    )
    code, output = run("check", str(tmp_path / "typo.journey"))
    assert code == 1
    assert output.replace(str(tmp_path), "TMP") == snapshot


def test_check_json_lists_diagnostics(tmp_path: Path) -> None:
    path = tmp_path / "j.journey"
    path.write_text('journey "J"\nadd to list "A"\n')
    code, output = run("check", "--json", str(path))
    assert code == 1
    (problem,) = json.loads(output)
    assert problem["line"] == 1
    assert problem["severity"] == "error"
    assert "trigger" in problem["message"]


def test_warnings_fail_only_with_strict(tmp_path: Path) -> None:
    path = tmp_path / "j.journey"
    path.write_text(VALID)
    code, output = run("check", str(path))
    assert code == 0
    assert 'warning: unknown field "Plan Tier"' in output
    assert run("check", "--strict", str(path))[0] == 1


def test_check_inside_a_project_uses_journey_toml(project: Path) -> None:
    good = project / "journeys" / "good.journey"
    good.write_text(VALID + 'assign lead to group "SDRs"\n')
    assert run("check", "--strict", str(good)) == (
        0,
        "checked 1 journey: 0 error(s), 0 warning(s)\n",
    )
    bad = project / "journeys" / "bad.journey"
    bad.write_text(VALID + 'update field "Plan Teir" to "x"\nassign lead to group "SDR"\n')
    code, output = run("check", str(project))
    assert code == 1
    assert 'error: unknown field "Plan Teir"' in output
    assert "did you mean `Plan Tier`?" in output
    assert 'error: unknown group "SDR"' in output


def test_bad_journey_toml_is_a_clear_error(project: Path) -> None:
    (project / "journey.toml").write_text("[fields]\nx = 'Colour'\n")
    path = project / "journeys" / "j.journey"
    path.write_text(VALID)
    code, output = run("check", str(path))
    assert code == 2
    assert "journey.toml" in output
    assert "fields.x" in output


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("binary.journey", b"\xff\xfe\x00\x01", "not UTF-8"),
        ("empty.journey", b"", "starts with `journey"),
        ("nul.journey", b'journey "J"\n\x00\n', "U+0000"),
    ],
)
def test_any_file_content_gives_a_message(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    code, output = run("check", str(tmp_path / name))
    assert code == 1
    assert message in output


def test_missing_paths_and_empty_folders(tmp_path: Path) -> None:
    code, output = run("check", str(tmp_path / "nope.journey"), str(tmp_path))
    assert code == 1
    assert "no such file or folder" in output
    assert "no *.journey files here" in output


def test_fmt_check_lists_files_and_fmt_rewrites(tmp_path: Path) -> None:
    messy = tmp_path / "messy.journey"
    messy.write_text('JOURNEY "J"\nTRIGGER added to list "A"\nWAIT 1 WEEKS\n')
    tidy = tmp_path / "tidy.journey"
    tidy.write_text('journey "J"\n\ntrigger added to list "A"\n\nwait 1 week\n')
    code, output = run("fmt", "--check", str(tmp_path))
    assert (code, output) == (1, f"would reformat {messy}\n")
    code, output = run("fmt", str(tmp_path))
    assert (code, output) == (0, f"reformatted {messy}\n")
    assert messy.read_text() == tidy.read_text()
    assert run("fmt", "--check", "--json", str(tmp_path)) == (
        0,
        json.dumps({"would_change": [], "diagnostics": []}, indent=2) + "\n",
    )


def test_fmt_leaves_invalid_files_alone(tmp_path: Path) -> None:
    path = tmp_path / "bad.journey"
    path.write_text('journey "J"\nwait 2 dayz\n')
    code, output = run("fmt", str(path))
    assert code == 1
    assert f"{path}:2:8: error:" in output
    assert path.read_text() == 'journey "J"\nwait 2 dayz\n'


@needs_spec
def test_graph_mermaid(snapshot: SnapshotAssertion) -> None:
    code, output = run("graph", str(SPEC / "webinar-nurture.journey"))
    assert code == 0
    assert output.startswith("flowchart TD\n")
    assert output == snapshot


@needs_spec
def test_graph_dot_and_json_to_a_file(tmp_path: Path) -> None:
    code, output = run("graph", str(SPEC / "demo-request.journey"), "--format", "dot")
    assert code == 0
    assert output.startswith('digraph "Demo request follow-up" {')
    target = tmp_path / "graph.json"
    code, _ = run("graph", str(SPEC / "demo-request.journey"), "--json", "-o", str(target))
    assert code == 0
    data = json.loads(target.read_text())
    assert data["start"] == "1"
    assert {n["id"] for n in data["graph"]["nodes"]} >= {"1", "3.else-if.1", "end"}


def test_graph_of_an_invalid_journey_says_where_and_why(tmp_path: Path) -> None:
    """A journey that does not compile cannot be drawn: exit 2, like every command given a
    journey it cannot compile (``check`` is the one that lists problems, exit 1)."""
    path = tmp_path / "j.journey"
    path.write_text('journey "J"\nexit\n')
    code, output = run("graph", str(path))
    assert code == 2
    assert f"error: {path}:1:1:" in output
    assert "no `trigger`" in output


def test_check_reports_a_segment_that_is_not_a_condition(project: Path) -> None:
    (project / "journey.toml").write_text('[segments]\n"Hot" = \'field "Rating" iz "Hot"\'\n')
    path = project / "journeys" / "j.journey"
    path.write_text(VALID.replace("Plan Tier", "Rating"))
    code, output = run("check", str(path))
    assert code == 1
    assert f'{project / "journey.toml"}:2:1: error: segment "Hot" is not a condition' in output


ORG_JOURNEY = """journey "Owners"
trigger added to list "A"
assign lead to "{user}"
set member status "Sent" in campaign "{campaign}"
"""


@pytest.mark.parametrize(
    ("user", "campaign", "expected"),
    [
        ("bob@acme.example", "Q4 Webinar", None),
        ("Bob Baker", "q4 webinar", None),
        ("005000000000001AAA", "Q4 Webinar", None),
        ("bob@acme.exmple", "Q4 Webinar", "did you mean `bob@acme.example`?"),
        ("bob@acme.example", "Q5 Webinar", 'campaign "Q5 Webinar"'),
    ],
)
def test_check_holds_users_and_campaigns_against_the_embedded_orgs_seed(
    project: Path, user: str, campaign: str, expected: str | None
) -> None:
    (project / "seed.json").write_text(
        json.dumps(
            {
                "User": [
                    {"Name": "Bob Baker", "Email": "bob@acme.example", "connected": True},
                    {"Name": "Ann Admin", "Email": "ann@acme.example"},  # of [groups] "SDRs"
                ],
                "Campaign": [{"Name": "Q4 Webinar", "statuses": ["Sent"]}],
            }
        )
    )
    with (project / "journey.toml").open("a") as toml:
        toml.write('[salesforce]\nseed = "seed.json"\n')
    path = project / "journeys" / "owners.journey"
    path.write_text(ORG_JOURNEY.format(user=user, campaign=campaign))
    code, output = run("check", str(path))
    if expected is None:
        assert (code, output.strip()) == (0, "checked 1 journey: 0 error(s), 0 warning(s)")
    else:
        assert code == 1
        assert "error:" in output
        assert expected in output


def test_a_field_mapped_for_the_sync_checks_and_loads_in_the_engine(project: Path) -> None:
    from journey.engine.config import load_config
    from journey.engine.journeys import load_catalog
    from journey.engine.store import open_store

    with (project / "journey.toml").open("a") as toml:
        toml.write('[sync.fields.Lead]\n"Shoe Size" = { salesforce = "Shoe_Size__c" }\n')
    path = project / "journeys" / "shoes.journey"
    path.write_text(
        'journey "Shoes"\ntrigger added to list "A"\nif field "Shoe Size" is "9":\n    exit\n'
    )
    assert run("check", str(path))[0] == 0
    config = load_config(project)
    store = open_store(f"sqlite:///{project / 'state.db'}")
    try:
        assert "shoes" in {key.casefold() for key in load_catalog(config, store).current}
    finally:
        store.close()
