"""The editor server: ``journey lsp``, the Language Server Protocol over stdio.

Pipeline position: a front end beside the CLI, over the same library. Only ``journey
lsp`` imports this package (and so pygls), so the other commands start without it.

* ``lsp.server``: the protocol (pygls): diagnostics as you type, completion, hover, go to
  definition, formatting, the outline; the only module that knows the editor's units.
* ``lsp.project``: what the project knows — journey.toml, the schema, the org's names.
* ``lsp.context``: where the cursor stands in a line: which string, naming what.
* ``lsp.completion``, ``lsp.hover``, ``lsp.definition``, ``lsp.symbols``: one feature each.
"""

from __future__ import annotations

__all__: list[str] = []
