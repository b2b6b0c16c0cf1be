"""Dry runs: take contacts through a journey in memory, with virtual time, touching nothing.

Pipeline position: CSV (or any ``ContactView``s) -> **dry run** -> executor -> a connector
whose writes cannot matter: the real Salesforce connector on a scratch copy of the org
(``open_connector(config, dry_run=True)``, what ``journey dry-run`` uses for a journey that
needs Salesforce, ``engine.org_reads``), so Salesforce's rules are applied once, by the code
that applies them in the real run. Without one, the journaling connector answers ``done``
to every action: paths and waits only; a journey with no Salesforce step needs none.

Each contact has its own virtual clock starting at ``at``: a wait passes at once and the
clock jumps to when it would end; ``wait until`` waits its full time unless its condition
already holds (nothing changes a contact while it waits in a dry run). Contacts move in
lockstep, ``CHUNK`` (1,000) at a time, so that the contacts of a chunk reaching the same
action form one connector batch, as a batch of the durable runner does; a chunk's paths
are handed on before the next chunk is read, so memory does not grow with the contacts.
Nothing is written to the store or to the project's org.

The result per contact: the path taken (every step, each condition with the values that
decided it, each wait with the time it would end) and the side effects it would make
(records created or changed, with their fields).

A contact linked to a Salesforce record — found by email, given by ID in the CSV, or made
by an action on the way — holds that record's values before anything decides on it, as in
the real run (``engine.linking``): with a connector that reads records, each contact is
looked up before its first step and again right after an action linked it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from journey.dsl.compiled import CompiledJourney
from journey.dsl.syntax import Condition
from journey.engine.conditions import Evaluator
from journey.engine.contact import ContactView
from journey.engine.contact_context import ContactContext
from journey.engine.csv_rows import read_csv
from journey.engine.dryrun_contacts import stream_views
from journey.engine.executor import Advance, Pending, Position, Record, advance, complete_effect
from journey.engine.intake_rows import RowError, views_from_rows
from journey.engine.journeys import load_catalog
from journey.engine.org_reads import calls_salesforce, needs_org
from journey.engine.run_status import RunStatus
from journey.engine.segments import segments_of

if TYPE_CHECKING:
    # Imported where a connector is used: a journey that needs no Salesforce is taken
    # through with none (``engine.org_reads``).
    from journey.connectors.base import Connector, EffectResult
    from journey.connectors.sync import RecordReader
    from journey.engine.config import ProjectConfig, SyncConfig
    from journey.engine.linking import LinkReader

__all__ = [
    "CHUNK",
    "ContactPath",
    "DryRunReport",
    "DryRunSetup",
    "DryRunStream",
    "Lookups",
    "dry_run",
    "dry_run_file",
    "iso_moment",
    "iter_dry_run",
    "load_dry_run",
    "stream_dry_run",
    "stream_dry_run_file",
]

#: A journey that loops (``go to`` with a wait) is followed this many steps, then cut
#: short in the report (``truncated``): a dry run answers "what happens", not "forever".
MAX_DRY_STEPS = 200


@dataclass(slots=True)
class ContactPath:
    """One contact's dry run."""

    contact: str
    records: list[Record] = field(default_factory=list)
    status: str = RunStatus.ACTIVE.value
    goal: str | None = None
    steps: int = 0
    truncated: bool = False
    ended_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "contact": self.contact,
            "status": self.status,
            "goal": self.goal,
            "truncated": self.truncated,
            "ended_at": iso_moment(self.ended_at),
            "path": [
                {
                    "step": r.step_id,
                    "kind": r.kind,
                    "outcome": r.outcome,
                    "detail": r.detail,
                    "at": iso_moment(r.at),
                    **({"data": r.data} if r.data else {}),
                }
                for r in self.records
            ],
        }


@dataclass(slots=True)
class DryRunReport:
    journey: str
    version: str
    at: datetime
    contacts: list[ContactPath]

    @property
    def steps(self) -> int:
        return sum(c.steps for c in self.contacts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "journey": self.journey,
            "version": self.version,
            "at": iso_moment(self.at),
            "contacts": [c.as_dict() for c in self.contacts],
        }


@lru_cache(maxsize=1024)
def iso_moment(moment: datetime | None) -> str | None:
    """Cached: a dry run's contacts share their virtual moments, so most are formatted once."""
    return None if moment is None else moment.isoformat(timespec="seconds")


