"""Commands: journey salesforce ...: the connection and the emulated org."""

from __future__ import annotations

from cli.app import app  # noqa: F401
