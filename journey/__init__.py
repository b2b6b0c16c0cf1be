"""journey — git-native customer journeys for Salesforce.

The pipeline reads from the sub-packages in order: ``journey.dsl`` (journey text → syntax
tree → checked model → compiled graph), ``journey.engine`` (the store, triggers and runs, the
executor that decides, the runner that makes it durable, the sync), ``journey.connectors``
(the side-effect boundary: Salesforce through simple-salesforce, the dry run's scratch org, mail),
and ``journey.cli`` (the thin ``journey`` command). ``journey.emulator`` is a product of its
own: the emulated Salesforce org that is the embedded default and the ground of every test.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # The version is read from the installed metadata on first use: importlib.metadata costs
    # every command a few tens of milliseconds, and only ``--version`` and packaging ask.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("journey-engine")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0+unknown"
    globals()["__version__"] = found
    return found
