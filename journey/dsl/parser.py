"""Source text -> syntax tree, with errors that say where and what to do.

Pipeline position: **text -> syntax tree** (``dsl.transformer`` builds the nodes), the first
stage of the language. The grammar lives in ``journey.lark``; the LALR parser is built once
per process (``lru_cache``) from tables cached on disk (``journey.lark_cache``). Before lark sees
the text, a line scan reports what lark would explain badly — a tab in indentation, an
unterminated string — and collects ``#`` comments for the formatter. Lark's exceptions
never leave this module: they become ``Diagnostic``s with "expected one of …" and "did you
mean …?" hints (``dsl.hints``). (The transformer walks lark's tree itself, so there is no
``VisitError`` to unwrap.)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

from lark import Lark, Token, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.indenter import Indenter

from journey.dsl.diagnostics import Diagnostic, JourneyError, at, at_span
from journey.dsl.hints import describe_expected, describe_found, opening_phrase, suggest
from journey.dsl.limits import depth_problem
from journey.dsl.syntax import Comment, Condition, Span
from journey.dsl.transformer import BuildError, Document, JourneyTransformer
from journey.lark_cache import cache_file

__all__ = ["journey_parser", "parse_condition", "parse_document", "split_lines"]

_GRAMMAR = Path(__file__).with_name("journey.lark")


class _IndentMismatchError(Exception):
    def __init__(self, line: int, column: int) -> None:
        super().__init__("indentation mismatch")
        self.line = line
        self.column = column


class _TooDeepError(Exception):
    """The file nests deeper than ``dsl.limits.MAX_DEPTH``: one diagnostic, no stand-ins
    (the nesting would still be there)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class JourneyIndenter(Indenter):
    """Turns indentation into ``_INDENT``/``_DEDENT`` tokens placed at the indented line
    (not at the previous line's end, where lark's own Indenter puts them), so "unexpected
    indentation" points at the right place. Tabs never get here (the line scan refuses
    them); parentheses do not continue lines."""

    NL_type = "_NL"
    OPEN_PAREN_types: list[str] = []  # noqa: RUF012  (lark reads these as class attributes)
    CLOSE_PAREN_types: list[str] = []  # noqa: RUF012
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 4

    def handle_NL(self, token: Token) -> Iterator[Token]:  # noqa: N802  (lark's name)
        yield token
        indent_str = token.rsplit("\n", 1)[1]
        indent = len(indent_str)
        line, column = token.end_line or 0, token.end_column or 0

        def marker(kind: str) -> Token:
            return Token(kind, indent_str, token.end_pos, line, column, line, column)

        if indent > self.indent_level[-1]:
            self.indent_level.append(indent)
            yield marker(self.INDENT_type)
        else:
            while indent < self.indent_level[-1]:
                self.indent_level.pop()
                yield marker(self.DEDENT_type)
            if indent != self.indent_level[-1]:
                raise _IndentMismatchError(line, column)


@functools.lru_cache(maxsize=1)
def journey_parser() -> Lark:
    """The LALR parser for ``journey.lark``, built once per process and its tables cached
    between processes (``journey.lark_cache``)."""
    grammar = _GRAMMAR.read_text(encoding="utf-8")
    return Lark(
        grammar,
        cache=cache_file("journey-grammar", grammar),
        parser="lalr",
        lexer="contextual",
        postlex=JourneyIndenter(),
        # Spans come from the tokens (dsl.transformer), cheaper than propagated positions.
        keep_all_tokens=True,
        maybe_placeholders=False,
        start=["start", "condition_only"],
    )


def split_lines(text: str) -> list[str]:
    """The file's lines as the diagnostics show them."""
    return text.split("\n")


def _normalise(text: str) -> str:
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    return text if text.endswith("\n") else text + "\n"


_QUOTED_OR_COMMENT = re.compile(r'"(?:[^"\\]|\\.)*(?P<close>"|\\?$)|#.*')


