"""The executor's decisions: splits, loops, goals, waits, and each connector outcome."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from journey.connectors.base import EffectRequest, EffectResult
from journey.dsl.syntax import Action
from journey.emulator import EmulatedOrg
from journey.engine.contact import ContactView
from journey.engine.dryrun import dry_run
from journey.engine.intake import import_rows
from journey.engine.status import contact_report
from journey.engine.store import open_store
from tests.connectors.salesforce.conftest import build_connector
from tests.engine.engine_helpers import T0, LinkingJournal, compiled, context, make_runner
from tests.existing_org import existing_seed

SPLIT = """journey "AB test"
trigger form submitted "Demo"
split 50% / 30% / 20%:
    path:
        update field "Plan Tier" to "A"
    path:
        update field "Plan Tier" to "B"
    path:
        update field "Plan Tier" to "C"
"""


def _paths(emails: Sequence[str]) -> list[str]:
    views = [ContactView(id=i, email=e) for i, e in enumerate(emails)]
    report = dry_run(compiled(SPLIT), views, T0)
    return [next(r.outcome or "" for r in c.records if r.kind == "split") for c in report.contacts]


def test_split_lands_near_its_shares_over_10000_contacts() -> None:
    paths = _paths([f"person{i}@example.com" for i in range(10_000)])
    shares = Counter(paths)
    assert abs(shares["path 1"] - 5000) < 250
    assert abs(shares["path 2"] - 3000) < 250
    assert abs(shares["path 3"] - 2000) < 250


def test_split_is_deterministic_per_contact() -> None:
    emails = [f"p{i}@example.com" for i in range(200)]
    first = _paths(emails)
    assert _paths(list(reversed(emails))) == list(reversed(first))  # order does not matter
    assert _paths([e.upper() for e in emails]) == first  # nor the email's case


LOOP = """journey "Weekly"
trigger form submitted "Signup"
entry once
goal "Engaged" when field "Rating" is "Hot"
step weekly
wait 1 week
update field "Score" to "1"
if field "Unsubscribed" is true:
    exit
go to weekly
"""


def test_go_to_loops_until_a_goal_is_met(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    runner, _, _ = make_runner(store, LOOP)
    import_rows(store, [(2, {"Email": "a@x.example"})], context())
    from journey.engine.intake import submit_form

    submit_form(store, context(), "Signup", "a@x.example", {})
    runner.run_until_idle(T0)
    for week in range(1, 4):
        runner.run_until_idle(T0 + timedelta(weeks=week))
    report = contact_report(store, "a@x.example")
    assert report is not None
    waits = [a for a in report.activity if a["kind"] == "wait"]
    assert len(waits) == 4  # arrived at the labelled wait once, then three loops back
    assert report.runs[0]["status"] == "waiting"
    # The goal is met between passes: the contact leaves at the next check, not later.
    submit_form(
        store, context(T0 + timedelta(weeks=3, days=1)), "Other", "a@x.example", {"Rating": "Hot"}
    )
    runner.run_until_idle(T0 + timedelta(weeks=3, days=1))
    report = contact_report(store, "a@x.example")
    assert report is not None
    assert (report.runs[0]["status"], report.runs[0]["goal"]) == ("goal", "Engaged")
    store.close()


class _Refusing(LinkingJournal):
    """A connector whose org refuses some contacts, rate-limits others once."""

    def __init__(self) -> None:
        super().__init__()
        self.limited: set[str] = set()

    def perform(self, action: Action, requests: Sequence[EffectRequest]) -> list[EffectResult]:
        results = []
        for r in requests:
            email = r.contact.email or ""
            if email.startswith("bad"):
                results.append(
                    EffectResult(
                        r.key,
                        "failed",
                        error_code="INVALID_EMAIL_ADDRESS",
                        message=f"Lead: invalid email {email}",
                    )
                )
            elif email.startswith("busy") and email not in self.limited:
                self.limited.add(email)
                results.append(EffectResult(r.key, "retry", message="REQUEST_LIMIT_EXCEEDED"))
            else:
                results.extend(super().perform(action, [r]))
        return results


def test_failed_retry_and_skipped_outcomes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = """journey "Sync"
trigger added to list "Import"
add to list "Salesforce Leads"
update salesforce field "Rating" to "Warm"
"""
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    runner, _, _ = make_runner(store, source, connector=_Refusing())
    rows = [
        (2, {"Email": "bad@x.example"}),
        (3, {"Email": "busy@x.example"}),
        (4, {"Email": "ok@x.example"}),
    ]
    import_rows(store, rows, context(), "Import")
    first = runner.run_until_idle(T0)
    assert first.failed == 1
    bad = contact_report(store, "bad@x.example")
    assert bad is not None
    assert bad.runs[0]["status"] == "failed"
    assert "INVALID_EMAIL_ADDRESS: Lead: invalid email bad@x.example" in bad.activity[-1]["detail"]
    busy = contact_report(store, "busy@x.example")
    assert busy is not None
    assert busy.runs[0]["status"] == "active"
    runner.run_until_idle(T0 + timedelta(minutes=5))
    busy = contact_report(store, "busy@x.example")
    assert busy is not None
    assert busy.runs[0]["status"] == "completed"
    assert busy.salesforce["type"] == "Lead"
    store.close()


def test_update_salesforce_field_without_a_record_is_skipped_and_says_why(tmp_path: Path) -> None:
    source = """journey "J"
trigger form submitted "F"
update salesforce field "Rating" to "Warm"
"""
    with EmulatedOrg(seed=existing_seed()) as org:
        org.start()
        connector, _ = build_connector(org, tmp_path)
        view = ContactView(id=1, email="x@y.example")
        report = dry_run(compiled(source), [view], T0, connector=connector)
        connector.close()
    action = next(r for r in report.contacts[0].records if r.kind == "action")
    assert action.outcome == "skipped"
    assert "no Salesforce record" in action.detail
    assert report.contacts[0].status == "completed"


WAIT_UNTIL = """journey "Qualify"
trigger form submitted "Demo"
wait until field "Lead Status" is "Qualified" for at most 14 days
if field "Lead Status" is "Qualified":
    update field "Plan Tier" to "Sales"
else:
    update field "Plan Tier" to "Nurture"
"""


def test_wait_until_goes_on_when_the_contact_changes_or_time_runs_out(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from journey.engine.intake import submit_form

    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    runner, _, _ = make_runner(store, WAIT_UNTIL)
    for email in ("quick@x.example", "slow@x.example"):
        submit_form(store, context(), "Demo", email, {})
    runner.run_until_idle(T0)
    day3 = T0 + timedelta(days=3)
    submit_form(store, context(day3), "Call", "quick@x.example", {"Lead Status": "Qualified"})
    runner.run_until_idle(day3)  # woken by the change, long before its 14 days
    quick = contact_report(store, "quick@x.example")
    assert quick is not None
    assert quick.fields["Plan Tier"] == "Sales"
    assert quick.runs[0]["status"] == "completed"
    slow = contact_report(store, "slow@x.example")
    assert slow is not None
    assert slow.runs[0]["status"] == "waiting"
    runner.run_until_idle(T0 + timedelta(days=14))
    slow = contact_report(store, "slow@x.example")
    assert slow is not None
    assert slow.fields["Plan Tier"] == "Nurture"
    assert any("time ran out" in a["detail"] for a in slow.activity)
    store.close()
