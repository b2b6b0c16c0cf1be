"""The plan for people: text for a terminal, Markdown for a pull request's comment.

Pipeline position: ``engine.plan.diff`` -> ``Plan`` -> **render** -> ``journey plan``
(``--json`` is ``Plan.as_dict``). Both say the same things in the same order: each journey
added, changed or removed, its steps, the runs in flight and their fate with and without
``journey publish --migrate``, and the Salesforce actions the edit introduces.
"""

from __future__ import annotations

from pathlib import Path

from journey.engine.plan.model import JourneyChange, Plan, RunGroup

__all__ = ["markdown", "text"]

_MARK = {"added": "+", "changed": "~", "removed": "-"}


def _short(version: str | None) -> str:
    return (version or "")[:8]


def _shown(path: str, base: Path | None) -> str:
    """A path from ``base`` when it is under it (the current folder, for people)."""
    if base is None:
        return path
    try:
        return Path(path).resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path


def _against(plan: Plan) -> str:
    if plan.base == "store":
        return "the versions published in the store"
    return f"the journeys at git revision {plan.base.removeprefix('git:')}"


def _counts(plan: Plan) -> str:
    kinds = ("added", "changed", "removed", "unchanged")
    found = [(k, sum(j.change == k for j in plan.journeys)) for k in kinds]
    return ", ".join(f"{n} {k}" for k, n in found if n) or "no journeys"


def _migrated(group: RunGroup) -> str:
    """What ``journey publish --migrate`` does with them."""
    if group.migrate_to is None:
        return f"stay ({group.reason})" if group.reason else "stay"
    return f'move to "{group.migrate_to}" in the new version'


def _noun(count: int) -> str:
    return "run" if count == 1 else "runs"


def _totals(plan: Plan) -> str:
    staying = sum(j.staying for j in plan.journeys)
    moving = sum(j.migrating for j in plan.journeys)
    total = staying + moving
    if not total:
        return "in flight: no runs on a version other than the new one"
    return (
        f"in flight: {total} {_noun(total)} stay on the version they entered with "
        f"(with journey publish --migrate: {moving} move, {staying} stay)"
    )


def _text_journey(journey: JourneyChange, base: Path | None) -> list[str]:
    where = _shown(journey.path, base)
    head = f'{_MARK.get(journey.change, "=")} journey "{journey.name}" ({where}): {journey.change}'
    if journey.change == "changed":
        head += f", version {_short(journey.before)} -> {_short(journey.after)}"
    out = [head]
    if journey.steps:
        out.append("    steps:")
        for step in journey.steps:
            said = {
                "added": step.after,
                "removed": step.before,
                "changed": f"{step.before}  ->  {step.after}",
            }[step.change]
            flight = journey.in_flight(step.step_id) if step.change != "added" else 0
            tail = f" ({flight} {_noun(flight)} in flight)" if flight else ""
            out.append(f"      {_MARK[step.change]} {step.step_id}: {said}{tail}")
    if journey.runs:
        out.append("    in-flight runs:")
        for g in journey.runs:
            out.append(
                f'      {g.runs} {g.status} at "{g.step_id}" ({g.step}) on {_short(g.version)}: '
                f"stay on their version; with --migrate they {_migrated(g)}"
            )
    if journey.salesforce_actions:
        out.append("    Salesforce actions it introduces:")
        out.extend(f"      {action}" for action in journey.salesforce_actions)
    return out


def text(plan: Plan, base: Path | None = None) -> str:
    """The plan as ``journey plan`` prints it (paths from ``base``, the current folder)."""
    out = [f"plan against {_against(plan)}: {_counts(plan)}"]
    for journey in plan.journeys:
        if journey.change != "unchanged" or journey.runs:
            out.extend(_text_journey(journey, base))
    if not plan.changes:
        out.append("publishing changes nothing")
    out.append(_totals(plan))
    return "\n".join(out) + "\n"


def _cell(value: str) -> str:
    """``value`` safe in a Markdown table cell (GFM: an escaped pipe)."""
    return value.replace("|", "\\|")


def _code(value: str | None, in_table: bool = False) -> str:
    """``value`` as a Markdown code span; ``in_table``: in a table cell, whose pipes GFM
    reads as column breaks unless escaped (elsewhere the escape would show)."""
    if not value:
        return ""
    fence = "``" if "`" in value else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{_cell(value) if in_table else value}{pad}{fence}"


def _markdown_journey(journey: JourneyChange, base: Path | None) -> list[str]:
    title = f"#### {journey.change.capitalize()}: {_code(journey.name)}"
    if journey.change == "changed":
        title += f" ({_code(_short(journey.before))} → {_code(_short(journey.after))})"
    out = [title, "", _code(_shown(journey.path, base)), ""]
    if journey.steps:
        out += ["| step | change | before | after | in flight |", "|---|---|---|---|---|"]
        for step in journey.steps:
            flight = journey.in_flight(step.step_id) if step.change != "added" else 0
            out.append(
                f"| {_code(step.step_id)} | {step.change} | {_code(step.before, True)} "
                f"| {_code(step.after, True)} | {flight or ''} |"
            )
        out.append("")
    if journey.runs:
        out += [
            "| runs | status | version | at step | `journey publish` | "
            "`journey publish --migrate` |",
            "|---|---|---|---|---|---|",
        ]
        for g in journey.runs:
            out.append(
                f"| {g.runs} | {g.status} | {_code(_short(g.version))} "
                f"| {_code(g.step_id)} {_code(g.step, True)} | stay on their version "
                f"| {_cell(_migrated(g))} |"
            )
        out.append("")
    if journey.salesforce_actions:
        out += ["Salesforce actions it introduces:", ""]
        out += [f"- {_code(action)}" for action in journey.salesforce_actions]
        out.append("")
    return out


def markdown(plan: Plan, base: Path | None = None) -> str:
    """The plan as a pull request comment (``journey plan --markdown``)."""
    out = ["### journey plan", "", f"Against {_against(plan)}: **{_counts(plan)}**.", ""]
    for journey in plan.journeys:
        if journey.change != "unchanged" or journey.runs:
            out += _markdown_journey(journey, base)
    if not plan.changes:
        out += ["Publishing changes nothing.", ""]
    out.append(_totals(plan)[0].upper() + _totals(plan)[1:] + ".")
    return "\n".join(out) + "\n"
