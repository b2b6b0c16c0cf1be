"""Reading a contacts CSV so that one bad row never costs the good ones.

Pipeline position: a file -> **csv_rows** -> ``intake.import_rows`` (and the dry run's
``views_from_rows``). Every problem a file can hold is found per row and reported with the
row's line number and what to do, while every other row is still read:

* **Encoding**: each line is decoded on its own, so a byte that is not UTF-8 names its line
  and column instead of refusing (or half-importing) the whole file. A UTF-16 or UTF-32 file
  is refused at once, with how to save it as UTF-8.
* **NUL bytes**: no store column holds one (PostgreSQL refuses them in text), so a row with
  one is refused before it reaches the database.
* **Quotes**: quotes are read strictly (a closing quote must end its cell). A quoted value
  may hold line breaks (addresses and notes exported from Salesforce or Excel do), but a
  record that spans lines and then does not parse, or ends with a different number of
  cells than the header, is an unbalanced quote: the row where the quote opened is
  refused, and the lines it would have swallowed are read again as rows of their own.
* **Size**: a cell holds at most ``FIELD_SIZE_CAP`` characters (Python's csv module stops
  at 128 KiB by default, which would refuse the whole file at the first long cell).
* **Column count**: every row has one cell per header column (empty cells are fine).

Rows come out as ``(line, {header: cell})``, the header being line 1; a refused row is
``(line, {BAD_ROW: message})`` so that the importer reports it in file order.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["BAD_ROW", "FIELD_SIZE_CAP", "IntakeError", "Records", "read_csv", "read_records"]

#: The largest cell, in characters: 1 MiB of text, eight times the csv module's default
#: (128 KiB), which long notes and descriptions exported with contacts do reach; the cap
#: keeps one runaway cell (a quote never closed in a huge file) from filling memory.
FIELD_SIZE_CAP = 1 << 20

#: The key of a refused row's message in the rows ``read_csv`` yields.
BAD_ROW = "\0error"

_UTF16_32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"
_SAVE_AS_UTF8 = 'save the file as UTF-8 ("CSV UTF-8" in Excel) and import it again'


class IntakeError(Exception):
    """A file that cannot be taken at all (unreadable, no header, not UTF-8 at all)."""


#: Bytes read from the file at a time (then cut at its last line end): decoding and
#: splitting a block at once costs a fraction of doing it line by line.
BLOCK = 1 << 20


def _blocks(handle: BinaryIO) -> Iterator[bytes]:
    """The file in blocks of whole lines (each ends at a line end, but the last)."""
    rest = b""
    while True:
        data = handle.read(BLOCK)
        if not data:
            if rest:
                yield rest
            return
        data = rest + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            # No \n: a file of old Mac line ends (\r), or one very long line. A \r as the
            # very last byte may be the first half of a \r\n: keep it for the next read.
            cut = data.rfind(b"\r", 0, len(data) - 1) + 1
        if cut == 0:
            rest = data
            continue
        rest = data[cut:]
        yield data[:cut]


class _Lines:
    """The file's lines as (line number, text), decoded a block at a time (a large file is
    never held whole); lines handed back by ``read_again`` come first. ``taken`` is what
    the record being read has used; ``feed`` gives the csv reader the texts."""

    def __init__(self, handle: BinaryIO) -> None:
        self._numbered = self._decoded_lines(handle)
        self._again: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []
        self.problems: dict[int, str] = {}

    def _decoded_lines(self, handle: BinaryIO) -> Iterator[tuple[int, str]]:
        number = 0
        for index, block in enumerate(_blocks(handle)):
            if index == 0:
                block = block.removeprefix(_UTF8_BOM)
            try:
                text = block.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None and "\x00" not in text:
                # Lines end at \n, \r or \r\n, as bytes.splitlines() would cut them.
                for line in io.StringIO(text, newline=""):
                    number += 1
                    yield number, line
                continue
            for raw in block.splitlines(keepends=True):
                number += 1
                yield number, _decoded(raw, number, self.problems)

    def feed(self) -> Iterator[str]:
        """The lines' texts for one csv reader, noting each in ``taken``. A reader stops
        at the file's end for good, so one is made again after lines are read again."""
        again, taken = self._again, self.taken
        while again:
            item = again.popleft()
            taken.append(item)
            yield item[1]
        for item in self._numbered:
            taken.append(item)
            yield item[1]

    def read_again(self, lines: list[tuple[int, str]]) -> None:
        self._again.extendleft(reversed(lines))

    def problem(self, lines: list[tuple[int, str]]) -> str | None:
        """The first problem of these lines, which are done with (forgotten after)."""
        if not self.problems:
            return None
        found = [self.problems.pop(number, None) for number, _ in lines]
        return next((p for p in found if p), None)


