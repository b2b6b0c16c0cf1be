"""``__all__`` is deliberate in the sync's modules: every exported name exists, nothing
private leaks, and each module says where it sits in the pipeline."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "journey.engine.sync",
    "journey.engine.sync.cycle",
    "journey.engine.sync.accounts",
    "journey.engine.sync.identity",
    "journey.engine.sync.inbound",
    "journey.engine.sync.members",
    "journey.engine.sync.merge",
    "journey.engine.sync.removal",
    "journey.engine.sync.mapping",
    "journey.engine.sync.outbound",
    "journey.engine.sync.records",
    "journey.connectors.sync",
    "journey.connectors.salesforce.replication",
    "journey.cli.sync",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists_and_is_public(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported))
    assert [n for n in exported if not hasattr(module, n)] == []
    assert [n for n in exported if n.startswith("_")] == []
    assert module.__doc__
    assert "Pipeline position" in module.__doc__ or name == "journey.engine.sync"


def test_the_engine_side_never_imports_simple_salesforce() -> None:
    import ast
    from pathlib import Path

    folder = Path(importlib.import_module("journey.engine.sync").__file__ or "").parent
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith(
                    ("simple_salesforce", "journey.connectors.salesforce")
                ), path
            elif isinstance(node, ast.Import):
                assert all(not a.name.startswith("simple_salesforce") for a in node.names), path
