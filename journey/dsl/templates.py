"""``{{Field Name}}`` placeholders in an action's strings.

Pipeline position: the checker asks which fields a template names (unknown names are
errors where the schema is known); the engine renders each action's strings per contact
just before the connector is called. Names match case-insensitively, as every field name
in the language does; a missing or empty value renders as empty text, never as "None".
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["render_template", "template_fields"]

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s][^{}]*?)\s*\}\}")


def template_fields(template: str) -> list[str]:
    """The field names a template refers to, in order of first use, without repeats."""
    names: list[str] = []
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        if name and name not in names:
            names.append(name)
    return names


def render_template(template: str, values: Mapping[str, object | None]) -> str:
    """``template`` with each ``{{Field}}`` replaced by the contact's value."""
    folded = {key.casefold(): value for key, value in values.items()}

    def replace(match: re.Match[str]) -> str:
        value = folded.get(match.group(1).casefold())
        return "" if value is None else str(value)

    return _PLACEHOLDER.sub(replace, template)
