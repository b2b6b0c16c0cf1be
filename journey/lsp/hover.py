"""Hover: what the word under the cursor is — a field's type and where it comes from, a
user, group, segment or campaign as the project knows it, what a statement does.

Pipeline position: the editor server's hover (``lsp.server`` wraps the text in the
protocol's markup). Names are looked up where completion finds them (``lsp.project``);
a statement's meaning is the one line of docs/language.md's tables for it (a test holds
each of these phrases to that page, so the two say the same thing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from journey.dsl.hints import PHRASES, opening_phrase
from journey.lsp.completion import labels_of
from journey.lsp.context import StringAt, label_at, string_at
from journey.lsp.project import Project
from journey.vocabulary import CONTACTS_LIST, LEADS_LIST

__all__ = ["MEANINGS", "Hover", "hover"]


@dataclass(frozen=True)
class Hover:
    """Markdown for the words from column ``start`` to ``end`` of the hovered line."""

    text: str
    start: int
    end: int


#: What each statement does, in the words of docs/language.md.
MEANINGS: dict[str, str] = {
    "journey": "the journey's name; required, the first statement of the file, once",
    "trigger form submitted": "the contact submits the form (a Web-to-Lead form too)",
    "trigger added to list": "the contact is added to the list",
    "trigger entered segment": "the contact starts to match the segment (from `journey.toml`)",
    "trigger field changed": "the field's value changes (to the value, when one is given)",
    "trigger campaign member status changed": (
        "the Salesforce campaign member status changes (to the status, when one is given)"
    ),
    "entry once": "once ever (the default)",
    "entry always": "every time a trigger fires, once the previous run is over",
    "entry once every": "again only N days after the last entry",
    "goal": "a contact that meets the condition at any step leaves the journey, counted as "
    "reaching the goal",
    "if": "the first branch whose condition is true is taken",
    "else if": "the first branch whose condition is true is taken",
    "else": "the first branch whose condition is true is taken",
    "split": "a random split: one `path:` block per share, in order",
    "path": "a random split: one `path:` block per share, in order",
    "wait": "a durable delay: minutes, hours, days or weeks",
    "wait until": "waits until the condition holds or the time runs out, whichever comes first",
    "step": "names the step after it",
    "go to": "jumps there (`end`: the end of the journey)",
    "exit": "the contact leaves the journey here",
    "add to list": "adds the contact to the list",
    "remove from list": "removes the contact from the list",
    "update field": "changes the field in the engine's store",
    "update salesforce field": "updates the existing Salesforce record only",
    "assign lead to": "sets the owner of the contact's Lead",
    "assign lead to group": "round robin over the group's users (`journey.toml` `[groups]`)",
    "add task": "a Task on the record; by default the record's owner gets it",
    "set member status": "adds or updates the CampaignMember",
    "create opportunity": "converts a Lead (Contact, Account, Opportunity) as Salesforce does",
    "send notification": "an internal notification email, once per contact and step",
}

_LISTS = {
    LEADS_LIST.casefold(): "the contacts linked to a Salesforce Lead (the sync and actions "
    "fill it; a journey never removes anyone from it)",
    CONTACTS_LIST.casefold(): "the contacts linked to a Salesforce Contact (the sync and "
    "actions fill it; a journey never removes anyone from it)",
}


def _placeholder(line: str, column: int) -> tuple[str, int, int] | None:
    for match in re.finditer(r"\{\{([^{}]*)\}\}", line):
        if match.start() <= column <= match.end():
            return match.group(1).strip(), match.start(), match.end()
    return None


def _name(project: Project, at: StringAt) -> str | None:
    """What the project knows of the name in ``at``, in Markdown."""
    value, kind = at.value, at.kind
    key = value.casefold()
    catalog = project.catalog
    if kind == "field":
        known = project.fields.get(key)
        return f"**{known.name}** · {known.type}\n\n{known.source}" if known else None
    if kind == "salesforce field":
        described = project.schema.salesforce_fields or {}
        found = [
            f"`{sobject}.{f.name}` ({f.label}){'' if f.writable else ' · read-only'}"
            for sobject, fields in described.items()
            for f in fields
            if key in (f.name.casefold(), f.label.casefold())
        ]
        known = project.fields.get(key)
        if known:
            found.append(f"{known.type} · {known.source}")
        return f"**{value}**\n\n" + "\n\n".join(found) if found else None
    if kind == "group" and value in project.config.groups:
        members = project.config.groups[value]
        return f"**group {value}** · round robin over\n\n" + "\n".join(f"- {m}" for m in members)
    if kind == "segment":
        condition = {k.casefold(): v for k, v in project.config.segments.items()}.get(key)
        return f"**segment {value}**\n\n```journey\n{condition}\n```" if condition else None
    if kind == "list":
        return f"**list {value}**\n\n{_LISTS.get(key, 'a list of contacts')}"
    if catalog is None:
        return None
    if kind in ("user", "owner", "email"):
        for user in catalog.users:
            if key in (n.casefold() for n in user.names()):
                state = "active" if user.active else "**inactive** in Salesforce"
                return f"**{user.name}** · {user.email} · {state}\n\nuser `{user.id}`"
        for queue in catalog.queues:
            if key in (n.casefold() for n in queue.names()):
                return f"**queue {queue.name}** · {len(queue.members)} member(s)"
        return None
    if kind == "campaign":
        for campaign in catalog.campaigns:
            if campaign.name.casefold() == key:
                statuses = "\n".join(f"- {s}" for s in campaign.statuses)
                return f"**campaign {campaign.name}** · member statuses:\n\n{statuses}"
        return None
    if kind == "lead status":
        for status in catalog.lead_statuses:
            if key in (status.label.casefold(), status.api_name.casefold()):
                converted = " · converted" if status.converted else ""
                return f"**lead status {status.label}**{converted}"
    return None


def _statement(line: str, column: int) -> Hover | None:
    """The meaning of the statement whose opening words are under the cursor."""
    indent = len(line) - len(line.lstrip())
    words = opening_phrase(line)
    best = ""
    for phrase in PHRASES:
        if (words == phrase or words.startswith(phrase + " ")) and len(phrase) > len(best):
            best = phrase
    if not best or best not in MEANINGS:
        return None
    # The phrase's extent in the line as written (its words may be spaced out).
    parts = best.split()
    match = re.match(r"\s*" + r"\s+".join(map(re.escape, parts)), line, re.IGNORECASE)
    end = match.end() if match else indent + len(best)
    if not indent <= column <= end:
        return None
    return Hover(f"**{best}** · {MEANINGS[best]}", indent, end)


def hover(project: Project, lines: list[str], line_number: int, column: int) -> Hover | None:
    """What to show for the cursor at ``column`` of line ``line_number`` (0-based)."""
    line = lines[line_number] if line_number < len(lines) else ""
    placeholder = _placeholder(line, column)
    if placeholder is not None:
        name, start, end = placeholder
        known = project.fields.get(name.casefold())
        text = f"**{known.name}** · {known.type}\n\n{known.source}" if known else None
        return Hover(text, start, end) if text else None
    at = string_at(line, column)
    if at is not None and at.kind is not None:
        text = _name(project, at)
        return Hover(text, at.start, at.end) if text else None
    label = label_at(line, column)
    if label is not None and label[0] == "go to":
        _, name, start, end = label
        where = [n for n, found in labels_of(lines) if found == name]
        if name == "end":
            return Hover("**end** · the end of the journey", start, end)
        if where:
            return Hover(f"**step {name}** · line {where[0] + 1}", start, end)
        return None
    return _statement(line, column)