def _decoded(raw: bytes, number: int, problems: dict[int, str]) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        column = len(raw[: exc.start].decode("utf-8", errors="replace")) + 1
        problems[number] = (
            f"not UTF-8 text (byte 0x{raw[exc.start]:02X} at column {column}): {_SAVE_AS_UTF8}"
        )
        text = raw.decode("utf-8", errors="replace")
    if "\x00" in text and number not in problems:
        problems[number] = (
            "holds a NUL byte (0x00), which no field can store: remove it (a file full of "
            f"them is UTF-16: {_SAVE_AS_UTF8})"
        )
    return text


def _quote_problem(start: int, end: int) -> str:
    return (
        f"unbalanced quote: the quote opened on this line is not closed where its cell ends "
        f"(it would take in lines {start + 1}-{end}, read as rows of their own): close it, "
        'or double a quote that is part of a value ("say ""hi""")'
    )


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {header: cell}) per data row, or (line, {BAD_ROW: why}) for a refused
    row; raises ``IntakeError`` when the file cannot be taken at all."""
    header, records = read_records(path)
    names = [h.strip() for h in header]
    for number, cells in records:
        if isinstance(cells, str):
            yield number, {BAD_ROW: cells}
        else:
            yield number, {n: cell for n, cell in zip(names, cells, strict=True) if n}


class Records:
    """A file's data rows: (line number, cells) each, one cell per header column, or (line,
    why) for a refused row. ``position`` is how far into the file (in bytes) reading got,
    for a progress bar."""

    def __init__(self, handle: BinaryIO, rows: Iterator[tuple[int, list[str] | str]]) -> None:
        self._handle = handle
        self._rows = rows

    def __iter__(self) -> Iterator[tuple[int, list[str] | str]]:
        with self._handle:
            yield from self._rows

    @property
    def position(self) -> int:
        return 0 if self._handle.closed else self._handle.tell()


def read_records(path: Path) -> tuple[list[str], Records]:
    """The header's cells and the data rows (``Records``), as the csv module reads them:
    for an importer that looks at each column once per file rather than once per cell.
    Raises ``IntakeError`` when the file cannot be taken at all (before any row is read)."""
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_SIZE_CAP))
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise IntakeError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        if handle.read(4).startswith(_UTF16_32_BOMS):
            raise IntakeError(f"{path}: the file is UTF-16 or UTF-32 text: {_SAVE_AS_UTF8}")
        handle.seek(0)
        lines = _Lines(handle)
        reader = csv.reader(lines.feed(), strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise IntakeError(f"{path}: line 1 (the header): {exc}") from None
        if not header or not any(h.strip() for h in header):
            raise IntakeError(f"{path}: no header row (the first row names the fields)")
        bad = lines.problem(lines.taken)
        if bad is not None:
            raise IntakeError(f"{path}: line 1 (the header): {bad}")
    except BaseException:
        handle.close()
        raise
    return header, Records(handle, _rows(lines, reader, len(header)))


def _rows(
    lines: _Lines, reader: Iterator[list[str]], width: int
) -> Iterator[tuple[int, list[str] | str]]:
    taken = lines.taken
    while True:
        taken.clear()
        try:
            row = next(reader, None)
        except csv.Error as exc:
            if len(taken) > 1 and "field larger" not in str(exc):
                yield taken[0][0], _quote_problem(taken[0][0], taken[-1][0])
                lines.read_again(taken[1:])
                lines.problem(taken[:1])
            else:
                lines.problem(taken)
                yield taken[0][0], _csv_problem(exc)
            reader = csv.reader(lines.feed(), strict=True)
            continue
        if row is None:
            return
        number = taken[0][0]
        if len(row) != width and len(taken) > 1:
            yield number, _quote_problem(number, taken[-1][0])
            lines.read_again(taken[1:])
            lines.problem(taken[:1])
            reader = csv.reader(lines.feed(), strict=True)
            continue
        bad = lines.problem(taken) if lines.problems else None
        if bad is not None:
            if "".join(row).strip():
                yield number, bad
        elif len(row) != width:
            if "".join(row).strip():
                yield (
                    number,
                    f"{len(row)} cells but the header has {width}: give every row one cell "
                    'per header column (an empty cell is fine: "a,,c"), and quote a value '
                    'that holds a comma ("Acme, Inc.")',
                )
        elif "".join(row).strip():  # a row of blank cells is a blank line
            yield number, row


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger" in text:
        return (
            f"a cell is longer than {FIELD_SIZE_CAP:,} characters, the most one field "
            "takes: shorten it"
        )
    return (
        f"unbalanced quote ({text}): a quoted value ends with a quote right before the "
        'comma or the line end; double a quote that is part of a value ("say ""hi""")'
    )
