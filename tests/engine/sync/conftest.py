"""Fixtures for the sync tests: a world (store, emulated org, sync) per test, built by
``tests.engine.sync.world``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from journey.emulator import EmulatedOrg
from tests.engine.sync.world import SyncWorld, make_world


@pytest.fixture
def world_factory(tmp_path: Path) -> Iterator[Callable[..., SyncWorld]]:
    """``world_factory(sync={...}, seed={...})``: a fresh org + store + sync."""
    opened: list[tuple[EmulatedOrg, SyncWorld]] = []

    def factory(
        sync: dict[str, Any] | None = None, seed: dict[str, Any] | None = None, **kw: Any
    ) -> SyncWorld:
        org, build = make_world(tmp_path, sync, seed, **kw)
        world = build()
        opened.append((org, world))
        return world

    yield factory
    for org, world in opened:
        world.state.close()
        world.store.close()
        org.stop()


@pytest.fixture
def world(world_factory: Callable[..., SyncWorld]) -> SyncWorld:
    return world_factory()
