"""Several runners in separate processes on one PostgreSQL store: they work disjoint
contacts at any moment, every contact finishes once, no effect is applied twice; a runner
killed with SIGKILL in the middle of a batch leaves its contacts to the others once its
leases run out, and they reconcile its intents without repeating what it applied.

What is counted sits outside the engine's store: the journaling connector's own journal
(one SQLite file the workers share, written before ``perform`` returns) and a log per
worker of when it called the connector for which contacts. This file is also the
workers' script (``python -m tests.engine.test_claims_processes``). Waits have upper
bounds that only guard against hangs.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from itertools import pairwise
from pathlib import Path

import pytest
import sqlalchemy as sa

from journey.connectors.base import EffectRequest, EffectResult
from journey.connectors.recording import JournalingConnector
from journey.dsl.syntax import Action
from journey.engine.claims import ContactLease
from journey.engine.conditions import Evaluator
from journey.engine.intake import import_rows
from journey.engine.journeys import Catalog
from journey.engine.runner import PassReport, Runner
from journey.engine.store import (
    LIVE_STATUSES,
    Activity,
    Effect,
    Event,
    Run,
    Store,
    open_store,
)
from tests.engine.engine_helpers import FIELDS, T0, compiled, context

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

#: Two journeys on one trigger: each contact has two runs at once, which must stay on one
#: worker at a time.
JOURNEYS = (
    """journey "Leads"
trigger added to list "Batch"
add to list "Salesforce Leads"
update field "Nurture Stage" to "One"
add task "Call {{First Name}}" due in 1 day
""",
    """journey "Tell"
trigger added to list "Batch"
send notification "Hi {{Email}}" to "ops@acme.example"
add to list "Told"
""",
)
EFFECTS_PER_CONTACT = 3  # Salesforce Leads, the task, the notification
STEPS_PER_CONTACT = 7  # Leads: 2 actions, the update, the end; Tell: 2 actions, the end
BOUND = 180.0
ROOT = Path(__file__).resolve().parents[2]


def catalog_of(store: Store) -> Catalog:
    catalog = Catalog(store=store)
    for n, text in enumerate(JOURNEYS):
        catalog.add(compiled(text), text, f"j{n}.journey")
    return catalog


class LoggedJournal(JournalingConnector):
    """The journal, writing down when this worker called it for which contacts (one JSON
    line per call, after it returned), slowed by ``pause`` seconds after journaling so a
    kill lands between a batch's intents and their outcomes."""

    def __init__(self, journal: Path, log: Path, pause: float) -> None:
        super().__init__(journal=journal)
        self.log_file, self.pause = log.open("a", encoding="utf-8"), pause

    def perform(self, action: Action, requests: Sequence[EffectRequest]) -> list[EffectResult]:
        began = time.monotonic()
        results = super().perform(action, requests)
        time.sleep(self.pause)
        ids = [r.contact.id for r in requests]
        self.log_file.write(json.dumps([began, time.monotonic(), ids]) + "\n")
        self.log_file.flush()
        return results


def finished(store: Store) -> bool:
    """No live run, no event in the inbox, no intent without an outcome."""
    runs, ev, ef = Run, Event, Effect
    with store.engine.connect() as conn:
        return not any(
            conn.execute(sa.select(sa.func.count()).select_from(t).where(w)).scalar()
            for t, w in (
                (runs, runs.c.status.in_(LIVE_STATUSES)),
                (ev, ev.c.processed.is_(False)),
                (ef, ef.c.status == "pending"),
            )
        )


def work(args: argparse.Namespace) -> None:
    """One worker: passes until the store is finished (others may still hold contacts it
    must wait for), its leases renewed by a heartbeat thread meanwhile, as ``journey
    worker`` does; then its totals as JSON on stdout."""
    store = open_store(args.url)
    connector = LoggedJournal(Path(args.journal), Path(args.log), args.pause)
    runner = Runner(
        store,
        catalog_of(store),
        connector,
        Evaluator(None, FIELDS),
        FIELDS,
        batch_size=args.batch,
        worker_id=args.worker,
        lease_seconds=args.lease,
    )
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(args.lease / 4):
            runner.renew_leases()

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    deadline = time.monotonic() + BOUND
    if args.start:
        # Ready, then wait for the others: a process's start-up is longer than the whole
        # test's work, so workers let go one after another would not all find any.
        Path(f"{args.start}.{args.worker}").touch()
        while not Path(args.start).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    total = PassReport()
    while time.monotonic() < deadline:
        report = runner.run_until_idle(T0)
        total.add(report)
        if not (report.runs or report.events or report.reconciled) and finished(store):
            break
        time.sleep(0.05)
    stop.set()
    beat.join(timeout=BOUND)
    runner.release_all()
    connector.close()
    store.close()
    print(json.dumps(total.as_dict()))


