"""sObject Tree (``POST composite/tree/{Object}``): records with their children, created
all or nothing.

Pipeline position: routed from ``composite``; the records are created through ``org`` in one
store transaction. As documented
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobject_tree.htm,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/requests_composite_sobject_tree.htm,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/responses_composite_sobject_tree.htm):

* ``{"records": [{"attributes": {"type", "referenceId"}, fields…, "Contacts": {"records":
  [...]}}]}``: each root of the URI's type, children under their child relationship name.
  A ``referenceId`` "is case-sensitive and must be unique in the context of the request.
  Values must start with an alphanumeric character and contain only letters, numbers, or
  underscores".
* "Up to a total of 200 records across all trees", "up to five records of different types",
  "sObject trees up to five levels deep".
* "If an error occurs while creating a record, the entire request fails. In this case, the
  response contains only the reference ID of the record that caused the error and the error
  information"; "In the case of duplicate reference IDs, results contains one item for each
  instance of the duplicate ID."
* Success: ``{"hasErrors": false, "results": [{"referenceId", "id"}]}``, roots first, then
  each level in turn (the order records are created in: "Root records across all sObject
  trees in the request", then "All second-level records of the same type", …).

The statuses (201 created, 400 refused) follow the REST API's status codes
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm);
the refusals' error codes and wording are the emulator's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from journey.emulator.errors import ApiError
from journey.emulator.field_reference import CHILD_RELATIONSHIPS
from journey.emulator.org import Org
from journey.emulator.protocol import Request, Response, json_response

__all__ = ["MAX_TREE_RECORDS", "create_tree"]

MAX_TREE_RECORDS = 200
MAX_TREE_TYPES = 5
MAX_TREE_DEPTH = 5
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")


@dataclass
class _Node:
    sobject: str
    reference: str
    values: dict[str, Any]
    level: int
    parent: _Node | None = None
    parent_field: str | None = None
    record_id: str | None = field(default=None, init=False)


class _RolledBackError(Exception):
    def __init__(self, reference: str, error: ApiError) -> None:
        super().__init__(reference)
        self.reference = reference
        self.error = error


def create_tree(org: Org, request: Request, sobject: str) -> Response:
    """Create every record of the trees, or none; the documented answer either way."""
    root_type = org.object(sobject).name
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", 'expected {"records": [...]}')
    nodes: list[_Node] = []
    _collect(org, body["records"], root_type, None, None, 1, nodes)
    if len(nodes) > MAX_TREE_RECORDS:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"An sObject tree request holds at most {MAX_TREE_RECORDS} records, not {len(nodes)}",
        )
    if len({n.sobject for n in nodes}) > MAX_TREE_TYPES:
        raise ApiError(
            400, "LIMIT_EXCEEDED", f"An sObject tree holds at most {MAX_TREE_TYPES} types"
        )
    refused = _reference_errors(nodes)
    if refused:
        return json_response(400, {"hasErrors": True, "results": refused})
    ordered = sorted(nodes, key=lambda n: n.level)  # stable: request order within a level
    try:
        with org.store.transaction():
            for node in ordered:
                values = dict(node.values)
                if node.parent is not None and node.parent_field is not None:
                    values[node.parent_field] = node.parent.record_id
                try:
                    node.record_id = org.create(
                        node.sobject, values, auto_assign=request.auto_assign
                    )
                except ApiError as error:
                    raise _RolledBackError(node.reference, error) from None
    except _RolledBackError as failure:
        result = {"referenceId": failure.reference, "errors": [failure.error.save_error()]}
        return json_response(400, {"hasErrors": True, "results": [result]})
    results = [{"referenceId": n.reference, "id": n.record_id} for n in ordered]
    return json_response(201, {"hasErrors": False, "results": results})


def _collect(
    org: Org,
    records: list[Any],
    expected: str,
    parent: _Node | None,
    parent_field: str | None,
    level: int,
    out: list[_Node],
) -> None:
    if level > MAX_TREE_DEPTH:
        raise ApiError(
            400, "LIMIT_EXCEEDED", f"sObject trees are at most {MAX_TREE_DEPTH} levels deep"
        )
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("attributes"), dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "each tree record needs its attributes")
        attributes = record["attributes"]
        kind = str(attributes.get("type") or "")
        if kind.lower() != expected.lower():
            raise ApiError(
                400, "INVALID_TYPE", f"expected a record of type {expected}, not {kind!r}"
            )
        node = _Node(expected, str(attributes.get("referenceId") or ""), {}, level, parent)
        node.parent_field = parent_field
        out.append(node)
        for key, value in record.items():
            if key == "attributes":
                continue
            child = _child(expected, key) if isinstance(value, dict) else None
            if child is None:
                node.values[key] = value
                continue
            children = value.get("records")
            if not isinstance(children, list):
                raise ApiError(400, "JSON_PARSER_ERROR", f'{key} expects {{"records": [...]}}')
            _collect(org, children, child[0], node, child[1], level + 1, out)


def _child(parent: str, name: str) -> tuple[str, str] | None:
    for relationship, child in CHILD_RELATIONSHIPS.get(parent, {}).items():
        if relationship.lower() == name.lower():
            return child
    raise ApiError(
        400,
        "INVALID_FIELD",
        f"No such child relationship '{name}' on entity '{parent}'",
        [name],
    )


def _reference_errors(nodes: list[_Node]) -> list[dict[str, Any]]:
    """One result per record whose reference ID is missing, malformed or repeated."""
    seen: dict[str, int] = {}
    for node in nodes:
        seen[node.reference] = seen.get(node.reference, 0) + 1
    out = []
    for node in nodes:
        if not _REFERENCE_ID.match(node.reference):
            message = f"Invalid referenceId {node.reference!r}: letters, digits and _ only"
        elif seen[node.reference] > 1:
            message = f"Duplicate ReferenceId provided in the request: {node.reference}"
        else:
            continue
        error = ApiError(400, "INVALID_INPUT", message, [])
        out.append({"referenceId": node.reference, "errors": [error.save_error()]})
    return out