@dataclass(slots=True)
class _Walker:
    view: ContactView
    path: ContactPath
    position: Position
    clock: datetime
    pending: Pending | None = None
    result: EffectResult | None = None


#: Contacts taken through together: each chunk moves in lockstep, so the contacts of a
#: chunk reaching one connector action form one batch, as a batch of the durable runner
#: does (its ``batch_size``); memory holds one chunk, however long the file.
CHUNK = 1000


def dry_run(
    journey: CompiledJourney,
    contacts: Iterable[ContactView],
    at: datetime,
    evaluator: Evaluator | None = None,
    connector: Connector | None = None,
    *,
    keep_records: bool = True,
    links: Lookups | None = None,
    chunk: int = CHUNK,
) -> DryRunReport:
    """Take every contact through ``journey`` from ``at`` (module docstring). ``links``:
    how the contacts' records are looked up. The report holds every path:
    ``iter_dry_run`` for one at a time."""
    paths = iter_dry_run(
        journey,
        contacts,
        at,
        evaluator,
        connector,
        keep_records=keep_records,
        links=links,
        chunk=chunk,
    )
    return DryRunReport(journey.name, journey.version, at, list(paths))


def iter_dry_run(
    journey: CompiledJourney,
    contacts: Iterable[ContactView],
    at: datetime,
    evaluator: Evaluator | None = None,
    connector: Connector | None = None,
    *,
    keep_records: bool = True,
    links: Lookups | None = None,
    chunk: int = CHUNK,
) -> Iterator[ContactPath]:
    """``dry_run``'s paths in the contacts' order, ``chunk`` contacts at a time: a chunk is
    read from ``contacts``, taken through, and its paths yielded before the next is read."""
    evaluator = evaluator or Evaluator()
    if connector is None and calls_salesforce(journey):
        from journey.connectors.recording import JournalingConnector

        connector = JournalingConnector(keep_log=False)
    for views in _chunks(contacts, max(1, chunk)):
        yield from _run_chunk(journey, views, at, evaluator, connector, keep_records, links)


def _chunks(contacts: Iterable[ContactView], size: int) -> Iterator[list[ContactView]]:
    it = iter(contacts)
    while views := list(islice(it, size)):
        yield views


def _run_chunk(
    journey: CompiledJourney,
    contacts: list[ContactView],
    at: datetime,
    evaluator: Evaluator,
    connector: Connector | None,
    keep_records: bool,
    links: Lookups | None,
) -> list[ContactPath]:
    if links is not None:
        links.read(contacts)
    walkers = [
        _Walker(
            view,
            ContactPath(view.email or f"contact {view.id}"),
            Position(view.id, journey.start),
            at,
        )
        for view in contacts
    ]
    if keep_records:
        # One entry for all: a record is never changed once made.
        entered = Record(journey.start, "enter", f'entered "{journey.name}"', "entered", at=at)
        for w in walkers:
            w.path.records.append(entered)
    live = walkers
    lean = not keep_records
    while live:
        waiting_on_connector: list[_Walker] = []
        still: list[_Walker] = []
        for w in live:
            if w.result is None:
                adv = advance(journey, w.position, w.view, w.clock, evaluator, lean=lean)
            else:
                adv = _resume(journey, w, evaluator, lean)
            w.position, w.pending, path = adv.position, adv.pending, w.path
            path.steps += adv.steps
            if adv.goal:
                path.goal = adv.goal
            if keep_records:
                path.records.extend(adv.records)
            status = w.position.status
            if adv.pending is not None:
                waiting_on_connector.append(w)
                continue
            if status == RunStatus.WAITING:
                assert w.position.next_due is not None
                if w.position.next_due > w.clock:  # virtual time: the wait passes
                    w.clock = w.position.next_due
            elif status != RunStatus.ACTIVE:  # ACTIVE: a retry, tried at the retry time
                w.path.status, w.path.ended_at = status.value, w.clock
                continue
            if w.path.steps >= MAX_DRY_STEPS:
                w.path.truncated, w.path.ended_at = True, w.clock
            else:
                still.append(w)
        if waiting_on_connector:
            assert connector is not None  # iter_dry_run gives one to a journey with actions
            _perform(journey, waiting_on_connector, connector, links)
        live = still + waiting_on_connector
    return [w.path for w in walkers]


