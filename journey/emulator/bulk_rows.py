"""What Bulk API 1.0 (``bulk1``) and Bulk API 2.0 (``bulk``) share: one ingested row written
through ``org``, and the SOQL a Bulk query refuses.

Pipeline position: below both Bulk front ends, above ``org``. Every row goes through the
same ``org.create``/``update``/``delete`` a REST call uses, so a Bulk write refuses exactly
what a REST write refuses; only the way each API reports the refusal differs (a CSV
``sf__Error`` cell, a JSON result's ``errors``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

from journey.emulator.errors import ApiError
from journey.emulator.evaluate import BoundQuery
from journey.emulator.ids import KEY_PREFIXES, checksum
from journey.emulator.org import Org
from journey.emulator.upsert import key_field, matches

__all__ = ["INGEST_OPERATIONS", "BulkQueryRefusedError", "bulk_id", "bulk_query", "write_row"]

INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
#: One numbering for both APIs' jobs, batches and results, so no two share an ID.
_NUMBERS = itertools.count(1)


def bulk_id(kind: str) -> str:
    """A new 18-character ID for a ``BulkJob``, ``BulkBatch`` or ``BulkQueryResult``."""
    head = KEY_PREFIXES[kind] + "5E0" + f"{next(_NUMBERS):09d}"
    return head + checksum(head)


class BulkQueryRefusedError(ValueError):
    """SOQL that Bulk queries do not run (each API words the refusal its own way)."""


def write_row(
    org: Org,
    operation: str,
    sobject: str,
    values: Mapping[str, Any],
    *,
    external_id: str | None,
    assign: bool,
    from_text: bool,
    lock_fault: Callable[[], bool],
) -> tuple[str, bool]:
    """Apply one row of an ingest job: the record's ID and whether it was created.
    Raises ``ApiError`` for a refused row; the job goes on with the next."""
    if lock_fault():
        raise ApiError(
            400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
        )
    if operation == "insert":
        return org.create(sobject, values, auto_assign=assign, from_text=from_text), True
    if operation in ("delete", "hardDelete"):
        record_id = str(values.get("Id") or "")
        definition, record = org.locate(sobject, record_id)
        org.delete(definition.name, record_id)
        if operation == "hardDelete":
            org.store.purge(record["Id"])
        return str(record["Id"]), False
    if operation == "update":
        key = org.object(sobject).field("Id")
    else:  # upsert: only on an external ID or idLookup field, as REST's upsert
        key = key_field(org, sobject, external_id or "Id")
    assert key is not None
    match_value = next((v for k, v in values.items() if k.lower() == key.name.lower()), None)
    rest = {k: v for k, v in values.items() if k != "Id"}
    if key.type == "id":
        if not match_value:
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        _, record = org.locate(sobject, str(match_value))
        org.update(sobject, record["Id"], rest, auto_assign=assign, from_text=from_text)
        return str(record["Id"]), False
    found = matches(org, sobject, key, match_value) if match_value not in (None, "") else []
    if len(found) > 1:
        raise ApiError(
            400,
            "DUPLICATE_EXTERNAL_ID",
            f"{key.name}: more than one record found for external id field",
        )
    if found:
        org.update(sobject, found[0]["Id"], rest, auto_assign=assign, from_text=from_text)
        return str(found[0]["Id"]), False
    return org.create(sobject, rest, auto_assign=assign, from_text=from_text), True


def bulk_query(
    org: Org, soql: str, include_deleted: bool, *, child_rows: bool
) -> tuple[BoundQuery, list[Mapping[str, Any]]]:
    """Run ``soql`` as a Bulk query. Neither Bulk API runs ``OFFSET`` or aggregate functions
    such as ``COUNT()`` ("Bulk API 2.0 doesn't support SOQL queries that include any of
    these items: GROUP BY, OFFSET, or TYPEOF clauses. Aggregate Functions such as COUNT()",
    https://developer.salesforce.com/docs/atlas.en-us.238.0.api_asynch.meta/api_asynch/queries.htm;
    the same for Bulk API,
    https://developer.salesforce.com/docs/atlas.en-us.232.0.api_asynch.meta/api_asynch/asynch_api_using_bulk_query.htm).
    Parent-to-child subqueries (``child_rows`` False) are refused by Bulk API 2.0's CSV
    results, with the wording a v59.0 org answers (OpenFn/adaptors#395); Bulk API's JSON
    and XML results hold them. A SOQL error is an ``ApiError``; an unsupported clause is
    ``BulkQueryRefusedError``."""
    bound, records = org.query(soql, include_deleted)
    if not child_rows and bound.children:
        raise BulkQueryRefusedError(
            "Aggregate Relationships not supported in Bulk V2 Query with CSV content type."
        )
    if not child_rows and bound.typeofs:
        raise BulkQueryRefusedError("TYPEOF is not supported by Bulk API 2.0")
    if bound.count:
        raise BulkQueryRefusedError("Aggregate queries are not supported by the Bulk API")
    if bound.offset is not None:
        raise BulkQueryRefusedError("OFFSET clause is not supported by the Bulk API")
    return bound, records
