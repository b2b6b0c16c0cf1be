"""Each module's ``__all__`` names what it defines: the public surface is deliberate."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "journey.connectors.factory",
    "journey.connectors.notify",
    "journey.connectors.scratch",
    *(
        f"journey.connectors.salesforce.{name}"
        for name in (
            "activities",
            "assignment",
            "batching",
            "budget",
            "capture",
            "connection",
            "connector",
            "conversion",
            "errors",
            "fields",
            "reconcile",
            "records",
            "state",
        )
    ),
    "journey.cli.connection",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist_and_are_unique(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported))
    assert [n for n in exported if not hasattr(module, n)] == []
    assert module.__doc__, f"{name} needs a docstring saying where it sits in the pipeline"
