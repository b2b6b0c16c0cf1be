"""Runs stay on the version they entered, whatever formula gave that version its name.

A journey version hashes the language's step-id scheme with the source, so a store made
when versions hashed the source alone holds runs under names today's compiler never
gives; the engine finds them by name in ``journey_versions`` and recompiles the stored
source, so those runs go on where they were.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from journey.engine.intake import import_rows, submit_form
from journey.engine.status import contact_report
from journey.engine.store import JourneyVersion, Run, open_store
from tests.engine.engine_helpers import T0, context, make_runner

SOURCE = (
    'journey "Welcome"\n'
    'trigger form submitted "Signup"\n'
    "wait 2 days\n"
    'if field "Plan Tier" is "Gold":\n'
    '    update field "Nurture Stage" to "Gold"\n'
)


def test_a_run_pinned_to_a_source_only_version_still_runs(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    runner, catalog, _ = make_runner(store, SOURCE)
    import_rows(store, [(2, {"Email": "a@x.example", "Plan Tier": "Gold"})], context())
    submit_form(store, context(), "Signup", "a@x.example", {})
    runner.run_until_idle(T0)
    current = catalog.current["welcome"].version
    source_only = hashlib.sha256(SOURCE.encode("utf-8")).hexdigest()[:16]
    assert source_only != current
    # What a store made under the source-only formula holds: the run and its source
    # under the old name.
    jv, runs = JourneyVersion, Run
    with store.begin() as conn:
        conn.execute(sa.update(jv).where(jv.c.version == current).values(version=source_only))
        conn.execute(sa.update(runs).values(version=source_only))

    runner, catalog, _ = make_runner(store, SOURCE)  # today's engine opens that store
    runner.run_until_idle(T0 + timedelta(days=2))

    report = contact_report(store, "a@x.example")
    assert report is not None
    assert [(r["version"], r["status"]) for r in report.runs] == [(source_only, "completed")]
    assert report.fields["Nurture Stage"] == "Gold"
    assert [a["step"] for a in report.activity][-2:] == ["2.yes.1", "end"]
    # The recompiled old version answers to the name its runs hold, not today's hash.
    assert catalog.get(source_only).version == source_only
    store.close()