def scan_lines(text: str, path: str) -> tuple[list[Comment], list[Diagnostic]]:
    """Comments, plus the problems lark would report confusingly: tabs in indentation
    and strings left open at the end of a line."""
    lines = split_lines(text)
    comments: list[Comment] = []
    problems: list[Diagnostic] = []
    for number, line in enumerate(lines, start=1):
        if line.startswith("\t") or (line.startswith(" ") and "\t" in line):
            stripped = line.lstrip(" \t")
            indent = line[: len(line) - len(stripped)]
            if "\t" in indent and stripped and not stripped.startswith("#"):
                problems.append(
                    at(
                        path,
                        lines,
                        number,
                        indent.index("\t") + 1,
                        "error",
                        "a tab in the indentation: journeys are indented with spaces",
                        "replace the tab with 4 spaces per level",
                        code="J105",
                    )
                )
        if '"' not in line and "#" not in line:
            continue
        for match in _QUOTED_OR_COMMENT.finditer(line):
            if match.group(0).startswith("#"):
                found = match.group(0).rstrip()
                column = match.start() + 1
                comments.append(Comment(found, Span(number, column, number, column + len(found))))
                break
            if match.group("close") != '"':
                problems.append(
                    at(
                        path,
                        lines,
                        number,
                        match.start() + 1,
                        "error",
                        'unterminated string: this string has no closing `"`',
                        'close it with `"` on the same line (write `\\"` for a quote inside)',
                        code="J106",
                        end=(number, len(line.rstrip()) + 1),
                    )
                )
                break
    return comments, problems


def _syntax_diagnostic(exc: UnexpectedInput, path: str, lines: list[str]) -> Diagnostic:
    """One lark error as a diagnostic with a useful hint."""
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        expected = set(exc.expected)
        if exc.token_history is not None and len(expected) > 1:
            # Raised by the contextual lexer (a word no rule takes here): its expected set
            # holds the newline the indenter always accepts, which is no fix here.
            expected.discard("_NL")
        line = token.line if token.line and token.line > 0 else len(lines)
        column = token.column if token.column and token.column > 0 else 1
        if token.type == "$END":
            line, column = max(len(lines) - 1, 1), 1
        found = describe_found(token)
    elif isinstance(exc, UnexpectedCharacters):
        # The indenter asks the lexer to always accept newlines; they are not a fix here.
        expected = set(exc.allowed or ()) - {"_NL"}
        line, column = exc.line, exc.column
        source = lines[line - 1] if 0 < line <= len(lines) else ""
        word = source[column - 1 :].split(maxsplit=1)
        if word and word[0].isprintable():
            found = f"`{word[0]}`"
        else:
            found = f"character U+{ord(source[column - 1]):04X}" if source else "this character"
    else:  # pragma: no cover - lark's other errors (EOF) come as UnexpectedToken in LALR
        return at(path, lines, 1, 1, "error", str(exc).splitlines()[0], code="J101")
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    hint = suggest(source, column, expected)
    phrase = opening_phrase(source)
    if hint and phrase and column == len(source) - len(source.lstrip()) + 1:
        opening = _OPENING.match(source.lstrip())
        words = len(opening.group(0).rstrip()) if opening else 1
        return at(
            path,
            lines,
            line,
            column,
            "error",
            f"unknown statement `{phrase}`",
            hint,
            code="J102",
            end=(line, column + max(words, 1)),
        )
    message, code = f"unexpected {found}", "J101"
    if isinstance(exc, UnexpectedToken) and exc.token.type == "_NL":
        message, code = "the line ends too soon", "J103"
    elif isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        message, code = "the file ends too soon", "J103"
    elif isinstance(exc, UnexpectedToken) and exc.token.type == "_INDENT":
        message, code = "unexpected indentation", "J104"
        hint = hint or "only the lines of a block (after a line ending in `:`) are indented"
    if expected:
        message += f"; expected {describe_expected(expected)}"
    return at(path, lines, line, column, "error", message, hint, code=code)


#: A line's opening words, as ``hints.opening_phrase`` reads them (never empty when a
#: phrase was found).
_OPENING = re.compile(r"[A-Za-z][A-Za-z ]*")

#: At most this many syntax errors are reported for one file.
MAX_SYNTAX_ERRORS = 20