def start(
    url: str, folder: Path, worker: str, *, lease: float, pause: float, together: bool = False
) -> subprocess.Popen[str]:
    """A worker process; ``together``: it begins when ``let_go`` says all are ready."""
    return subprocess.Popen(
        [
            sys.executable, "-m", "tests.engine.test_claims_processes",
            "--url", url, "--journal", str(folder / "journal.db"),
            "--log", str(folder / f"{worker}.log"), "--worker", worker,
            "--lease", str(lease), "--pause", str(pause), "--batch", "25",
            *(["--start", str(folder / "start")] if together else []),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def let_go(folder: Path, workers: str) -> None:
    """Start the ``together`` workers once each has opened its store and runner."""
    deadline = time.monotonic() + BOUND
    while not all((folder / f"start.{w}").exists() for w in workers):
        assert time.monotonic() < deadline, "the workers never got ready"
        time.sleep(0.02)
    (folder / "start").touch()


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:
    opened = open_store(postgres_url)
    catalog_of(opened).publish(T0)
    yield opened
    opened.close()


def seed(store: Store, contacts: int) -> None:
    rows = [(n + 2, {"Email": f"c{n}@x.example", "First Name": f"C{n}"}) for n in range(contacts)]
    import_rows(store, rows, context(), "Batch")


def assert_every_contact_finished_once(store: Store, journal: Path, contacts: int) -> None:
    act = Activity
    with store.engine.connect() as conn:
        runs = conn.execute(sa.select(Run.c.status)).scalars().all()
        keys = conn.execute(sa.select(Effect.c.key)).scalars().all()
        per_step = conn.execute(
            sa.select(act.c.contact_id, act.c.run_id, act.c.step_id, sa.func.count())
            .where(act.c.kind != "enter")
            .group_by(act.c.contact_id, act.c.run_id, act.c.step_id)
        ).all()
        feed = conn.execute(
            sa.select(act.c.run_id, act.c.step_id).where(act.c.kind != "enter").order_by(act.c.id)
        ).all()
    assert Counter(runs) == {"completed": 2 * contacts}
    assert Counter(Counter(c for c, _, _, _ in per_step).values()) == {STEPS_PER_CONTACT: contacts}
    assert {n for *_, n in per_step} == {1}
    # Each run's steps in the feed in the journey's order.
    order: dict[int, list[str]] = defaultdict(list)
    for run_id, step in feed:
        order[run_id].append(step)
    assert {tuple(steps) for steps in order.values()} == {
        ("1", "2", "3", "end"),
        ("1", "2", "end"),
    }
    applied = JournalingConnector(journal=journal)
    try:
        assert len(keys) == contacts * EFFECTS_PER_CONTACT
        assert applied.applications() == dict.fromkeys(keys, 1)
    finally:
        applied.close()


def test_three_workers_share_the_contacts_and_never_one_at_once(
    store: Store, postgres_url: str, tmp_path: Path
) -> None:
    contacts = 300
    seed(store, contacts)
    workers = [
        start(postgres_url, tmp_path, w, lease=30.0, pause=0.02, together=True) for w in "abc"
    ]
    let_go(tmp_path, "abc")
    totals = {}
    for name, worker in zip("abc", workers, strict=True):
        out, _ = worker.communicate(timeout=BOUND)
        assert worker.returncode == 0
        totals[name] = json.loads(out)
    assert_every_contact_finished_once(store, tmp_path / "journal.db", contacts)
    # All three took part, each in its own contacts at any one moment.
    assert all(t["runs"] > 0 for t in totals.values()), totals
    calls: dict[int, list[tuple[float, float, str]]] = defaultdict(list)
    for name in "abc":
        for line in (tmp_path / f"{name}.log").read_text().splitlines():
            began, ended, ids = json.loads(line)
            for contact in ids:
                calls[contact].append((began, ended, name))
    for contact, spans in calls.items():
        spans.sort()
        for (_, first_end, first), (second_start, _, second) in pairwise(spans):
            assert first == second or first_end <= second_start, (contact, spans)


def _victim_in_flight(store: Store, victim: str) -> int:
    """Intents without an outcome of contacts the victim holds: a batch between T1 and T2."""
    ef, leases = Effect, ContactLease
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(ef.join(leases, leases.c.contact_id == ef.c.contact_id))
                .where(ef.c.status == "pending", leases.c.worker_id == victim)
            ).scalar()
            or 0
        )


def test_a_worker_killed_mid_batch_is_reconciled_by_another_without_repeats(
    store: Store, postgres_url: str, tmp_path: Path
) -> None:
    contacts = 150
    seed(store, contacts)
    # The victim dwells in its connector calls, so the kill lands inside a batch.
    victim = start(postgres_url, tmp_path, "victim", lease=1.0, pause=0.5)
    deadline = time.monotonic() + BOUND
    while _victim_in_flight(store, "victim") == 0:
        assert victim.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.01)
    survivor = start(postgres_url, tmp_path, "survivor", lease=1.0, pause=0.0)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=BOUND)
    out, _ = survivor.communicate(timeout=BOUND)
    assert survivor.returncode == 0
    # The victim's intents in flight went to the survivor once its leases ran out.
    assert json.loads(out)["reconciled"] > 0
    assert_every_contact_finished_once(store, tmp_path / "journal.db", contacts)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("url", "journal", "log", "worker"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--start", default="", help="begin once this file exists")
    work(parser.parse_args(argv))


if __name__ == "__main__":
    main()
