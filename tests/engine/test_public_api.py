"""``__all__`` is deliberate: every exported name exists, and nothing private leaks."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "journey.connectors.base",
    "journey.connectors.recording",
    "journey.emulator.assignment",
    "journey.emulator.evaluate",
    "journey.emulator.formula",
    "journey.emulator.org",
    "journey.emulator.write_checks",
    "journey.engine.actions",
    "journey.engine.change_effects",
    "journey.engine.conditions",
    "journey.engine.contact",
    "journey.engine.contact_loading",
    "journey.engine.contacts",
    "journey.engine.dryrun",
    "journey.engine.executor",
    "journey.engine.field_values",
    "journey.engine.intake",
    "journey.engine.journeys",
    "journey.engine.project",
    "journey.engine.runner",
    "journey.engine.sql_batches",
    "journey.engine.status",
    "journey.engine.store",
    "journey.engine.triggers",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists_and_is_public(name: str) -> None:
    module = importlib.import_module(name)
    exported: list[str] = module.__all__
    assert exported, f"{name} exports nothing"
    for attribute in exported:
        assert not attribute.startswith("_"), attribute
        assert hasattr(module, attribute), f"{name}.{attribute} is exported but missing"
