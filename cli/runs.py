"""Commands: journey run, worker, status, contact, contacts import, event, dry-run."""

from __future__ import annotations

from cli.app import app  # noqa: F401
