"""An org's state made and seeded without serving it: what a command that must know now
whether the seed is good, but may never call the org, needs of it.

Pipeline position: beside ``emulated_org``, which opens every org through ``open_org``; the
embedded org of a new project is made with ``make_org`` (``connectors.factory``) and
served later, by the first call, if any. Only the records' layers (``store``, ``org``,
``seed``, ``edition``) are loaded here: no API surface, no HTTPS server, no TLS.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from journey.emulator import edition
from journey.emulator.org import Clock, Org
from journey.emulator.seed import apply_seed, load_seed
from journey.emulator.store import ORG_FILE, Store

__all__ = ["make_org", "open_org"]


def open_org(
    store: Store, seed: Mapping[str, Any] | Path | None, clock: Clock | None, version: str
) -> Org:
    """The org kept in ``store``, seeded first when it is new (a restarted org keeps its
    state and is not seeded again). Raises ``SeedError`` for a seed it cannot take."""
    org = Org(store, clock, version)
    if store.meta("connected_user") is None:
        apply_seed(org, load_seed(seed))
    org.configure()
    edition.ensure_organization(org)
    return org


def make_org(state_dir: Path, seed: Mapping[str, Any] | Path | None, *, version: str) -> None:
    """The org's state in ``state_dir`` (owner-only: it holds the org's secrets), made and
    seeded if new. Raises ``SeedError``; the folder is left as it was then."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    store = Store(state_dir / ORG_FILE)
    try:
        open_org(store, seed, None, version)
    finally:
        store.close()
