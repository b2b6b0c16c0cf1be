"""Reading a line as it is being typed: which string the cursor is in and what it names,
decided by the words before it — also in a line that does not parse yet."""

from __future__ import annotations

import pytest

from journey.lsp.context import code_end, label_at, string_at, strings


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ('assign lead to group "SD', "group"),
        ('ASSIGN  LEAD TO "ann', "owner"),
        ('add task "Call" due in 2 days assigned to "', "user"),
        ('    if field "Sc', "field"),
        ('update salesforce field "Pl', "salesforce field"),
        ('trigger field changed "Lead Status" to "Wo', "lead status"),
        ('if field "Lead Status" is not "', "lead status"),
        ('assign lead to "ann@acme.example" lead source "Web" lead status "', "lead status"),
        ('trigger campaign member status changed "Q4', "campaign"),
        ('trigger campaign member status changed "Q4 Webinar" to "', "member status"),
        ('goal "x" when campaign member status in "Q4 Webinar" is "', "member status"),
        ('remove from list "', "list"),
        ('if not in list "', "list"),
        ('trigger entered segment "', "segment"),
        ('trigger form submitted "', "form"),
        ('send notification "Hi" to "', "email"),
        ('add task "Call {{Fir', "template"),
        ('add task "Call', None),
    ],
)
def test_the_words_before_a_string_say_what_it_names(line: str, kind: str | None) -> None:
    found = string_at(line, len(line))
    assert found is not None
    assert found.kind == kind


def test_a_member_status_knows_its_campaign_from_either_side() -> None:
    before = 'if campaign member status in "Q4 \\"Live\\" Webinar" is "At'
    found = string_at(before, len(before))
    assert found is not None
    assert found.campaign == 'Q4 "Live" Webinar'
    after = 'set member status "Att" in campaign "Q4 Webinar"'
    found = string_at(after, 22)
    assert found is not None
    assert (found.kind, found.campaign, found.value) == ("member status", "Q4 Webinar", "Att")


def test_strings_are_read_with_their_escapes_and_stop_at_a_comment() -> None:
    line = 'update field "Note" to "say \\"hi\\" # not a comment"  # a comment "x"'
    found = strings(line)
    assert [(s.kind, s.value, s.closed) for s in found] == [
        ("field", "Note", True),
        (None, 'say "hi" # not a comment', True),
    ]
    assert line[code_end(line) :] == '# a comment "x"'


def test_after_a_closing_quote_the_cursor_is_outside_the_string() -> None:
    line = 'add to list "Nurture" '
    assert string_at(line, len(line)) is None
    assert string_at(line, len(line) - 2) is not None


def test_a_step_name_is_found_on_step_and_go_to_lines() -> None:
    assert label_at("    go to weekly", 12) == ("go to", "weekly", 10, 16)
    assert label_at("step weekly  # every week", 5) == ("step", "weekly", 5, 11)
    assert label_at('add to list "weekly"', 14) is None
