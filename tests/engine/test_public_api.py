"""``__all__`` is deliberate: every exported name exists, once, and nothing private leaks.

Every module of the package is checked, found by walking it, so a new module
(``journey.engine.org_cache``, ``journey.connectors.authorise``, …) is held to the same
rule without being listed. Packages' ``__init__`` modules may leave ``__all__`` out (they
only describe their package); migration scripts are Alembic's, not an API.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import journey


def _modules() -> list[tuple[str, bool]]:
    """(module name, is a package) for every module of ``journey`` but migrations and
    ``__main__`` (importing it runs the command line)."""
    found = []
    for info in pkgutil.walk_packages(journey.__path__, "journey."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        found.append((info.name, info.ispkg))
    return sorted(found)


MODULES = _modules()


def test_the_walk_finds_the_modules_added_with_salesforce_as_documented() -> None:
    names = {name for name, _ in MODULES}
    assert {
        "journey.engine.org_cache",
        "journey.engine.org_checks",
        "journey.engine.paused_runs",
        "journey.connectors.authorise",
        "journey.connectors.salesforce.describe",
        "journey.connectors.salesforce.org_catalog",
        "journey.connectors.salesforce.oauth",
    } <= names


@pytest.mark.parametrize(("name", "package"), MODULES, ids=[name for name, _ in MODULES])
def test_every_exported_name_exists_and_is_public(name: str, package: bool) -> None:
    module = importlib.import_module(name)
    assert (module.__doc__ or "").strip(), f"{name} has no docstring"
    exported: list[str] | None = getattr(module, "__all__", None)
    if exported is None:
        assert package, f"{name} has no __all__"
        return
    assert len(exported) == len(set(exported)), f"{name} exports a name twice"
    for attribute in exported:
        assert not attribute.startswith("_"), attribute
        assert hasattr(module, attribute), f"{name}.{attribute} is exported but missing"
