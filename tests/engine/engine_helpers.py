"""Shared builders for engine tests: real stores, real compiled journeys, the journaling
connector (the engine under test, not Salesforce's answers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from journey.connectors.base import (
    Connector,
    ContactChanges,
    EffectRequest,
    EffectResult,
)
from journey.connectors.recording import JournalingConnector
from journey.dsl import CompiledJourney, compile_source
from journey.dsl.syntax import Action, AddToList
from journey.engine.conditions import Evaluator
from journey.engine.config import STANDARD_FIELDS
from journey.engine.contacts import ContactContext
from journey.engine.journeys import Catalog
from journey.engine.runner import Runner
from journey.engine.store import Store

C = TypeVar("C", bound=Connector)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIELDS: dict[str, str] = {
    **STANDARD_FIELDS,
    "Plan Tier": "Text",
    "Score": "Number",
    "Signed Up": "Date",
    "Nurture Stage": "Text",
}


def compiled(text: str, path: str = "test.journey") -> CompiledJourney:
    journey, diagnostics = compile_source(text, path)
    errors = [d for d in diagnostics if d.severity == "error"]
    assert journey is not None, errors
    return journey


def make_runner(
    store: Store,
    *sources: str,
    connector: C | None = None,
    evaluator: Evaluator | None = None,
) -> tuple[Runner, Catalog, C | JournalingConnector]:
    catalog = Catalog(store=store)
    for i, text in enumerate(sources):
        catalog.add(compiled(text), text, f"j{i}.journey")
    catalog.publish(T0)
    chosen: C | JournalingConnector = connector or JournalingConnector()
    runner = Runner(store, catalog, chosen, evaluator or Evaluator(None, FIELDS), FIELDS)
    return runner, catalog, chosen


def context(now: datetime = T0, evaluator: Evaluator | None = None) -> ContactContext:
    return ContactContext(FIELDS, evaluator or Evaluator(None, FIELDS), now)


class LinkingJournal(JournalingConnector):
    """The journal, answering an add to "Salesforce Leads" with a new Lead for the contact:
    a stand-in for what an org answers, so engine tests see the engine write an answer
    back onto the contact. What a real org answers is tested on the emulated org
    (tests/connectors, tests/engine/test_dryrun_agrees.py)."""

    def perform(self, action: Action, requests: Sequence[EffectRequest]) -> list[EffectResult]:
        results = super().perform(action, requests)
        if not (isinstance(action, AddToList) and action.list_name == "Salesforce Leads"):
            return results
        return [
            replace(
                result,
                changes=ContactChanges(
                    salesforce_id=f"00Q5E00000{request.contact.id:05d}", salesforce_type="Lead"
                ),
            )
            for request, result in zip(requests, results, strict=True)
        ]
