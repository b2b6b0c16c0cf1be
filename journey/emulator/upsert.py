"""Upsert: find a record by an external ID (or idLookup) field, then update it or create it.

Pipeline position: called by ``rest`` for ``sobjects/X/{Field}/{value}`` (GET, PATCH) and
``POST sobjects/X/Id``, and by ``composite`` for the Collections upsert
``PATCH composite/sobjects/X/{Field}``; below them, ``org`` does the writes. Salesforce's
rules, as documented:

* Only a field with the External ID attribute or the idLookup property matches records
  ("available for objects if the object has an external ID field or a field with the
  idLookup field property",
  https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_upsert.htm).
* "Do not specify Id or an external ID field in the request body or an error is generated"
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_upsert_patch.htm).
* ``?updateOnly=true`` updates a match and never creates one ("To prevent a new record from
  being created, use the updateOnly parameter", same page).
* One match updates, none creates, several answer 300 with the matches' URLs (same page).
* Custom external IDs match case-sensitively ("Custom field matching is case-insensitive
  only if the custom field has the Unique and Treat "ABC" and "abc" as duplicate values
  (case insensitive) attributes selected",
  https://developer.salesforce.com/docs/atlas.en-us.apexcode.meta/apexcode/langCon_apex_dml_examples_upsert.htm);
  standard idLookup fields (e-mail addresses, IDs) ignore case.
* Collections upsert: "Only external ids are supported. Don't use record ids."; records
  only of the URI's type, each with ``attributes.type``; up to 200
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_upsert.htm).

The refusals' codes and wording are the emulator's where the pages show none: 400
``INVALID_FIELD`` for a field that is no upsert key or that the body repeats, 404
``NOT_FOUND`` for ``updateOnly`` without a match.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from journey.emulator.errors import ApiError, not_found
from journey.emulator.ids import InvalidIdError, to_18
from journey.emulator.org import Org
from journey.emulator.protocol import Request, Response, json_response
from journey.emulator.schema import NUMBER_TYPES, FieldDef

__all__ = ["by_external_id", "create_by_id", "key_field", "upsert_records"]

#: One record's upsert, as the Collections runner calls it: (id, created).
Upsert = Callable[[], tuple[str, bool]]


def key_field(org: Org, sobject: str, field_name: str, *, record_ids: bool = True) -> FieldDef:
    """The field an upsert or external-ID read matches on, or Salesforce's refusal."""
    definition = org.object(sobject)
    field = definition.field(field_name)
    if field is None:
        raise ApiError(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {field_name}",
        )
    if not field.upsert_key or (field.type == "id" and not record_ids):
        raise ApiError(
            400,
            "INVALID_FIELD",
            f"Field name provided, {field.name} is not an External ID or indexed field "
            f"for {definition.name}",
            [field.name],
        )
    return field


def matches(org: Org, sobject: str, field: FieldDef, value: Any) -> list[Mapping[str, Any]]:
    """The live records of ``sobject`` whose ``field`` holds ``value``."""
    if field.type == "id":
        try:
            found = org.store.get(to_18(str(value)))
        except InvalidIdError:
            return []
        live = found is not None and not found[2] and found[0].lower() == sobject.lower()
        return [found[1]] if found is not None and live else []
    wanted = _comparable(field, value)
    if wanted is None:
        return []
    return [
        r
        for r in org.store.scan(org.object(sobject).name)
        if r.get(field.name) is not None and _comparable(field, r[field.name]) == wanted
    ]


def _comparable(field: FieldDef, value: Any) -> Any:
    if field.type in NUMBER_TYPES:
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    text = str(value)
    return text if field.external_id and field.custom else text.lower()


def _refuse_repeated_key(field: FieldDef, values: Mapping[str, Any]) -> None:
    for name in values:
        if name.lower() in (field.name.lower(), "id"):
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"The upsert key {field.name} is in the URL; the request body must not "
                f"hold {name} (nor Id)",
                [name],
            )