def _resume(journey: CompiledJourney, w: _Walker, evaluator: Evaluator, lean: bool) -> Advance:
    """The walker's connector result taken, and the walk on from there."""
    assert w.pending is not None
    assert w.result is not None
    done = complete_effect(journey, w.position, w.view, w.pending, w.result, w.clock, lean=lean)
    w.result = None
    if done.position.status == RunStatus.ACTIVE and done.position.next_due is None:
        more = advance(journey, done.position, w.view, w.clock, evaluator, lean=lean)
        more.records[:0] = done.records
        more.steps += done.steps
        return more
    if done.position.status == RunStatus.ACTIVE:
        # retry/paused: try again when the result says, in virtual time.
        assert done.position.next_due is not None
        w.clock = done.position.next_due
    return done


def _perform(
    journey: CompiledJourney,
    walkers: Sequence[_Walker],
    connector: Connector,
    links: Lookups | None,
) -> None:
    from journey.connectors.base import EffectRequest

    groups: dict[str, list[_Walker]] = defaultdict(list)
    for w in walkers:
        assert w.pending is not None
        groups[w.pending.step_id].append(w)
    for step_id, members in groups.items():
        action = journey.steps[step_id].action
        assert action is not None
        requests = [
            EffectRequest(f"dry:{m.view.id}:{m.pending.key}", m.view.snapshot(), m.pending.params)
            for m in members
            if m.pending is not None
        ]
        linked: list[ContactView] = []
        for member, result in zip(members, connector.perform(action, requests), strict=True):
            member.result = result
            new_id = result.changes.salesforce_id
            if links is not None and new_id and new_id != member.view.salesforce_id:
                # The record an action made or found is read before the run goes on.
                member.view.salesforce_id = new_id
                member.view.salesforce_type = result.changes.salesforce_type
                linked.append(member.view)
        if links is not None and linked:
            links.read(linked)


class Lookups:
    """How a dry run looks its contacts' records up: ``engine.linking``'s detached read,
    through ``reader``, for the contacts the org may hold (``connectors.sync.might_hold``:
    a reader that says which emails its Leads and Contacts have is asked for no other;
    ``connectors.dry_run_reads``). The ``LinkReader`` (and the database layer it is
    built on) is made by the first lookup, so a dry run that looks nothing up never
    loads it, nor ``sync`` (the configuration's models)."""

    def __init__(
        self,
        reader: RecordReader,
        sync: Callable[[], SyncConfig],
        field_types: Mapping[str, str],
        ctx: ContactContext,
    ) -> None:
        self.reader, self.sync, self.field_types, self.ctx = reader, sync, field_types, ctx
        self._links: LinkReader | None = None

    def read(self, views: Sequence[ContactView]) -> None:
        """The records of ``views`` read into them (``LinkReader.read_detached``, which
        asks the org only for those it may hold). Until a contact might be found, the
        reader is not made."""
        if self._links is None:
            from journey.connectors.sync import KnowsPersonEmails, might_hold

            reader = self.reader
            emails = reader.person_emails() if isinstance(reader, KnowsPersonEmails) else None
            if not any(might_hold(emails, v.salesforce_id, v.email) for v in views):
                return
            from journey.engine.linking import LinkReader

            self._links = LinkReader(reader, self.sync(), self.field_types)
        self._links.read_detached(views, self.ctx)


@dataclass(slots=True)
class DryRunStream:
    """A dry run of a file whose paths are made as they are taken: ``paths`` reads the
    file and runs its contacts a chunk at a time when iterated (once); ``errors`` fills
    as the rows are read. ``contacts``: how many there are, when known before the paths
    (``whole=True``); None when the file is streamed."""

    journey: str
    version: str
    at: datetime
    contacts: int | None
    paths: Iterator[ContactPath]
    errors: list[RowError]

    def head(self) -> dict[str, Any]:
        """The report's keys other than its contacts (``DryRunReport.as_dict``)."""
        return {"journey": self.journey, "version": self.version, "at": iso_moment(self.at)}


@dataclass(frozen=True, slots=True)
class DryRunSetup:
    """A journey file made ready for dry runs: its project's configuration, the journey,
    its segments, and whether it needs Salesforce (``engine.org_reads``), which the caller
    asks before opening a connector. ``config`` may be ``engine.config_view``'s light view
    (what a dry run without the org reads of it); ``project_config`` is the whole one."""

    path: Path
    config: ProjectConfig
    journey: CompiledJourney
    segments: Mapping[str, Condition]

    @property
    def needs_org(self) -> bool:
        from journey.engine.sync.mapping import record_fields

        fields = record_fields(self.config.sync, self.config.all_fields())
        return needs_org(self.journey, self.segments, fields)

    def project_config(self) -> ProjectConfig:
        """The configuration with its models, for opening a connector."""
        from journey.engine.config import ProjectConfig, load_config

        return self.config if isinstance(self.config, ProjectConfig) else load_config(self.path)


