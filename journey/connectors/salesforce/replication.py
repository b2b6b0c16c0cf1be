"""The Salesforce side of the sync: changed and deleted records through Composite, first
reads (Bulk API 2.0 above a threshold), Collections writes, describe.

Pipeline position: ``engine.sync`` -> ``connectors.sync.SyncSource`` -> **replication**
-> ``batching.OrgApi`` (budget check, retries) -> simple-salesforce -> the org.

An idle cycle costs one API call for up to five objects: a ``composite`` request whose
subrequests are, per object, one ``queryAll`` of the records changed since the watermark
(``SystemModstamp >= since``) — live ones in scope and deleted ones (``IsDeleted``: the
recycle bin) together — and, with criteria, one ``query`` of the changed ones that no
longer meet them (``NOT (criteria)``). Composite counts as one call, and a query that
finds nothing costs nothing more. Salesforce allows at most 5 query/queryAll subrequests
in one Composite request ("Up to 5 of these subrequests can be sObject Collections or
query operations, including Query and QueryAll requests",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite_post.htm),
so more objects, or criteria, take more calls: ``ceil(subrequests / 5)``. A page beyond
the first 2,000 records costs another call.

``describe`` is read once per object and kept in the connector's state (``sf_settings``),
so a cycle selects only fields the org has without paying for it again; ``journey
salesforce fields refresh`` reads it anew.

Every value put into SOQL goes through ``simple_salesforce.format_soql``; field names are
checked against a strict pattern before they are put in, as names cannot be quoted.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

from simple_salesforce.bulk2 import Operation
from simple_salesforce.format import format_soql

from journey.connectors.salesforce.batching import OrgApi, queries_in
from journey.connectors.salesforce.connector import (
    LIMIT_PAUSE,
    PAUSE_KEY,
    SalesforceConnector,
    current_pause,
)
from journey.connectors.salesforce.describe import described_fields, field_info
from journey.connectors.salesforce.errors import (
    CallRefusedError,
    PausedError,
    TransientError,
    first_error,
)
from journey.connectors.salesforce.state import ConnectorState
from journey.connectors.sync import (
    Criterion,
    FieldInfo,
    ObjectChanges,
    ObjectRead,
    Record,
    SyncPaused,
    SyncReadError,
    WriteResult,
)
from journey.vocabulary import AUTO_ASSIGN_HEADER

__all__ = [
    "COMPOSITE_QUERIES",
    "SalesforceReplication",
    "criteria_soql",
    "replication_for",
    "select_soql",
]

T = TypeVar("T")
#: Query/queryAll subrequests Salesforce takes in one Composite request (module docstring).
COMPOSITE_QUERIES = 5
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_NO_AUTO_ASSIGN = {AUTO_ASSIGN_HEADER: "FALSE"}
BULK_PAGE = 50000


def _name(name: str) -> str:
    if not _NAME.match(name):
        raise SyncReadError("INVALID_FIELD", f"{name!r} is not a Salesforce field name")
    return name


def _soql_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one(field: str, op: str, value: str | float | bool) -> str:
    """One value's comparison, escaped by ``format_soql``."""
    if op == "is":
        return format_soql(f"{field} = {{}}", value)
    if op == "is not":
        return format_soql(f"{field} != {{}}", value)
    if op == "contains":
        return format_soql(f"{field} LIKE '%{{:like}}%'", str(value))
    if op == "starts with":
        return format_soql(f"{field} LIKE '{{:like}}%'", str(value))
    if op in (">", ">=", "<", "<="):
        return format_soql(f"{field} {op} {{}}", value)
    raise SyncReadError("INVALID_CRITERIA", f"unknown operator {op!r} on {field}")


