"""Commands: journey check, fmt and graph."""

from __future__ import annotations

from cli.app import app  # noqa: F401
