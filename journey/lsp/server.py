"""The language server: ``journey lsp``, speaking the Language Server Protocol over stdio.

Pipeline position: a thin adapter, like the CLI, over the same library: diagnostics are
``journey check``'s (``dsl.compile_source`` against the project's schema, plus the
problems of its ``journey.toml``), formatting is ``journey fmt``'s (``dsl.format_source``);
completion, hover, definition and the outline read the text and the project
(``lsp.completion``, ``lsp.hover``, ``lsp.definition``, ``lsp.symbols``, ``lsp.project``).
pygls does the protocol. Positions inside the library are characters (code points); the
editor's units (UTF-16 by default) are converted here only.

A journey is checked on open, on every change and on save, from the editor's text (not
the file on disk). Problems of ``journey.toml`` (a group's unknown user, a segment that is
not a condition) are published on journey.toml itself, as ``check`` prints them there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from journey import __version__
from journey.dsl import Diagnostic, JourneyError, compile_source, format_source
from journey.dsl.diagnostics import help_url
from journey.dsl.syntax import NO_SPAN, Span
from journey.lsp.completion import Candidate, complete
from journey.lsp.definition import definition
from journey.lsp.hover import hover
from journey.lsp.project import Project, load
from journey.lsp.symbols import Symbol, symbols

__all__ = ["JourneyServer", "make_server", "serve"]

_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "note": types.DiagnosticSeverity.Information,
}
#: Codes of code that never runs: editors grey it out.
_UNNECESSARY = frozenset({"J502"})
_SORTS = {
    "keyword": types.CompletionItemKind.Keyword,
    "field": types.CompletionItemKind.Field,
    "value": types.CompletionItemKind.Value,
    "user": types.CompletionItemKind.Constant,
    "reference": types.CompletionItemKind.Reference,
    "unit": types.CompletionItemKind.Unit,
}
_SYMBOLS = {
    "journey": types.SymbolKind.Module,
    "trigger": types.SymbolKind.Event,
    "goal": types.SymbolKind.Boolean,
    "step": types.SymbolKind.Function,
    "block": types.SymbolKind.Namespace,
}


class JourneyServer(LanguageServer):
    """The server, with the files other than open documents it has published problems on
    (journey.toml), so it can clear them once they are fixed."""

    def __init__(self) -> None:
        super().__init__("journey", __version__)
        self.elsewhere: dict[str, set[str]] = {}


def _path(uri: str) -> Path | None:
    found = to_fs_path(uri) if uri.startswith("file:") else None
    return Path(found) if found else None


def _lines(document: TextDocument) -> list[str]:
    return [line.removesuffix("\r") for line in document.source.split("\n")]


def _position(
    lines: Sequence[str], line: int, column: int, document: TextDocument
) -> types.Position:
    """The editor's position of 0-based ``line`` and character ``column``."""
    if line >= len(lines):
        return types.Position(line=max(len(lines) - 1, 0), character=0)
    text = lines[line]
    return types.Position(
        line=line, character=document.position_codec.client_num_units(text[: max(column, 0)])
    )


def _range(
    lines: Sequence[str], document: TextDocument, start: tuple[int, int], end: tuple[int, int]
) -> types.Range:
    return types.Range(
        start=_position(lines, *start, document=document),
        end=_position(lines, *end, document=document),
    )


def _diagnostic(
    found: Diagnostic, lines: list[str], document: TextDocument | None
) -> types.Diagnostic:
    # The checker reads the text without a byte-order mark; the editor counts it.
    shift = 1 if document is not None and document.source.startswith("\ufeff") else 0
    start_shift = shift if found.line == 1 else 0
    end_shift = shift if found.end_line == 1 else 0
    start = (found.line - 1, found.column - 1 + start_shift)
    end = (found.end_line - 1, found.end_column - 1 + end_shift)
    if document is not None:
        where = _range(lines, document, start, end)
    else:  # a file the editor has not opened: its characters are taken as they are
        where = types.Range(
            start=types.Position(line=start[0], character=start[1]),
            end=types.Position(line=end[0], character=end[1]),
        )
    message = found.message + (f"\nhint: {found.hint}" if found.hint else "")
    return types.Diagnostic(
        range=where,
        message=message,
        severity=_SEVERITY[found.severity],
        code=found.code or None,
        code_description=(types.CodeDescription(href=help_url(found.code)) if found.code else None),
        source="journey",
        tags=[types.DiagnosticTag.Unnecessary] if found.code in _UNNECESSARY else None,
    )


