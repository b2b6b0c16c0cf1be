"""Commands: ``journey salesforce ...`` — the Salesforce connection and the emulated org.

Pipeline position: the thin shell around ``journey.emulator``: parse the
options, start the org, print what a client needs (one JSON line with ``--json``), serve
until Ctrl-C or SIGTERM. A bad seed, an unusable state folder or a busy port goes through the
one failure path (``journey.cli.errors``).
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from journey.cli.app import salesforce_app
from journey.cli.errors import fail
from journey.emulator import EmulatedOrg

__all__ = ["emulator"]

DEFAULT_PORT = 8443
DEFAULT_STATE = Path(".journey/emulator")


@salesforce_app.command(
    "emulator", epilog="Example: journey salesforce emulator --port 0 --seed salesforce-seed.json"
)
def emulator(
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", help="Port on 127.0.0.1; 0 takes a free port.")
    ] = DEFAULT_PORT,
    seed: Annotated[
        Path | None,
        typer.Option(
            "--seed",
            metavar="FILE",
            help="JSON seed applied when the state is new (docs/emulator.md).",
        ),
    ] = None,
    state: Annotated[
        Path,
        typer.Option(
            "--state", metavar="FOLDER", help="Folder for the org's database and TLS files."
        ),
    ] = DEFAULT_STATE,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON line: instance_url, session_id, ca_file.")
    ] = False,
) -> None:
    """Serve an emulated Salesforce org over HTTPS until stopped (Ctrl-C or SIGTERM)."""
    if not 0 <= port <= 65535:
        fail(f"--port must be between 0 and 65535, not {port}")
    try:
        org = EmulatedOrg(state, seed)
    except OSError as error:
        fail(f"cannot use the state folder: {error.strerror or error}", "file", where=str(state))
    try:
        endpoint = org.start(port)
    except OSError as error:
        org.stop()
        fail(
            f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}",
            hint="choose another --port, or --port 0 for a free one",
        )
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if json_output:
        typer.echo(json.dumps(endpoint.as_json()))
    else:
        typer.echo(f"Emulated Salesforce org at {endpoint.instance_url}")
        typer.echo(f"  session id  {endpoint.session_id}")
        typer.echo(f"  CA file     {endpoint.ca_file}")
        typer.echo(
            f"  admin       {endpoint.as_json()['admin_url']} "
            f"(header X-Emulator-Admin: {endpoint.admin_token})"
        )
        typer.echo(f"  state       {state}")
        typer.echo("Press Ctrl-C to stop.")
    try:
        while not stopped.wait(0.5):
            pass
    finally:
        org.stop()
    if not json_output:
        typer.echo("Stopped.")
