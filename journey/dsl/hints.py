"""Friendly words for syntax errors: "expected one of …" and "did you mean …?".

Pipeline position: used by ``dsl.parser`` (and the checker, for names) to turn what lark
knows — the terminals it would have accepted — into words a user recognises, and to find
the keyword phrase or name closest to a typo (difflib).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from lark import Token

__all__ = [
    "PHRASES",
    "closest",
    "describe_expected",
    "describe_found",
    "opening_phrase",
    "suggest",
]

#: Every statement's opening words, the vocabulary "did you mean …?" draws from.
PHRASES: tuple[str, ...] = (
    "journey",
    "trigger form submitted",
    "trigger added to list",
    "trigger entered segment",
    "trigger field changed",
    "trigger campaign member status changed",
    "entry once",
    "entry always",
    "entry once every",
    "goal",
    "if",
    "else if",
    "else",
    "split",
    "path",
    "wait",
    "wait until",
    "step",
    "go to",
    "exit",
    "add to list",
    "remove from list",
    "update field",
    "update salesforce field",
    "assign lead to",
    "assign lead to group",
    "add task",
    "set member status",
    "create opportunity",
    "send notification",
)

_NAMED: dict[str, str] = {
    "STRING": 'a quoted string ("...")',
    "INT": "a whole number",
    "NUMBER": "a number",
    "DATE": "a date (YYYY-MM-DD)",
    "NAME": "a step name",
    "TIME_UNIT": "`minutes`, `hours`, `days` or `weeks`",
    "DAYS": "`days`",
    "COMPARISON": "`>`, `>=`, `<` or `<=`",
    "_NL": "the end of the line",
    "_INDENT": "an indented block",
    "_DEDENT": "the end of the block",
    "$END": "the end of the file",
    "ELSE": "`else`",
    "PATH": "`path`",
}


def _terminal_words() -> dict[str, str]:
    from journey.dsl.parser import journey_parser  # the parser imports this module

    words: dict[str, str] = {}
    for terminal in journey_parser().terminals:
        if terminal.pattern.type == "str":
            words[terminal.name] = f"`{terminal.pattern.value}`"
    return words


def describe_expected(names: Iterable[str]) -> str:
    """``{"IF", "STRING"}`` -> ``one of `if`, a quoted string ("...")``."""
    words = _terminal_words()
    shown = sorted({_NAMED.get(n) or words.get(n) or f"`{n.lower()}`" for n in names})
    if len(shown) == 1:
        return shown[0]
    return "one of " + ", ".join(shown)


def describe_found(token: Token) -> str:
    if token.type in ("_NL", "_INDENT", "_DEDENT", "$END"):
        return _NAMED[token.type]
    return f"`{token}`"


def opening_phrase(source_line: str) -> str:
    """The words a line starts with, up to its first string, number or colon."""
    opening = _LEADING_WORDS.match(source_line.lstrip())
    return " ".join(opening.group(0).split()).lower() if opening else ""


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate nearest ``word`` (case-insensitively), if any is near enough."""
    by_fold = {c.casefold(): c for c in candidates}
    match = difflib.get_close_matches(word.casefold(), list(by_fold), n=1, cutoff=cutoff)
    return by_fold[match[0]] if match else None


_LEADING_WORDS = re.compile(r"[A-Za-z][A-Za-z ]*")


def suggest(source_line: str, column: int, expected: set[str]) -> str | None:
    """A hint for a syntax error at ``column`` of ``source_line``: the closest statement
    phrase when the line's opening words are not one, else the closest expected keyword."""
    stripped = source_line.lstrip()
    start = len(source_line) - len(stripped) + 1
    opening = _LEADING_WORDS.match(stripped)
    phrase = " ".join(opening.group(0).split()).lower() if opening else ""
    if phrase and column < start + len(opening.group(0) if opening else ""):
        known = any(
            phrase == p or phrase.startswith(p + " ") or p.startswith(phrase + " ") for p in PHRASES
        )
        if not known:
            # Compare like with like: as many words as the user wrote.
            size = len(phrase.split())
            candidates = {" ".join(p.split()[: max(size, 1)]) for p in PHRASES} | set(PHRASES)
            match = closest(phrase, candidates)
            if match:
                return f"did you mean `{match}`?"
    word = source_line[column - 1 :].split(maxsplit=1)
    keywords = [w.strip("`") for w in (_terminal_words().get(n, "") for n in expected) if w]
    if word and keywords:
        match = closest(word[0], keywords)
        if match and match.casefold() != word[0].casefold():
            return f"did you mean `{match}`?"
    return None