def criteria_soql(criteria: Sequence[Criterion]) -> str:
    """The criteria as a SOQL condition (ANDed; several values of one criterion OR-ed;
    ``is not`` with several values: none of them; ``is empty`` on a checkbox: unchecked)."""
    parts: list[str] = []
    for criterion in criteria:
        field = _name(criterion.field)
        if criterion.op in ("is empty", "is not empty"):
            if criterion.type == "boolean":
                # A checkbox is never null: unchecked is its empty value.
                parts.append(f"{field} = {'false' if criterion.op == 'is empty' else 'true'}")
            else:
                parts.append(f"{field} {'=' if criterion.op == 'is empty' else '!='} null")
            continue
        if not criterion.values:
            raise SyncReadError("INVALID_CRITERIA", f"{field} {criterion.op}: no value")
        joiner = " AND " if criterion.op == "is not" else " OR "
        each = [_one(field, criterion.op, v) for v in criterion.values]
        parts.append(each[0] if len(each) == 1 else "(" + joiner.join(each) + ")")
    return " AND ".join(parts)


def select_soql(read: ObjectRead, *, count: bool = False) -> str:
    """``SELECT fields FROM object WHERE criteria AND SystemModstamp >= since``."""
    fields = list(dict.fromkeys(["Id", "SystemModstamp", *map(_name, read.fields)]))
    where = [w for w in (criteria_soql(read.criteria),) if w]
    if read.since is not None:
        where.append(f"SystemModstamp >= {_soql_datetime(read.since)}")
    columns = "COUNT()" if count else ", ".join(fields)
    soql = f"SELECT {columns} FROM {_name(read.object)}"
    if where:
        soql += " WHERE " + " AND ".join(where)
    return soql


def _flatten(record: Mapping[str, Any], prefix: str = "") -> Record:
    """A REST record (nested relationship objects) as flat API paths."""
    out: Record = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


