"""The example project ``journey demo`` runs: ``journey.toml``, ``journeys/*.journey``,
the sample contacts and the emulated org's seed.

It ships inside the package (data files beside this module) so the demo runs in any
folder after ``pip install``, and it stays a plain project folder in the repository, so a
reader can browse it and run ``journey check journey/example/journeys`` on it.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

__all__ = ["SAMPLE_CONTACTS", "example_project"]

#: The sample contacts the demo imports, relative to the project.
SAMPLE_CONTACTS = "journeys/sample-contacts.csv"


def example_project() -> Traversable:
    """The example project's folder, read through ``importlib.resources`` so it works
    from a wheel, an editable install or a checkout alike."""
    return files(__name__)
