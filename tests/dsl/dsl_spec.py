"""Where the product spec's acceptance journeys are (``../shared/spec`` beside the repo);
tests skip cleanly when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = (REPO / "../shared/spec").resolve()
ACCEPTANCE = SPEC / "acceptance"


def acceptance_files() -> list[Path]:
    return sorted(ACCEPTANCE.glob("*.journey")) if ACCEPTANCE.is_dir() else []


def invalid_files() -> list[Path]:
    return sorted((ACCEPTANCE / "invalid").glob("*.journey")) if ACCEPTANCE.is_dir() else []


def needs_spec() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not ACCEPTANCE.is_dir(), reason="../shared/spec is not here")
