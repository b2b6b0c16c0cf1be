"""Commands: journey demo: the main job on embedded defaults."""

from __future__ import annotations

from cli.app import app  # noqa: F401