def check_document(server: JourneyServer, uri: str) -> None:
    """Check the open document ``uri`` and publish its problems, and those of its
    project's files (journey.toml, the org's cache) on those files."""
    document = server.workspace.get_text_document(uri)
    path = _path(uri)
    project = load(path)
    name = str(path) if path is not None else uri
    _, found = compile_source(document.source, name, project.schema)
    mine = [_diagnostic(d, _lines(document), document) for d in found if d.path == name]
    server.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=mine, version=document.version)
    )
    others: dict[str, list[Diagnostic]] = {}
    for problem in project.problems:
        if problem.path != name and problem.severity != "note":  # a note is for the terminal
            others.setdefault(Path(problem.path).resolve().as_uri(), []).append(problem)
    for other in server.elsewhere.get(uri, set()) - set(others):
        others[other] = []  # fixed since: cleared
    for other, problems in others.items():
        opened = server.workspace.text_documents.get(other)
        lines = _lines(opened) if opened is not None else []
        converted = [_diagnostic(p, lines, opened) for p in problems]
        server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=other, diagnostics=converted)
        )
    server.elsewhere[uri] = {other for other, problems in others.items() if problems}


def _candidate(
    found: Candidate, lines: list[str], document: TextDocument, line: int, column: int
) -> types.CompletionItem:
    edit = types.TextEdit(
        range=_range(lines, document, (line, found.start), (line, column)), new_text=found.text
    )
    return types.CompletionItem(
        label=found.label,
        kind=_SORTS[found.sort],
        detail=found.detail or None,
        text_edit=edit,
        filter_text=found.text,
    )


def _span_range(lines: list[str], document: TextDocument, span: Span) -> types.Range:
    if span == NO_SPAN:
        return _range(lines, document, (0, 0), (0, 0))
    return _range(
        lines, document, (span.line - 1, span.column - 1), (span.end_line - 1, span.end_column - 1)
    )


def _symbol(found: Symbol, lines: list[str], document: TextDocument) -> types.DocumentSymbol:
    whole = _span_range(lines, document, found.span)
    chosen = _span_range(lines, document, found.selection)
    if (chosen.start.line, chosen.start.character) < (whole.start.line, whole.start.character):
        chosen = whole
    return types.DocumentSymbol(
        name=found.name,
        detail=found.detail or None,
        kind=_SYMBOLS[found.kind],
        range=whole,
        selection_range=chosen,
        children=[_symbol(c, lines, document) for c in found.children],
    )


def _cursor(
    server: JourneyServer, uri: str, position: types.Position
) -> tuple[TextDocument, Project, list[str], int, int]:
    document = server.workspace.get_text_document(uri)
    lines = _lines(document)
    column = document.position_codec.position_from_client_units(document.lines, position).character
    return document, load(_path(uri)), lines, position.line, column


def make_server() -> JourneyServer:
    """A server with every feature registered (``serve`` runs it on stdio)."""
    server = JourneyServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: JourneyServer, params: types.DidOpenTextDocumentParams) -> None:
        check_document(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: JourneyServer, params: types.DidChangeTextDocumentParams) -> None:
        check_document(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: JourneyServer, params: types.DidSaveTextDocumentParams) -> None:
        check_document(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: JourneyServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=['"', " ", "{"]),
    )
    def completion(ls: JourneyServer, params: types.CompletionParams) -> types.CompletionList:
        document, project, lines, line, column = _cursor(
            ls, params.text_document.uri, params.position
        )
        found = complete(project, lines, line, column)
        items = [_candidate(c, lines, document, line, column) for c in found]
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: JourneyServer, params: types.HoverParams) -> types.Hover | None:
        document, project, lines, line, column = _cursor(
            ls, params.text_document.uri, params.position
        )
        found = hover(project, lines, line, column)
        if found is None:
            return None
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=found.text),
            range=_range(lines, document, (line, found.start), (line, found.end)),
        )

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: JourneyServer, params: types.DefinitionParams) -> types.Location | None:
        uri = params.text_document.uri
        document, project, lines, line, column = _cursor(ls, uri, params.position)
        found = definition(project, lines, line, column)
        if found is None:
            return None
        if found.path is None:
            where = _range(lines, document, (found.line, found.start), (found.line, found.end))
            return types.Location(uri=uri, range=where)
        target = found.path.resolve().as_uri()
        where = types.Range(
            start=types.Position(line=found.line, character=found.start),
            end=types.Position(line=found.line, character=found.end),
        )
        return types.Location(uri=target, range=where)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(
        ls: JourneyServer, params: types.DocumentFormattingParams
    ) -> list[types.TextEdit] | None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        try:
            formatted = format_source(document.source, params.text_document.uri)
        except JourneyError:
            return None  # the diagnostics already say why it does not parse
        if formatted == document.source:
            return []
        lines = document.source.split("\n")
        end = types.Position(
            line=len(lines) - 1, character=document.position_codec.client_num_units(lines[-1])
        )
        whole = types.Range(start=types.Position(line=0, character=0), end=end)
        return [types.TextEdit(range=whole, new_text=formatted)]

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbols(
        ls: JourneyServer, params: types.DocumentSymbolParams
    ) -> list[types.DocumentSymbol]:
        document = ls.workspace.get_text_document(params.text_document.uri)
        lines = _lines(document)
        return [_symbol(s, lines, document) for s in symbols(document.source)]

    return server


def serve() -> None:
    """Run the server on stdin/stdout until the editor shuts it down."""
    make_server().start_io()
