"""The pipeline's one-way data flow, held by the imports: the dsl knows nothing of the
engine, the engine never reaches Salesforce except through the connector interface, and
the emulated org is a product of its own that imports nothing else from ``journey``
(docs/emulator.md), so it can be lifted out or run standalone."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import journey

PACKAGE = Path(journey.__file__).parent


def _imports(folder: Path) -> Iterator[tuple[Path, int, str]]:
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield path, node.lineno, node.module
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, node.lineno, alias.name


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("emulator", ("journey.dsl", "journey.engine", "journey.connectors", "journey.cli")),
        ("dsl", ("journey.engine", "journey.connectors", "journey.cli", "journey.emulator")),
        ("engine", ("simple_salesforce", "journey.connectors.salesforce", "journey.cli")),
        # connectors may start the emulated org: it is the embedded default.
        ("connectors", ("journey.cli",)),
        # the web pages sit beside the CLI: both call the same library, neither the other.
        ("serve", ("journey.cli",)),
    ],
)
def test_a_package_never_imports_what_sits_after_it(
    package: str, forbidden: tuple[str, ...]
) -> None:
    crossings = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
        for path, line, module in _imports(PACKAGE / package)
        if module == "journey" or any(module == f or module.startswith(f"{f}.") for f in forbidden)
    ]
    assert crossings == []
