"""SpiffWorkflow's side of bench/peer.py: routing.bpmn run once per contact of a CSV.

    bench/.peer-venv/bin/python bench/peer/spiff_run.py CSV --mode memory
    bench/.peer-venv/bin/python bench/peer/spiff_run.py CSV --mode durable --db state.db
    bench/.peer-venv/bin/python bench/peer/spiff_run.py CSV --mode durable-step --db state.db
    bench/.peer-venv/bin/python bench/peer/spiff_run.py --check state.db   # restore a sample

It runs with the bench's own venv (SpiffWorkflow is no dependency of the project), as a
whole process, so its interpreter start, imports and BPMN parse are in the figure, as the
journey side's are. The BPMN is parsed once; each CSV row becomes one ``BpmnWorkflow``
whose start task's data is ``contact`` (the row, strings as read) and ``lists`` (empty),
and ``do_engine_steps()`` runs it to its end (the flow has no waits or user tasks).

Modes:

* ``memory`` — nothing is kept: the workflow is dropped once it has run.
* ``durable`` — what a durable engine built on Spiff does at the least (SpiffArena's backend
  also saves when the engine returns and keeps the spec apart, but writes every task as a
  row of its own, which costs more than the one row here): when
  ``do_engine_steps()`` hands control back, the workflow is serialised as Spiff's own
  ``BpmnWorkflowSerializer.serialize_json`` does it, less the process spec (written once,
  to the ``spec`` table, at the start): every task's state, data and delta and the
  workflow's data, as JSON, inserted into the ``workflow`` table with the contact's email;
  one transaction per instance, committed before the next starts.
* ``durable-step`` — the same row written (inserted, then replaced) after every task the
  engine completes (``did_complete_task``), each in its own committed transaction: the
  state a restart would resume from is never more than one task behind.

The SQLite file is set up as the journey's store sets up its own: WAL, ``synchronous=NORMAL``.
It prints one JSON line: how many instances completed, the count of each action (the
script tasks' names, which are the journey's action texts), the count of each path (its
actions in order, joined by `` | ``), rows written, and the seconds spent in the loop.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState

BPMN = Path(__file__).with_name("routing.bpmn")
PROCESS_ID = "routing"


class Store:
    """The durable modes' SQLite file: the spec once, then one row per instance."""

    def __init__(self, path: Path, serializer: BpmnWorkflowSerializer) -> None:
        self.serializer = serializer
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE spec (id TEXT PRIMARY KEY, state TEXT NOT NULL)")
        self.db.execute(
            "CREATE TABLE workflow (id INTEGER PRIMARY KEY, contact TEXT NOT NULL,"
            " completed INTEGER NOT NULL, state TEXT NOT NULL)"
        )
        self.writes = 0

    def save_spec(self, workflow: BpmnWorkflow) -> None:
        dct = self.serializer.to_dict(workflow)
        spec = {"spec": dct["spec"], "subprocess_specs": dct["subprocess_specs"]}
        with self.db:
            self.db.execute("INSERT INTO spec VALUES (?, ?)", (PROCESS_ID, json.dumps(spec)))

    def save(self, row_id: int, email: str, workflow: BpmnWorkflow) -> None:
        # What BpmnWorkflowSerializer.serialize_json does, in its encoder mode (nested
        # objects converted as the JSON encoder meets them), less the spec: stored once.
        registry = self.serializer.registry
        registry._encoder_mode = True
        try:
            dct = self.serializer.to_dict(workflow)
            del dct["spec"], dct["subprocess_specs"]
            dct[self.serializer.VERSION_KEY] = self.serializer.VERSION
            state = json.dumps(dct, cls=self.serializer._encoder_cls)
        finally:
            registry._encoder_mode = False
        self.db.execute("BEGIN")
        self.db.execute(
            "INSERT OR REPLACE INTO workflow VALUES (?, ?, ?, ?)",
            (row_id, email, int(workflow.is_completed()), state),
        )
        self.db.execute("COMMIT")
        self.writes += 1

    def close(self) -> None:
        self.db.close()


def run(csv_path: Path, mode: str, db_path: Path | None) -> dict[str, Any]:
    parser = BpmnParser()
    parser.add_bpmn_file(str(BPMN))
    spec = parser.get_spec(PROCESS_ID)
    store = None
    if mode != "memory":
        assert db_path is not None, "the durable modes need --db"
        store = Store(db_path, BpmnWorkflowSerializer())
        store.save_spec(BpmnWorkflow(spec))
    actions: Counter[str] = Counter()
    paths: Counter[str] = Counter()
    completed = 0
    start = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as f:
        for row_id, row in enumerate(csv.DictReader(f), start=1):
            workflow = BpmnWorkflow(spec)
            workflow.get_tasks(state=TaskState.READY)[0].data.update(contact=row, lists=[])
            taken: list[str] = []
            after_task = _after_task(taken, store, row_id, row["Email"], workflow, mode)
            workflow.do_engine_steps(did_complete_task=after_task)
            if store is not None and mode == "durable":
                store.save(row_id, row["Email"], workflow)
            if workflow.is_completed():
                completed += 1
            actions.update(taken)
            paths[" | ".join(taken)] += 1
    seconds = time.perf_counter() - start
    writes = 0
    if store is not None:
        writes = store.writes
        store.close()
    return {
        "mode": mode,
        "completed": completed,
        "actions": dict(actions),
        "paths": dict(paths),
        "writes": writes,
        "loop_seconds": seconds,
    }


def check_restores(db_path: Path, sample: int) -> dict[str, Any]:
    """Restore a spread of the saved instances with Spiff's own deserializer: proof the rows
    hold a workflow a restart could resume, not just bytes. Not timed by the bench."""
    db = sqlite3.connect(db_path)
    spec = json.loads(db.execute("SELECT state FROM spec").fetchone()[0])
    (count,) = db.execute("SELECT count(*) FROM workflow").fetchone()
    serializer = BpmnWorkflowSerializer()
    step = max(count // sample, 1)
    restored = 0
    rows = db.execute("SELECT id, state FROM workflow WHERE id % ? = 0", (step,))
    for row_id, state in rows:
        workflow = serializer.deserialize_json(json.dumps({**json.loads(state), **spec}))
        if not workflow.is_completed():
            raise SystemExit(f"instance {row_id} restored from {db_path} is not completed")
        restored += 1
    db.close()
    return {"rows": count, "restored": restored}


def _after_task(
    taken: list[str],
    store: Store | None,
    row_id: int,
    email: str,
    workflow: BpmnWorkflow,
    mode: str,
) -> Callable[[Any], None]:
    """The engine's per-task hook: note the script tasks run, and save there in step mode."""

    def after(task: Any) -> None:
        if hasattr(task.task_spec, "script"):
            taken.append(task.task_spec.bpmn_name)
        if store is not None and mode == "durable-step":
            store.save(row_id, email, workflow)

    return after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, nargs="?")
    parser.add_argument("--mode", choices=("memory", "durable", "durable-step"))
    parser.add_argument("--db", type=Path, help="the SQLite file the durable modes write")
    parser.add_argument(
        "--check", type=Path, metavar="DB", help="restore a sample of DB's saved instances"
    )
    args = parser.parse_args()
    if args.check:
        result = check_restores(args.check, 100)
    elif args.csv and args.mode:
        result = run(args.csv, args.mode, args.db)
    else:
        parser.error("give CSV and --mode, or --check DB")
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
