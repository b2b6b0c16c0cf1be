"""``journey serve``: the project in a browser — journeys with live per-step counts,
contacts, failures and the Salesforce connection.

Pipeline position: store and catalog -> engine read models (``engine.status``,
``engine.failed_runs``) -> **serve** -> a person's browser. The pages only read, except
three actions that call the same library functions as the CLI (``journey retry``,
``journey salesforce renew``). ``app.create_app`` assembles the routes; ``security`` holds
the token, CSRF and Content-Security-Policy rules every response passes through.
"""

from __future__ import annotations

from journey.serve.app import create_app
from journey.serve.security import ServeSecurityError, is_loopback

__all__ = ["ServeSecurityError", "create_app", "is_loopback"]
