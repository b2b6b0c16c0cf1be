"""A dry run's contacts streamed from its CSV: the import's rules, a contact let go once no
later row can be it.

Pipeline position: ``csv_rows.read_csv`` -> **dryrun_contacts** -> ``engine.dryrun``.
``intake_rows.views_from_rows`` holds every contact until the file ends, because a later row
with the same email or Salesforce ID merges into an earlier contact (about 1.3 KB a
contact: 240 MB for 100,000). Here the file is read twice:

1. **Which identities come again.** Each row's identities (its email, its Salesforce ID's
   first 15 characters) go into a fixed-size Bloom filter (1 MB); an identity the filter
   may have seen before is noted with the last line it is on. Memory is the filter plus
   the identities that repeat (and the filter's rare false alarms), not the file.
2. **The contacts.** Each row is checked and matched with the import's own functions
   (``intake_rows``'s, so the rules are one set); a contact is handed on, numbered as
   ``views_from_rows`` numbers it, once every identity any of its rows had has no later
   line — in the order it was made, so a contact waiting for a later row holds back only
   those made after it.

The contacts, their numbers and the refused rows are ``views_from_rows``'s
(``tests/engine/test_dryrun_contacts.py`` checks it on generated files).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from pathlib import Path

from journey.engine.contact import ContactView
from journey.engine.contact_context import ContactContext
from journey.engine.csv_rows import BAD_ROW, read_csv, read_records
from journey.engine.field_values import FieldValueError
from journey.engine.intake_rows import Known, RowError, clean_row, merge_row, target
from journey.salesforce_ids import InvalidSalesforceIdError, person_id

__all__ = ["stream_views"]

Rows = Iterable[tuple[int, Mapping[str, str]]]

_BITS = 1 << 23  # 1 MB of filter: about 1 false alarm in 1,600 identities at 100,000 rows
_MASK = _BITS - 1


class _Repeats:
    """Identities seen more than once (and the filter's false alarms), with their last line."""

    def __init__(self) -> None:
        self._filter = bytearray(_BITS // 8)
        self.last: dict[str, int] = {}

    def note(self, key: str, line: int) -> None:
        if key in self.last:
            self.last[key] = line
            return
        h = hash(key)
        a, b = h & _MASK, (h >> 32) & _MASK
        seen = self._filter[a >> 3] & (1 << (a & 7)) and self._filter[b >> 3] & (1 << (b & 7))
        if seen:
            self.last[key] = line
        else:
            self._filter[a >> 3] |= 1 << (a & 7)
            self._filter[b >> 3] |= 1 << (b & 7)


class _Columns:
    """Which of a header's columns hold the email and the Salesforce ID."""

    def __init__(self, ctx: ContactContext) -> None:
        self._ctx = ctx
        self._seen: dict[tuple[str, ...], tuple[list[str], list[str]]] = {}

    def named(self, names: tuple[str, ...]) -> tuple[list[str], list[str]]:
        """The columns among ``names`` that hold an email, and those that hold an ID."""
        columns = self._seen.get(names)
        if columns is None:
            emails = [n for n in names if n != BAD_ROW and self._ctx.display(n) == "Email"]
            ids = [n for n in names if n.strip().casefold() == "salesforce id"]
            columns = self._seen[names] = (emails, ids)
        return columns

    def keys(self, raw: Mapping[str, str]) -> list[str]:
        emails, ids = self.named(tuple(raw))
        out = []
        for name in emails:
            out.extend(self.identities("e", raw[name]))
        for name in ids:
            out.extend(self.identities("r", raw[name]))
        return out

    @staticmethod
    def identities(kind: str, cell: str | None) -> list[str]:
        """A cell's identities: ``e:`` its email, or ``r:`` its ID's first 15 characters
        (and those of the ID it stands for)."""
        value = (cell or "").strip()
        if not value:
            return []
        if kind == "e":
            return ["e:" + value.casefold()]
        out = ["r:" + value[:15]]
        with suppress(InvalidSalesforceIdError):
            out.append("r:" + person_id(value).id[:15])
        return out


def _repeats(rows: Rows, columns: _Columns) -> _Repeats:
    repeats = _Repeats()
    for line, raw in rows:
        if BAD_ROW not in raw:
            for key in columns.keys(raw):
                repeats.note(key, line)
    return repeats


def _file_repeats(csv_path: Path, columns: _Columns) -> _Repeats:
    """``_repeats(read_csv(csv_path), columns)`` from the file's cells, without a dict per
    row: a header named twice is its last cell, as in ``read_csv``'s dicts."""
    header, records = read_records(csv_path)
    places = {name: i for i, name in enumerate(h.strip() for h in header) if name}
    repeats = _Repeats()
    wanted: list[tuple[str, int]] | None = None
    for line, cells in records:
        if isinstance(cells, str):
            continue
        if wanted is None:
            emails, ids = columns.named(tuple(places))
            wanted = [("e", places[n]) for n in emails] + [("r", places[n]) for n in ids]
        for kind, place in wanted:
            for key in columns.identities(kind, cells[place]):
                repeats.note(key, line)
    return repeats


def stream_views(
    csv_path: Path, ctx: ContactContext, errors: list[RowError]
) -> Iterator[ContactView]:
    """``views_from_rows(read_csv(csv_path), ctx)``'s contacts, each as soon as it is whole;
    the refused rows are appended to ``errors`` (in file order) as they are met."""
    return views_streamed(
        lambda: read_csv(csv_path), ctx, errors, lambda columns: _file_repeats(csv_path, columns)
    )


def views_streamed(
    rows: Callable[[], Rows],
    ctx: ContactContext,
    errors: list[RowError],
    first_reading: Callable[[_Columns], _Repeats] | None = None,
) -> Iterator[ContactView]:
    """``stream_views`` over any rows; ``rows()`` is called twice, for the two readings
    (``first_reading``, when given, makes the first: ``_file_repeats``)."""
    columns = _Columns(ctx)
    repeats = first_reading(columns) if first_reading else _repeats(rows(), columns)
    last = repeats.last
    # ``import_targets`` numbers a new contact from how many were made: count them, keep none.
    known = Known({}, {}, {}, {}, fresh=_Count())
    queue: deque[ContactView] = deque()  # made, not yet let go, in the order made
    until: dict[int, int] = {}  # placeholder id -> the last line that can still be it
    records: dict[int, set[str]] = {}  # placeholder id -> its ``by_record`` keys
    emails: dict[int, set[str]] = {}  # placeholder id -> its ``fresh_by_email`` keys
    for line, raw in rows():
        try:
            values = clean_row(raw, ctx)
            view = target(known, values)
        except FieldValueError as exc:
            errors.append(RowError(line, str(exc)))
        else:
            if view.id not in until:
                queue.append(view)
            merge_row(view, values, None)
            known.noted(view)
            if view.email:
                emails.setdefault(view.id, set()).add(view.email.casefold())
            # No identity comes again (the usual file): nothing to wait for, nothing to ask.
            wait = max((last.get(k, 0) for k in columns.keys(raw)), default=0) if last else 0
            until[view.id] = max(until.get(view.id, 0), wait)
            if values.get("\0id"):
                records.setdefault(view.id, set()).add(values["\0id"][:15])
        while queue and until[queue[0].id] <= line:
            yield _let_go(known, queue.popleft(), until, records, emails)
    while queue:
        yield _let_go(known, queue.popleft(), until, records, emails)


def _let_go(
    known: Known,
    view: ContactView,
    until: dict[int, int],
    records: dict[int, set[str]],
    emails: dict[int, set[str]],
) -> ContactView:
    """Forget a whole contact and give it the number ``views_from_rows`` gives it."""
    placeholder = view.id
    del until[placeholder]
    known.views.pop(placeholder, None)
    for record in records.pop(placeholder, ()):
        if known.by_record.get(record) == placeholder:
            del known.by_record[record]
    for email in emails.pop(placeholder, ()):
        seen = [v for v in known.fresh_by_email.get(email, ()) if v is not view]
        if seen:
            known.fresh_by_email[email] = seen
        else:
            known.fresh_by_email.pop(email, None)
    view.id = -placeholder
    return view


class _Count(list[ContactView]):
    """A list that only counts what it is given: ``Known.fresh`` here."""

    def __init__(self) -> None:
        super().__init__()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, view: ContactView) -> None:
        self._count += 1
