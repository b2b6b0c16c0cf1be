"""Commands: journey salesforce renew / status of the Salesforce connection."""

from __future__ import annotations

from cli.app import salesforce_app  # noqa: F401
