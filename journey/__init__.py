"""journey — git-native customer journeys for Salesforce.

The pipeline reads from the sub-packages in order: ``journey.dsl`` (journey text → syntax
tree → checked model → compiled graph), ``journey.engine`` (the store, triggers and runs, the
executor that decides, the runner that makes it durable, the sync), ``journey.connectors``
(the side-effect boundary: Salesforce through simple-salesforce, the dry run's scratch org, mail),
and ``journey.cli`` (the thin ``journey`` command). ``journey.emulator`` is a product of its
own: the emulated Salesforce org that is the embedded default and the ground of every test.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("journey-engine")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
