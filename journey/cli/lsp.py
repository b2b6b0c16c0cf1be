"""Command: journey lsp — the editor server (docs/editors.md shows each editor's setup).

Pipeline position: the thin shell around ``journey.lsp``: imported lazily inside the
command, so pygls is loaded by this command only.
"""

from __future__ import annotations

from typing import Annotated

import typer

from journey.cli.app import app

__all__ = ["lsp"]


@app.command(epilog="Example: journey lsp (started by the editor; see docs/editors.md)")
def lsp(
    stdio: Annotated[
        bool,
        typer.Option("--stdio", help="Accepted for editors that pass it: stdio is the transport."),
    ] = False,
) -> None:
    """Serve editors over stdio: checks as you type, completion, hover, definitions.

    The language server for journey files; docs/editors.md shows each editor's setup."""
    from journey.lsp.server import serve  # pygls only for this command

    serve()
