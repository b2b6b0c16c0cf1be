"""What the server says in words, held to the language reference: each statement's
meaning on hover is the reference's own sentence for it."""

from __future__ import annotations

import re
from pathlib import Path

from journey.dsl.hints import PHRASES
from journey.lsp.hover import MEANINGS

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "language.md"


def test_each_meaning_is_said_so_in_the_language_reference() -> None:
    words = " ".join(REFERENCE.read_text(encoding="utf-8").split()).lower()
    for phrase, meaning in MEANINGS.items():
        first = re.split(r";| \(", meaning)[0].lower()
        assert first in words, phrase


def test_every_statement_has_a_meaning() -> None:
    assert set(MEANINGS) == set(PHRASES)
