"""The dry run's report as JSON, written as the contacts come: ``--json`` and ``--jsonl``.

Pipeline position: ``engine.dryrun`` paths -> **dryrun_json** -> the CLI's output. ``--json``
is one document, byte for byte what ``json.dumps(report, indent=2, sort_keys=True)`` gives,
so programs reading it see no change; it is written a contact at a time, so a large file's
report never sits in memory whole. The standard encoder indents only in pure Python (about
a third of a dry run's time went there), so the parts every path has — the contact's keys,
each step's keys, its strings — are written here with the C string encoder, and anything
else (a step's ``data`` other than plain reasons) by ``json.dumps`` itself.

``--jsonl`` is one compact object per contact (the shape of one ``contacts`` entry), then
one summary line: the journey, version, start time, the number of contacts, how many ended
in each status, and the refused rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _s
from typing import Any

from journey.engine.dryrun import ContactPath
from journey.engine.dryrun import iso_moment as _iso

__all__ = ["json_document", "jsonl_lines"]

_PLACEHOLDER = "\0contacts\0"


def json_document(
    head: Mapping[str, Any], paths: Iterable[ContactPath], errors: Callable[[], Sequence[Any]]
) -> Iterator[str]:
    """The ``--json`` document in pieces: ``head`` holds its other keys (journey, version,
    at); ``paths`` is read once, as the pieces are taken; ``errors()``, the refused rows,
    is asked for once every path is taken (a streamed file's last row may be refused)."""
    contacts = iter(paths)
    first = next(contacts, None)
    if first is None:
        doc = {**head, "contacts": [], "errors": errors()}
        yield json.dumps(doc, indent=2, sort_keys=True, default=str)
        return
    # "contacts" sorts before "errors": what comes before the contacts needs no errors.
    frame = json.dumps({**head, "contacts": [_PLACEHOLDER], "errors": []}, indent=2, sort_keys=True)
    marker = "    " + json.dumps(_PLACEHOLDER)
    yield frame.split(marker, 1)[0] + "    " + contact_json(first, "    ")
    for path in contacts:
        yield ",\n" + "    " + contact_json(path, "    ")
    frame = json.dumps(
        {**head, "contacts": [_PLACEHOLDER], "errors": errors()},
        indent=2,
        sort_keys=True,
        default=str,
    )
    yield frame.split(marker, 1)[1]


def jsonl_lines(
    head: Mapping[str, Any], paths: Iterable[ContactPath], errors: Callable[[], Sequence[Any]]
) -> Iterator[str]:
    """The ``--jsonl`` lines (each without its newline): a contact each, then the summary."""
    statuses: Counter[str] = Counter()
    for path in paths:
        statuses["truncated" if path.truncated else path.status] += 1
        yield json.dumps(path.as_dict(), sort_keys=True, default=str)
    summary = {
        **head,
        "contacts": sum(statuses.values()),
        "statuses": dict(sorted(statuses.items())),
        "errors": list(errors()),
    }
    yield json.dumps(summary, sort_keys=True, default=str)


def _value(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return _s(v)
    return json.dumps(v, sort_keys=True, default=str)


def contact_json(path: ContactPath, pad: str) -> str:
    """One contact's object as ``json.dumps(path.as_dict(), indent=2, sort_keys=True)``
    writes it nested at ``pad`` (its first line not indented)."""
    p1 = pad + "  "
    ended = path.ended_at
    out = [
        f'{{\n{p1}"contact": {_value(path.contact)},\n'
        f'{p1}"ended_at": {_value(_iso(ended))},\n'
        f'{p1}"goal": {_value(path.goal)},\n'
    ]
    records = path.records
    if not records:
        out.append(f'{p1}"path": [],\n')
    else:
        out.append(f'{p1}"path": [\n')
        p2 = pad + "    "
        p3 = p2 + "  "
        last = len(records) - 1
        for i, r in enumerate(records):
            out.append(_step_head(r.at, p2))
            if r.data:
                out.append(f'{p3}"data": {_data(r.data, p3)},\n')
                out.append(_step_tail(r.detail, r.kind, r.outcome, r.step_id, p2))
            else:
                # A step without data (entering, an action, the end) is mostly the same
                # step for every contact: its text is made once.
                key = (r.detail, r.kind, r.outcome, r.step_id, p2)
                tail = _TAILS.get(key)
                if tail is None:
                    if len(_TAILS) >= _TAILS_KEPT:
                        _TAILS.clear()
                    tail = _TAILS[key] = _step_tail(*key)
                out.append(tail)
            out.append(",\n" if i < last else "\n")
        out.append(f"{p1}],\n")
    out.append(
        f'{p1}"status": {_value(path.status)},\n{p1}"truncated": {_value(path.truncated)}\n{pad}}}'
    )
    return "".join(out)


#: Step texts already written, and how many are kept: a bounded memory, however many
#: contacts (a value in a step's text, from a template, makes every contact's its own).
_TAILS: dict[tuple[Any, ...], str] = {}
_TAILS_KEPT = 4096


@lru_cache(maxsize=1024)
def _step_head(at: datetime | None, p2: str) -> str:
    """A step's opening and its ``at``: the contacts of a dry run share their moments."""
    return f'{p2}{{\n{p2}  "at": {_value(_iso(at))},\n'


def _step_tail(detail: Any, kind: Any, outcome: Any, step: Any, p2: str) -> str:
    p3 = p2 + "  "
    return (
        f'{p3}"detail": {_value(detail)},\n'
        f'{p3}"kind": {_value(kind)},\n'
        f'{p3}"outcome": {_value(outcome)},\n'
        f'{p3}"step": {_value(step)}\n'
        f"{p2}}}"
    )


def _data(data: Any, pad: str) -> str:
    """A step's ``data`` nested at ``pad``: a condition's reasons written here, the rest
    (records, errors, keys) by the standard encoder, re-indented."""
    reasons = data.get("reasons") if isinstance(data, dict) else None
    if len(data) == 1 and isinstance(reasons, list) and all(isinstance(r, str) for r in reasons):
        if not reasons:
            return "{\n" + pad + '  "reasons": []\n' + pad + "}"
        inner = (",\n" + pad + "    ").join(_s(r) for r in reasons)
        return (
            "{\n"
            + pad
            + '  "reasons": [\n'
            + pad
            + "    "
            + inner
            + "\n"
            + pad
            + "  ]\n"
            + pad
            + "}"
        )
    text = json.dumps(data, indent=2, sort_keys=True, default=str)
    return text.replace("\n", "\n" + pad)


def write_all(pieces: Iterable[str], write: Callable[[str], Any]) -> None:
    """Write the pieces a few hundred at a time (one call per piece costs more than the
    joining)."""
    batch: list[str] = []
    for piece in pieces:
        batch.append(piece)
        if len(batch) >= 256:
            write("".join(batch))
            batch = []
    if batch:
        write("".join(batch))
