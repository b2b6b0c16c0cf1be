"""Fixtures for ``journey serve``: the project (tests/serve/project.py), the app in-process
(Starlette's TestClient over its ASGI interface), and, for what a person sees, the real
``journey serve`` command on a free port driven by headless Chromium (``browser.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from journey.serve import create_app
from journey.serve.security import Security
from journey.serve.state import ServeState
from tests.serve.browser import (  # noqa: F401  (fixtures, re-exported for the tests here)
    browser,
    other_origin,
    page,
    screenshot,
    server,
)
from tests.serve.project import fill, write_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project (no runs yet), the current folder."""
    monkeypatch.delenv("JOURNEY_DATABASE_URL", raising=False)
    root = write_project(tmp_path / "project")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def filled(project: Path) -> Path:
    """The project with its history (``project.fill``)."""
    fill(project)
    return project


@contextmanager
def client_for(
    root: Path, token: str | None = None, base_url: str = "http://127.0.0.1:8080"
) -> Iterator[TestClient]:
    """The app over the project at ``root``, as ``journey serve`` assembles it."""
    state = ServeState.open(root)
    try:
        with TestClient(create_app(state, Security(token)), base_url=base_url) as test_client:
            yield test_client
    finally:
        state.close()


@pytest.fixture
def client(filled: Path) -> Iterator[TestClient]:
    with client_for(filled) as test_client:
        yield test_client
