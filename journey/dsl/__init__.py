"""The journey language: source text -> syntax tree -> checked model -> compiled graph.

The dsl knows nothing of the engine or of Salesforce; it turns ``*.journey`` text into a
``CompiledJourney`` (``dsl.compiled``) or a list of diagnostics saying where and why not.

Stages, each testable alone:

* ``dsl.parser`` (grammar ``journey.lark``) and ``dsl.transformer``: text -> syntax tree
  (``dsl.syntax``); ``parse``, ``parse_condition``. ``dsl.text``: each node's one-line
  text, for the compiler's steps, the formatter's lines and the engine's feed.
* ``dsl.walk``: the one walk over nested blocks, giving every step its id; the checker
  and the compiler both read the journey through it.
* ``dsl.checker``: every meaning problem, against a ``Schema``.
* ``dsl.compiler``: the step graph (``CompiledJourney``); ``compile_source``,
  ``compile_file``.
* ``dsl.formatter``: back to canonical text, each line's text from ``dsl.text``;
  ``format_source``.
* ``dsl.draw``: Mermaid, Graphviz DOT and node-link JSON of a compiled journey.
* ``dsl.templates``: ``{{Field Name}}`` placeholders; ``render_template``.
"""

from __future__ import annotations

from journey.dsl.compiled import END, CompiledJourney, Step
from journey.dsl.diagnostics import Diagnostic, JourneyError, Schema
from journey.dsl.parser import parse_condition
from journey.dsl.pipeline import compile_file, compile_source, format_source, parse
from journey.dsl.templates import render_template, template_fields

__all__ = [
    "END",
    "CompiledJourney",
    "Diagnostic",
    "JourneyError",
    "Schema",
    "Step",
    "compile_file",
    "compile_source",
    "format_source",
    "parse",
    "parse_condition",
    "render_template",
    "template_fields",
]