def load_dry_run(journey_path: Path) -> DryRunSetup:
    """The journey file with the project's ``journey.toml`` (found upwards from it) for
    fields and segments: read as ``journey check`` reads it (``engine.config_view``, no
    Pydantic models) when it can be. Raises ``JourneyLoadError`` (with diagnostics) or
    ``ConfigError``."""
    from journey.engine.config_view import read_view

    view = read_view(journey_path)
    if view is not None:
        config = cast("ProjectConfig", view)
    else:
        from journey.engine.config import load_config

        config = load_config(journey_path)
    journey = load_catalog(config, None, [journey_path]).current.popitem()[1]
    return DryRunSetup(journey_path, config, journey, segments_of(config))


def dry_run_file(
    journey_path: Path,
    contacts_csv: Path,
    at: datetime,
    connector: Connector | None = None,
) -> tuple[DryRunReport, list[RowError]]:
    """The dry run of one journey file over a CSV of contacts (``load_dry_run``).
    Raises ``JourneyLoadError`` (with diagnostics), ``ConfigError`` or ``IntakeError``."""
    run = stream_dry_run_file(journey_path, contacts_csv, at, connector)
    return DryRunReport(run.journey, run.version, at, list(run.paths)), run.errors


def stream_dry_run_file(
    journey_path: Path,
    contacts_csv: Path,
    at: datetime,
    connector: Connector | None = None,
    *,
    whole: bool = False,
    chunk: int = CHUNK,
) -> DryRunStream:
    """``dry_run_file`` with its paths made as they are taken (``stream_dry_run``)."""
    setup = load_dry_run(journey_path)
    return stream_dry_run(setup, contacts_csv, at, connector, whole=whole, chunk=chunk)


def stream_dry_run(
    setup: DryRunSetup,
    contacts_csv: Path,
    at: datetime,
    connector: Connector | None = None,
    *,
    reader: RecordReader | None = None,
    whole: bool = False,
    chunk: int = CHUNK,
) -> DryRunStream:
    """The dry run of ``setup``'s journey with its paths made as they are taken
    (``DryRunStream``). The CSV is streamed (``engine.dryrun_contacts``): memory holds a
    chunk and the contacts still waiting for a later row of theirs, not the file.
    ``whole``: read every contact first (the count is known before the first path; the
    refused rows too). ``connector``: none for a journey that needs no Salesforce; one
    that reads records (``connectors.sync.RecordReader``) looks each contact's record up
    first. ``reader``: reads them for a journey that calls no Salesforce action
    (``Lookups``). Either must stay open while the paths are taken. ``IntakeError`` for
    a file that cannot be read at all is raised here, before any path."""
    config, journey = setup.config, setup.journey
    evaluator = Evaluator(setup.segments, config.all_fields())
    ctx = ContactContext(config.all_fields(), evaluator, at)
    errors: list[RowError] = []
    count: int | None = None
    if whole:
        views, errors = views_from_rows(read_csv(contacts_csv), ctx)
        count = len(views)
        views.reverse()
        contacts: Iterator[ContactView] = (views.pop() for _ in range(count))
    else:
        contacts = _checked(stream_views(contacts_csv, ctx, errors))
    if reader is None and connector is not None:
        from journey.connectors.sync import RecordReader

        reader = connector if isinstance(connector, RecordReader) else None
    links = None
    if reader is not None:
        sync = lambda: setup.project_config().sync  # noqa: E731 -- loaded by the first lookup
        links = Lookups(reader, sync, config.all_fields(), ctx)
    paths = iter_dry_run(journey, contacts, at, evaluator, connector, links=links, chunk=chunk)
    return DryRunStream(journey.name, journey.version, at, count, paths, errors)


def _checked(views: Iterator[ContactView]) -> Iterator[ContactView]:
    """The stream with its first contact read now: a file that cannot be read at all
    (``IntakeError``) is refused before anything is printed."""
    first = next(views, None)
    return chain([] if first is None else [first], views)