def _read(text: str, path: str, lines: list[str]) -> Document | Diagnostic:
    """One parse: the document, or the first syntax problem."""
    try:
        tree = journey_parser().parse(text, start="start")
        too_deep = depth_problem(tree, path, lines)
        if too_deep is not None:
            raise _TooDeepError(too_deep)
        document: Document = JourneyTransformer().transform(tree)
    except UnexpectedInput as exc:
        return _syntax_diagnostic(exc, path, lines)
    except _IndentMismatchError as exc:
        return at(
            path,
            lines,
            exc.line,
            exc.column,
            "error",
            "this line's indentation matches no enclosing block",
            "indent by 4 spaces per level, lined up with the block it belongs to",
            code="J104",
        )
    except BuildError as exc:
        return at_span(path, lines, exc.span, "error", exc.message, exc.hint, code="J107")
    return document


def _stand_in(lines: list[str], number: int) -> list[str] | None:
    """The file with line ``number`` replaced by an ``exit`` at the same indentation, so
    parsing can go on to find the next syntax error — or None when that would only
    produce follow-on errors (the line opens a block, or the error is not on a line)."""
    if not 0 < number <= len(lines):
        return None
    line = lines[number - 1]
    code = line.split("#", 1)[0].rstrip()
    if not code or code.endswith(":"):
        return None
    indent = line[: len(line) - len(line.lstrip())]
    following = next(
        (rest for rest in lines[number:] if rest.strip() and not rest.lstrip().startswith("#")),
        "",
    )
    if len(following) - len(following.lstrip()) > len(indent):
        return None  # the line meant to open a block
    return [*lines[: number - 1], indent + "exit", *lines[number:]]


def parse_document(text: str, path: str = "<string>") -> Document:
    """Parse a whole journey file into a ``Document`` (header and statements in file
    order). Raises ``JourneyError`` with every problem the line scan finds, else with the
    syntax errors: after each one, the bad line is stood in for and parsing goes on, so
    one run reports every independent mistake (up to ``MAX_SYNTAX_ERRORS``)."""
    text = _normalise(text)
    lines = split_lines(text)
    comments, problems = scan_lines(text, path)
    if problems:
        raise JourneyError(problems)
    try:
        result = _read(text, path, lines)
    except _TooDeepError as exc:
        raise JourneyError([exc.diagnostic]) from None
    if isinstance(result, Document):
        return Document(result.items, tuple(comments), result.span)
    errors = [result]
    attempt = _stand_in(lines, result.line)
    while attempt is not None and len(errors) < MAX_SYNTAX_ERRORS:
        # Diagnostics keep quoting the real lines; only the parser sees the stand-ins.
        try:
            again = _read("\n".join(attempt), path, lines)
        except _TooDeepError as exc:
            errors.append(exc.diagnostic)
            break
        if isinstance(again, Document) or again.line <= errors[-1].line:
            break
        errors.append(again)
        attempt = _stand_in(attempt, again.line)
    raise JourneyError(errors)


def parse_condition(text: str, origin: str = "<condition>") -> Condition:
    """Parse one condition (as written after ``if``), e.g. a segment in ``journey.toml``.
    Raises ``JourneyError`` whose diagnostics name ``origin``."""
    if "\n" in text.strip():
        raise JourneyError(
            [Diagnostic(origin, 1, 1, "error", "a condition is one line", code="J109")]
        )
    source = text.strip() + "\n"
    lines = split_lines(source)
    _, problems = scan_lines(source, origin)
    if problems:
        raise JourneyError(problems)
    try:
        tree = journey_parser().parse(source, start="condition_only")
        too_deep = depth_problem(tree, origin, lines)
        if too_deep is not None:
            raise JourneyError([too_deep])
        condition: Condition = JourneyTransformer().transform(tree)
    except UnexpectedInput as exc:
        raise JourneyError([_syntax_diagnostic(exc, origin, lines)]) from None
    except _IndentMismatchError as exc:  # pragma: no cover - one line has no indentation
        raise JourneyError(
            [
                at(
                    origin,
                    lines,
                    exc.line,
                    exc.column,
                    "error",
                    "unexpected indentation",
                    code="J104",
                )
            ]
        ) from None
    return condition
