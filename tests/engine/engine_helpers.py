"""Shared builders for engine tests: real stores, real compiled journeys, a recorder."""

from __future__ import annotations

from datetime import UTC, datetime

from journey.connectors.recording import RecordingConnector
from journey.dsl import CompiledJourney, compile_source
from journey.engine.conditions import Evaluator
from journey.engine.config import STANDARD_FIELDS
from journey.engine.contacts import ContactContext
from journey.engine.journeys import Catalog
from journey.engine.runner import Runner
from journey.engine.store import Store

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
    connector: RecordingConnector | None = None,
    evaluator: Evaluator | None = None,
) -> tuple[Runner, Catalog, RecordingConnector]:
    catalog = Catalog(store=store)
    for i, text in enumerate(sources):
        catalog.add(compiled(text), text, f"j{i}.journey")
    catalog.publish(T0)
    connector = connector or RecordingConnector({"SDRs": ["ann@acme.example", "bob@acme.example"]})
    runner = Runner(store, catalog, connector, evaluator or Evaluator(None, FIELDS), FIELDS)
    return runner, catalog, connector


def context(now: datetime = T0, evaluator: Evaluator | None = None) -> ContactContext:
    return ContactContext(FIELDS, evaluator or Evaluator(None, FIELDS), now)
