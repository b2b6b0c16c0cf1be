"""Command: ``journey serve`` — the project in a browser (``journey.serve``).

Pipeline position: thin — load ``journey.toml``, settle the security rules for the address
(``journey.serve.security``: beyond loopback a token is required), open the project, bind
the port, print where the server is (``--json``: one object), then hand the socket to
uvicorn until Ctrl-C or SIGTERM. The token is never printed or logged.
"""

from __future__ import annotations

import json
import socket
from typing import Annotated

import typer

from journey.cli.app import JsonOpt, app
from journey.cli.errors import fail
from journey.engine.config import load_config

__all__ = ["serve_command"]


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as error:
        sock.close()
        fail(
            f"cannot listen on {host}:{port}: {error.strerror}",
            "usage",
            hint="choose another --port, or stop what listens there",
        )
    sock.listen(128)
    return sock


@app.command(
    "serve",
    epilog="Example: journey serve --port 8080. Bound to an address other than 127.0.0.1, "
    "every page asks for the token held by the variable [serve] token_env names "
    "(docs/serve.md).",
)
def serve_command(
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="The address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=0, max=65535, help="0: any free port.")
    ] = 8080,
    as_json: JsonOpt = False,
) -> None:
    """The project in a browser: live journey counts, contacts, failures, Salesforce."""
    import uvicorn  # only this command needs the web stack

    from journey.serve import ServeSecurityError, create_app
    from journey.serve.security import security_for
    from journey.serve.state import ServeState

    config = load_config()
    try:
        security = security_for(config, host)
    except ServeSecurityError as error:
        fail(str(error), "config", hint='docs/serve.md, "Security"')
    state = ServeState.open()
    try:
        sock = _bind(host, port)
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{bound}/"
        if as_json:
            typer.echo(json.dumps({"url": url, "token_required": security.token_required}))
        else:
            needs = "; it asks for its token" if security.token_required else ""
            typer.echo(f"serving {config.root} at {url}{needs} (Ctrl-C stops)")
        server = uvicorn.Server(
            uvicorn.Config(create_app(state, security), log_level="warning", lifespan="off")
        )
        server.run(sockets=[sock])
    finally:
        state.close()
