"""The org's names in a journey — users (inactive ones apart), queues, campaigns and their
member statuses, lead statuses, Salesforce fields — against a ``Schema`` that knows the
org (as the embedded seed or ``journey salesforce refresh`` gives it), and as warnings
when nothing knows it."""

from __future__ import annotations

import pytest

from journey.dsl import Diagnostic, Schema, compile_source
from journey.dsl.diagnostics import SalesforceField

HEAD = 'journey "J"\ntrigger added to list "A"\n'
ANN_ID = "0055E0000000001QAA"
OLD_ID = "0055E0000000009QAA"
ORG = Schema(
    users=frozenset({"ann@acme.example", "Ann Admin", ANN_ID, ANN_ID[:15]}),
    inactive_users=frozenset({"old@acme.example", "Old Timer", OLD_ID, OLD_ID[:15]}),
    queues=frozenset({"EMEA Queue", "emea@acme.example"}),
    campaigns=frozenset({"Q4 Webinar"}),
    member_statuses={"Q4 Webinar": frozenset({"Sent", "Registered", "Attended"})},
    lead_statuses=frozenset({"Open - Not Contacted", "Working - Contacted", "Qualified"}),
    salesforce_fields={
        "Lead": (
            SalesforceField("Status", "Lead Status"),
            SalesforceField("Rating", "Rating"),
            SalesforceField("Plan_Tier__c", "Plan Tier"),
            SalesforceField("Score__c", "Score", writable=False),
        ),
        "Contact": (
            SalesforceField("Title", "Title"),
            SalesforceField("Description", "Contact Description"),
        ),
    },
)


def problems(body: str, schema: Schema | None = ORG) -> list[Diagnostic]:
    return compile_source(HEAD + body, "j.journey", schema)[1]


def one(body: str, schema: Schema | None = ORG) -> Diagnostic:
    (problem,) = problems(body, schema)
    return problem


@pytest.mark.parametrize(
    "body",
    [
        'assign lead to "ann@acme.example"\n',
        'assign lead to "ann admin"\n',
        f'assign lead to "{ANN_ID}"\n',
        f'assign lead to "{ANN_ID[:15]}"\n',
        'assign lead to "EMEA Queue"\n',
        'add task "Call" assigned to "Ann Admin"\n',
        'add task "Call" assigned to lead owner\n',
        'set member status "Registered" in campaign "q4 webinar"\n',
        'assign lead to "ann@acme.example" lead status "Qualified"\n',
        'if campaign member status in "Q4 Webinar" is "Attended":\n    exit\n',
        'if field "Lead Status" is "Working - Contacted":\n    exit\n',
        'update salesforce field "Plan Tier" to "Gold"\n',
        'update salesforce field "Plan_Tier__c" to "Gold"\n',
        'update salesforce field "Title" to "Buyer"\n',
        'update salesforce field "Lead Status" to "Qualified"\n',
        'update salesforce field "{{Field}}" to "x"\n',
    ],
)
def test_what_the_org_holds_checks_cleanly(body: str) -> None:
    assert problems(body) == []


def test_an_inactive_user_is_an_error_naming_what_to_do() -> None:
    for body in (
        'assign lead to "old@acme.example"\n',
        'add task "Call" assigned to "Old Timer"\n',
        f'assign lead to "{OLD_ID}"\n',
    ):
        problem = one(body)
        assert problem.severity == "error"
        assert "is inactive in Salesforce" in problem.message
        assert problem.hint is not None
        assert "reactivate" in problem.hint
        assert "INACTIVE_OWNER_OR_USER" in problem.hint


def test_an_unknown_user_has_did_you_mean() -> None:
    problem = one('assign lead to "ann@acme.exmple"\n')
    assert (problem.severity, problem.message) == ("error", 'unknown user "ann@acme.exmple"')
    assert problem.hint == "did you mean `ann@acme.example`?"


def test_an_unknown_user_id_is_an_error_once_the_orgs_ids_are_known() -> None:
    problem = one('assign lead to "005000000000777AAA"\n')
    assert problem.message == 'unknown user "005000000000777AAA"'


def test_a_user_id_is_accepted_where_only_names_are_known() -> None:
    seed_like = Schema(users=frozenset({"ann@acme.example"}))
    assert problems('assign lead to "005000000000777AAA"\n', seed_like) == []


def test_a_queue_cannot_own_a_task() -> None:
    problem = one('add task "Call" assigned to "EMEA Queue"\n')
    assert problem.message == '"EMEA Queue" is a queue: a Task is owned by a user'


@pytest.mark.parametrize(
    ("body", "message", "hint"),
    [
        (
            'set member status "Atended" in campaign "Q4 Webinar"\n',
            'campaign "Q4 Webinar" has no member status "Atended"',
            "did you mean `Attended`?",
        ),
        (
            'trigger campaign member status changed "Q4 Webinar" to "Regstered"\n',
            'campaign "Q4 Webinar" has no member status "Regstered"',
            "did you mean `Registered`?",
        ),
        (
            'if campaign member status in "Q4 Webinar" is "Bounced":\n    exit\n',
            'campaign "Q4 Webinar" has no member status "Bounced"',
            "known statuses: Attended, Registered, Sent",
        ),
        (
            'set member status "Sent" in campaign "Q4 Webnar"\n',
            'unknown campaign "Q4 Webnar"',
            "did you mean `Q4 Webinar`?",
        ),
    ],
)
def test_unknown_campaigns_and_member_statuses(body: str, message: str, hint: str) -> None:
    problem = one(body)
    assert (problem.severity, problem.message, problem.hint) == ("error", message, hint)


@pytest.mark.parametrize(
    "body",
    [
        'assign lead to "ann@acme.example" lead status "Qualifed"\n',
        'assign lead to group "SDRs" lead status "Qualifed"\n',
        'if field "Lead Status" is "Qualifed":\n    exit\n',
        'trigger field changed "Lead Status" to "Qualifed"\n',
        'update salesforce field "Lead Status" to "Qualifed"\n',
    ],
)
def test_an_unknown_lead_status_is_an_error(body: str) -> None:
    schema = Schema(**{**vars(ORG), "groups": frozenset({"SDRs"})})
    problem = one(body, schema)
    assert (problem.message, problem.hint) == (
        'unknown lead status "Qualifed"',
        "did you mean `Qualified`?",
    )


def test_unknown_and_read_only_salesforce_fields() -> None:
    unknown = one('update salesforce field "Plan Teir" to "Gold"\n')
    assert unknown.message == (
        'unknown Salesforce field "Plan Teir": neither Lead nor Contact has it'
    )
    assert unknown.hint == "did you mean `Plan Tier`?"
    read_only = one('update salesforce field "Score__c" to "3"\n')
    assert read_only.message == 'Salesforce field "Score__c" is read-only (Lead.Score__c)'


def test_a_field_unknown_to_the_project_is_reported_once() -> None:
    """The project's own check comes first; the org's is not piled on top of it."""
    project = Schema(**{**vars(ORG), "fields": {"Rating": "Text"}})
    (problem,) = problems('update salesforce field "Plan Teir" to "Gold"\n', project)
    assert problem.message == 'unknown field "Plan Teir"'


def test_without_the_org_the_names_are_warnings_that_say_how_to_check_them() -> None:
    found = problems(
        'assign lead to "old@acme.example"\nset member status "X" in campaign "Nope"\n',
        Schema(),
    )
    assert [d.severity for d in found] == ["warning", "warning"]
    assert all("journey salesforce refresh" in (d.hint or "") for d in found)
