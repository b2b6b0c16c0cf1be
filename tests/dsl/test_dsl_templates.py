"""``{{Field}}`` placeholders."""

from __future__ import annotations

from journey.dsl import render_template, template_fields


def test_template_fields_in_order_without_repeats() -> None:
    assert template_fields("{{Company}} - {{ First Name }} {{company}} {{Company}}") == [
        "Company",
        "First Name",
        "company",
    ]


def test_render_is_case_insensitive_and_missing_is_empty() -> None:
    values = {"first name": "Ada", "Company": None, "Amount": 12}
    text = "Hi {{First Name}} of {{Company}} ({{Amount}}) {{Nope}}."
    assert render_template(text, values) == "Hi Ada of  (12) ."


def test_text_without_placeholders_is_unchanged() -> None:
    assert render_template("{ not } {{ }} plain", {}) == "{ not } {{ }} plain"