class SalesforceReplication:
    """``connectors.sync.SyncSource`` over an ``OrgApi``. ``state`` (optional) shares the
    actions connector's pause: a 401 seen by either stops both until a renew.
    ``bulk_page``: records per Bulk API 2.0 result page (``maxRecords``)."""

    def __init__(
        self,
        api: OrgApi,
        state: ConnectorState | None = None,
        *,
        bulk_threshold: int = 10000,
        bulk_page: int = BULK_PAGE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api = api
        self.state = state
        self.bulk_threshold = bulk_threshold
        self.bulk_page = bulk_page
        self.clock = clock
        self.cache: dict[str, list[FieldInfo]] = {}

    # ---- calls, translated to the interface's exceptions -------------------------------
    def _guard(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except PausedError as problem:
            self._pause(problem)
            raise SyncPaused(problem.code, problem.message, problem.until) from None
        except (TransientError, CallRefusedError) as problem:
            raise SyncReadError(problem.code, problem.message) from None

    def _call(self, fn: Callable[[], T]) -> T:
        return self._guard(partial(self.api.call, fn))

    def _pause(self, problem: PausedError) -> None:
        if self.state is None:
            return
        now = self.clock()
        until = problem.until
        if until is None and problem.code == "REQUEST_LIMIT_EXCEEDED":
            until = now + LIMIT_PAUSE  # as the actions connector: a cap ends by itself
        self.state.put(
            PAUSE_KEY,
            {
                "code": problem.code,
                "message": problem.message,
                "since": now.isoformat(),
                "until": until.isoformat() if until else None,
            },
        )

    def check(self) -> None:
        if self.state is None:
            return
        pause = current_pause(self.state, self.clock())
        if pause is not None:
            until = pause.get("until")
            raise SyncPaused(
                str(pause.get("code")),
                str(pause.get("message")),
                datetime.fromisoformat(until) if until else None,
            )

    @property
    def api_calls(self) -> int:
        return self.api.budget.calls

    def _save_budget(self) -> None:
        self.api.budget.save()

    # ---- reads --------------------------------------------------------------------------
    def _composite(self, queries: list[tuple[str, str, str]]) -> dict[str, dict[str, Any]]:
        """(reference, resource, SOQL) subrequests, ``COMPOSITE_QUERIES`` a call;
        reference -> answer."""
        base = f"/services/data/v{self.api.sf.sf_version}"
        answers: dict[str, dict[str, Any]] = {}
        for start in range(0, len(queries), COMPOSITE_QUERIES):
            chunk = queries[start : start + COMPOSITE_QUERIES]
            body = {
                "allOrNone": False,
                "compositeRequest": [
                    {"method": "GET", "url": f"{base}/{res}/?q={quote(soql)}", "referenceId": ref}
                    for ref, res, soql in chunk
                ],
            }
            answer: Any = self._call(
                partial(self.api.sf.restful, "composite", method="POST", json=body)
            )
            for sub in answer.get("compositeResponse", []):
                status = int(sub.get("httpStatusCode", 500))
                if status >= 300:
                    code, message = first_error(sub.get("body"))
                    if status == 401:
                        problem = PausedError(code, f"{message} — run `journey salesforce renew`")
                        self._pause(problem)
                        raise SyncPaused(problem.code, problem.message)
                    raise SyncReadError(code, f"{sub.get('referenceId')}: {message}")
                answers[str(sub["referenceId"])] = sub["body"]
        return answers

    def _rest_of(self, page: dict[str, Any]) -> list[Record]:
        """The page's records and every following page's (``nextRecordsUrl``)."""
        rows = [_flatten(r) for r in page.get("records", [])]
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            url = str(page["nextRecordsUrl"])
            page = self._call(partial(self.api.sf.query_more, url, identifier_is_url=True))
            rows.extend(_flatten(r) for r in page.get("records", []))
        return rows

    def read_changes(self, reads: Sequence[ObjectRead]) -> dict[str, ObjectChanges]:
        queries: list[tuple[str, str, str]] = []
        for read in reads:
            if read.since is None:
                queries.append((f"changed_{read.object}", "query", select_soql(read)))
                continue
            stamp = _soql_datetime(read.since)
            fields = list(dict.fromkeys(["Id", "SystemModstamp", *map(_name, read.fields)]))
            where = f"SystemModstamp >= {stamp}"
            if read.criteria:
                where += f" AND (({criteria_soql(read.criteria)}) OR IsDeleted = true)"
            queries.append(
                (
                    f"changed_{read.object}",
                    "queryAll",
                    f"SELECT {', '.join([*fields, 'IsDeleted'])} FROM {_name(read.object)} "
                    f"WHERE {where}",
                )
            )
            if read.criteria:
                queries.append(
                    (
                        f"left_{read.object}",
                        "query",
                        f"SELECT Id FROM {_name(read.object)} WHERE "
                        f"SystemModstamp >= {stamp} AND NOT ({criteria_soql(read.criteria)})",
                    )
                )
        try:
            answers = self._composite(queries)
            out: dict[str, ObjectChanges] = {}
            for read in reads:
                changes = ObjectChanges()
                for row in self._rest_of(answers[f"changed_{read.object}"]):
                    if row.pop("IsDeleted", False) in (True, "true"):
                        changes.deleted.append(str(row["Id"]))
                    else:
                        changes.records.append(row)
                if f"left_{read.object}" in answers:
                    changes.left_scope = [
                        str(r["Id"]) for r in self._rest_of(answers[f"left_{read.object}"])
                    ]
                out[read.object] = changes
            return out
        finally:
            self._save_budget()

    def count(self, reads: Sequence[ObjectRead]) -> dict[str, int]:
        queries = [(read.object, "query", select_soql(read, count=True)) for read in reads]
        try:
            answers = self._composite(queries)
        finally:
            self._save_budget()
        return {ref: int(body.get("totalSize", 0)) for ref, body in answers.items()}

    def read_all(self, read: ObjectRead, expected: int) -> Iterator[list[Record]]:
        soql = select_soql(read)
        try:
            if expected > self.bulk_threshold:
                yield from self._bulk(read.object, soql)
                return
            page: dict[str, Any] = self._call(partial(self.api.sf.query, soql))
            while True:
                yield [_flatten(r) for r in page.get("records", [])]
                if page.get("done", True) or not page.get("nextRecordsUrl"):
                    return
                url = str(page["nextRecordsUrl"])
                page = self._call(partial(self.api.sf.query_more, url, identifier_is_url=True))
        finally:
            self._save_budget()

    def _bulk(self, sobject: str, soql: str) -> Iterator[list[Record]]:
        """Bulk API 2.0: one query job, CSV pages of ``bulk_page`` records, each request
        through ``OrgApi.call`` (budget, retries, a new token on a 401: the same page is
        asked for again). simple-salesforce's ``query`` generator cannot resume at a
        locator after a failed page, so the job is driven through its client."""

        def client() -> Any:
            return getattr(self.api.sf.bulk2, sobject)._client

        def results(at: str) -> Any:
            return client().get_query_results(job_id, at, self.bulk_page)

        job: Any = self._call(lambda: client().create_job(Operation.query, soql))
        job_id = str(job["id"])
        self._call(lambda: client().wait_for_job(job_id, True, self.api.bulk_poll_seconds))
        locator = ""
        while True:
            page = self._call(partial(results, locator))
            rows: list[Record] = []
            for row in csv.DictReader(io.StringIO(str(page["records"]))):
                rows.append({k: (v if v != "" else None) for k, v in row.items()})
            yield rows
            locator = str(page.get("locator") or "")
            if not locator:
                return

    def read_records(
        self,
        sobject: str,
        fields: Sequence[str],
        *,
        ids: Sequence[str] = (),
        emails: Sequence[str] = (),
    ) -> list[Record]:
        """``connectors.sync.RecordReader``: by ID, or by Email — SOQL's ``=``/``IN`` on a
        text field ignores letter case (developer.salesforce.com/docs/platform/
        salesforce-soql-sosl/guide/sforce-api-calls-soql-select-comparisonoperators.html)
        — a Lead only while ``IsConverted`` is false, oldest first (``CreatedDate``)."""
        columns = ", ".join(dict.fromkeys(["Id", "SystemModstamp", *map(_name, fields)]))
        table = _name(sobject)
        texts: list[str] = []
        if ids:
            texts += queries_in(f"SELECT {columns} FROM {table} WHERE Id IN {{values}}", ids)
        if emails:
            unconverted = " AND IsConverted = false" if sobject == "Lead" else ""
            texts += queries_in(
                f"SELECT {columns} FROM {table} WHERE Email IN {{values}}{unconverted} "
                "ORDER BY CreatedDate",
                emails,
            )
        # The chunks' queries go five to a Composite call (``_composite``): one API call
        # and one round trip where each query alone would cost its own.
        queries = [(f"read_{i}", "query", soql) for i, soql in enumerate(texts)]
        try:
            answers = self._composite(queries)
            return [row for ref, _, _ in queries for row in self._rest_of(answers[ref])]
        finally:
            self._save_budget()

    # ---- writes -------------------------------------------------------------------------
    def update(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Collections PATCH, 200 a call; no assignment rules (the sync mirrors data, it
        must not re-assign the Lead it writes)."""
        try:
            saved = self._guard(partial(self.api.update, sobject, records, _NO_AUTO_ASSIGN))
        finally:
            self._save_budget()
        return [WriteResult(s.id if s.ok else None, s.code, s.message) for s in saved]

    def create(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        try:
            saved = self._guard(partial(self.api.create, sobject, records, _NO_AUTO_ASSIGN))
        finally:
            self._save_budget()
        return [WriteResult(s.id if s.ok else None, s.code, s.message) for s in saved]

    def describe(self, sobject: str, *, refresh: bool = False) -> list[FieldInfo]:
        """The object's fields: what the connector state keeps
        (``connectors.salesforce.describe``; without a state, this source's memory), else
        one describe call, kept. Read from the state each time, so a refresh by another
        process (``journey salesforce fields refresh``) reaches a running sync."""
        name = _name(sobject)

        def read() -> Mapping[str, Any]:
            try:
                answer: Any = self._call(lambda: getattr(self.api.sf, name).describe())
            finally:
                self._save_budget()
            return dict(answer)

        if self.state is not None:
            self.cache[name] = described_fields(self.state, name, read, refresh=refresh)
        elif refresh or name not in self.cache:
            self.cache[name] = [field_info(f) for f in read().get("fields", [])]
        return self.cache[name]


def replication_for(connector: object, *, bulk_threshold: int = 10000) -> SalesforceReplication:
    """The sync source sharing an open Salesforce connector's client, budget and pause
    (``connectors.factory.open_connector(...).connector``)."""
    if not isinstance(connector, SalesforceConnector):
        raise TypeError("the sync needs the Salesforce connector (not the journaling connector)")
    return SalesforceReplication(
        connector.api, connector.state, bulk_threshold=bulk_threshold, clock=connector.clock
    )