def by_external_id(
    org: Org, request: Request, sobject: str, field_name: str, value: str
) -> Response:
    """``sobjects/X/{Field}/{value}``: GET the match, or PATCH to upsert it."""
    if request.method not in ("GET", "PATCH"):
        raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed.")
    field = key_field(org, sobject, field_name)
    found = matches(org, sobject, field, value)
    if len(found) > 1:
        return json_response(300, [org.attributes(sobject, r["Id"])["url"] for r in found])
    if request.method == "GET":
        if not found:
            raise not_found()
        return json_response(200, org.retrieve(sobject, str(found[0]["Id"]), None))
    values = _object(request.json())
    _refuse_repeated_key(field, values)
    if found:
        record_id = str(found[0]["Id"])
        org.update(sobject, record_id, values, auto_assign=request.auto_assign)
        return json_response(
            200, {"id": record_id, "success": True, "errors": [], "created": False}
        )
    if request.params.get("updateOnly", "false").lower() == "true" or field.type == "id":
        raise not_found()  # updateOnly never creates; a record ID names what exists
    record_id = org.create(sobject, {**values, field.name: value}, auto_assign=request.auto_assign)
    return json_response(201, {"id": record_id, "success": True, "errors": [], "created": True})


def create_by_id(org: Org, request: Request, sobject: str) -> Response:
    """``POST sobjects/X/Id``: "the use of Id as the specified external ID field and null as
    the value" creates a record (API 37.0+,
    https://developer.salesforce.com/docs/atlas.en-us.222.0.api_rest.meta/api/resources_sobject_upsert.htm)."""
    values = _object(request.json())
    _refuse_repeated_key(org.object(sobject).fields["id"], values)
    record_id = org.create(sobject, values, auto_assign=request.auto_assign)
    return json_response(201, {"id": record_id, "success": True, "errors": [], "created": True})


def upsert_records(
    org: Org, request: Request, sobject: str, field_name: str
) -> tuple[list[tuple[str | None, Upsert]], bool]:
    """The Collections upsert's operations (one per record) and its ``allOrNone``."""
    field = key_field(org, sobject, field_name, record_ids=False)
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", 'expected {"records": [...]}')
    name = org.object(sobject).name
    operations: list[tuple[str | None, Upsert]] = [
        (None, _one(org, name, field, record, request.auto_assign)) for record in body["records"]
    ]
    return operations, bool(body.get("allOrNone", False))


def _one(org: Org, sobject: str, field: FieldDef, record: Any, auto_assign: bool) -> Upsert:
    def run() -> tuple[str, bool]:
        if not isinstance(record, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "each record must be a JSON object")
        kind = (record.get("attributes") or {}).get("type")
        if not kind:
            raise ApiError(400, "INVALID_TYPE", "No type provided for the sObject")
        if str(kind).lower() != sobject.lower():
            raise ApiError(
                400, "INVALID_TYPE", f"Records must all be of type {sobject}, not {kind}"
            )
        values = {k: v for k, v in record.items() if k != "attributes"}
        if any(k.lower() == "id" for k in values):
            raise ApiError(
                400, "INVALID_FIELD", "Only external ids are supported; remove the record Id"
            )
        key = next((v for k, v in values.items() if k.lower() == field.name.lower()), None)
        if key is None or key == "":
            raise ApiError(
                400,
                "MISSING_ARGUMENT",
                f"{field.name} not specified: each record needs its external ID",
                [field.name],
            )
        found = matches(org, sobject, field, key)
        if len(found) > 1:
            raise ApiError(
                300,
                "DUPLICATE_EXTERNAL_ID",
                f"{field.name}: more than one record found for external id field: "
                f"{[str(r['Id']) for r in found]}",
                [field.name],
            )
        if found:
            record_id = str(found[0]["Id"])
            rest = {k: v for k, v in values.items() if k.lower() != field.name.lower()}
            org.update(sobject, record_id, rest, auto_assign=auto_assign)
            return record_id, False
        return org.create(sobject, values, auto_assign=auto_assign), True

    return run


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    return data
