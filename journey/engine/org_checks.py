"""``journey.toml``'s names against the org: the users of ``[groups]`` and the Salesforce
fields of ``[sync.*]``.

Pipeline position: beside the checker, for the project file rather than a journey: ``journey
check`` adds these problems to the journeys' (``cli.language``), placed on the
``journey.toml`` line that names the user or field. They use the same ``Schema`` the
journeys are checked against (the embedded org's seed, or the last ``journey salesforce
refresh``); a kind the schema does not know gives nothing here — the round robin and the
sync report at run time what they meet.

A group's inactive user is an error, as in a journey: the round robin skips them at run
time (and says so), but a group the journey author believes has three people may have one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from journey.dsl.diagnostics import Diagnostic, Schema
from journey.dsl.hints import closest
from journey.engine.config_file import CONFIG_FILE, SYNC_OBJECTS
from journey.vocabulary import is_user_id

if TYPE_CHECKING:
    from journey.engine.config import ProjectConfig

__all__ = ["toml_lines", "toml_org_problems"]


def _place(lines: list[str], *needles: str) -> int:
    """The 1-based line holding every needle (quoted), else the first holding the last."""
    quoted = [f'"{n}"' for n in needles]
    for number, line in enumerate(lines, start=1):
        if all(q in line for q in quoted):
            return number
    for number, line in enumerate(lines, start=1):
        if quoted[-1] in line:
            return number
    return 1


def _has(name: str, known: frozenset[str]) -> bool:
    key = name.casefold()
    return any(key == k.casefold() for k in known)


def toml_lines(config: ProjectConfig) -> tuple[Path, list[str]]:
    """``journey.toml`` and its lines, for placing a problem on the line that names it."""
    toml = config.root / CONFIG_FILE
    try:
        return toml, toml.read_text(encoding="utf-8").split("\n")
    except OSError:  # pragma: no cover - load_config has just read it
        return toml, []


def toml_org_problems(config: ProjectConfig, schema: Schema) -> list[Diagnostic]:
    """Every inactive or unknown user of ``[groups]`` and every unknown Salesforce field
    of ``[sync.fields.*]`` and ``[sync.*] criteria``."""
    if not config.found:
        return []
    toml, lines = toml_lines(config)
    return _group_problems(config, schema, toml, lines) + _sync_problems(
        config, schema, toml, lines
    )


def _diagnostic(
    toml: Path, lines: list[str], number: int, message: str, hint: str | None, code: str
) -> Diagnostic:
    """A problem over the (indented) text of line ``number``; ``code`` is the journey's
    code for the same problem (a group's unknown user is one in a journey too)."""
    source = lines[number - 1] if 0 < number <= len(lines) else None
    column, end = 1, 0
    if source is not None:
        column = len(source) - len(source.lstrip()) + 1
        end = len(source.rstrip()) + 1
    return Diagnostic(str(toml), number, column, "error", message, hint, source, code, number, end)


def _group_problems(
    config: ProjectConfig, schema: Schema, toml: Path, lines: list[str]
) -> list[Diagnostic]:
    users = schema.users
    if users is None:
        return []
    ids_known = any(is_user_id(k) for k in users | schema.inactive_users)
    problems = []
    for group, members in config.groups.items():
        for member in members:
            number = _place(lines, member)
            if _has(member, schema.inactive_users):
                problems.append(
                    _diagnostic(
                        toml,
                        lines,
                        number,
                        f'group "{group}": user "{member}" is inactive in Salesforce',
                        "remove them from the group or reactivate them in Salesforce "
                        "(the round robin skips inactive users)",
                        "J402",
                    )
                )
            elif not _has(member, users) and (ids_known or not is_user_id(member)):
                near = closest(member, users)
                problems.append(
                    _diagnostic(
                        toml,
                        lines,
                        number,
                        f'group "{group}": unknown user "{member}"',
                        f"did you mean `{near}`?" if near else "name a user of the org",
                        "J401",
                    )
                )
    return problems


def _sync_problems(
    config: ProjectConfig, schema: Schema, toml: Path, lines: list[str]
) -> list[Diagnostic]:
    described = schema.salesforce_fields
    if described is None:
        return []
    problems = []
    for sobject in SYNC_OBJECTS:
        named = [(name, m.salesforce) for name, m in config.sync.mappings(sobject).items()]
        named += [("", c.field) for c in config.sync.object_sync(sobject).criteria]
        for contact_field, path in named:
            owner, _, field = path.rpartition(".")
            target = owner or sobject
            # The sync selects the field by its API name: a label does not count here.
            candidates = [f.name for f in described.get(target, ())]
            if target not in described or _has(field, frozenset(candidates)):
                continue
            near = closest(field, candidates)
            where = (
                f'[sync.fields.{sobject}] "{contact_field}"'
                if contact_field
                else (f"[sync.{sobject}] criteria")
            )
            problems.append(
                _diagnostic(
                    toml,
                    lines,
                    _place(lines, path),
                    f'{where}: {target} has no field "{field}"',
                    f"did you mean `{near}`?" if near else "name the field by its API name",
                    "J407",
                )
            )
    return problems
