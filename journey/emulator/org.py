"""The emulated org's records: create, read, update, delete and query, as a real org does them.

Pipeline position: below the HTTP layer (``rest``, ``composite``, ``bulk``, ``soap``),
above the ``store``. A write takes the client's values and refuses what no write may set
(``write_checks.apply_values``), fills what particular objects derive (``object_rules``),
checks the whole record (``write_checks.validate``), runs the Lead assignment rules
(``assignment``) and stamps the system timestamps — one store transaction. Formula fields
(``formula``) are computed on read and never stored, so they bump no timestamp. Deleted
records stay in the recycle bin, seen only by ``queryAll``, until ``replication`` empties it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from journey.emulator.assignment import RuleEntry, choose_owner, load_rules
from journey.emulator.errors import ApiError, not_found
from journey.emulator.evaluate import BoundQuery, CachingReader, bind
from journey.emulator.formula import Formula, compile_formulas
from journey.emulator.ids import InvalidIdError, to_18
from journey.emulator.object_rules import derive, lead_status, sync_person_contact
from journey.emulator.replication import empty_recycle_bin
from journey.emulator.schema import ObjectDef, Schema, standard_schema
from journey.emulator.soql import Comparison, Condition, SoqlError, parse_query
from journey.emulator.store import Store
from journey.emulator.values import format_datetime
from journey.emulator.write_checks import apply_values, validate

__all__ = ["Clock", "Org"]

Clock = Callable[[], datetime]
Record = dict[str, Any]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Org:
    """One emulated org: its schema (standard + seed fields), rules and records."""

    def __init__(self, store: Store, clock: Clock | None = None, version: str = "59.0") -> None:
        self.store = store
        self.clock = clock or _utc_now
        self.version = version
        self.schema: Schema = standard_schema()
        self.formulas: dict[str, dict[str, Formula]] = {}
        self.rules: list[RuleEntry] = []
        self.configure()

    # ---- configuration (from the seed, kept in the store) ------------------------------
    def configure(self) -> None:
        """(Re)build schema, formulas and assignment rules from the store's settings."""
        self.schema = standard_schema(person_accounts=self.person_accounts)
        self.schema.add_custom_fields(self.store.meta("custom_fields") or {})
        self.formulas = compile_formulas(self.schema)
        lead = self.schema.get("Lead")
        assert lead is not None
        self.rules = load_rules(
            self.store.meta("assignment_rules") or [], lead, self.schema, self.today()
        )

    @property
    def person_accounts(self) -> bool:
        """Whether the seed enabled Person Accounts (off in a default org, as in Salesforce)."""
        return bool(self.store.meta("person_accounts"))

    @property
    def connected_user_id(self) -> str:
        return str(self.store.meta("connected_user"))

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def today(self) -> date:
        return self.now().date()

    def object(self, name: str) -> ObjectDef:
        sobject = self.schema.get(name)
        if sobject is None:
            raise not_found()
        return sobject

    # ---- reading ------------------------------------------------------------------------
    def view(self, sobject: str, record: Record) -> Record:
        """The record as clients see it: stored fields plus formula values."""
        formulas = self.formulas.get(sobject)
        if not formulas:
            return record
        shown = dict(record)
        for name, formula in formulas.items():
            shown[name] = formula(record)
        return shown

    def read(self, record_id: str) -> tuple[ObjectDef, Record] | None:
        """A live record by ID (for relationship paths); deleted records read as absent."""
        found = self.store.get(record_id)
        if found is None or found[2]:
            return None
        sobject = self.object(found[0])
        return sobject, self.view(sobject.name, found[1])

    def rows(self, sobject: str) -> list[Record]:
        """Every live record of ``sobject`` as clients see it (semi-joins, child subqueries)."""
        return [self.view(sobject, r) for r in self.store.scan(sobject, False)]

    def locate(self, sobject: str | None, record_id: str) -> tuple[ObjectDef, Record]:
        """The live record ``record_id`` of ``sobject``, or the 404 a real org answers."""
        try:
            canonical = to_18(record_id)
        except InvalidIdError:
            raise not_found() from None
        found = self.store.get(canonical)
        if found is None or (sobject is not None and found[0].lower() != sobject.lower()):
            raise not_found()
        if found[2]:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return self.object(found[0]), found[1]

    def retrieve(self, sobject: str, record_id: str, fields: list[str] | None) -> Record:
        """``GET sobjects/X/{id}``: attributes then every (or the listed) field."""
        definition, record = self.locate(sobject, record_id)
        shown = self.view(definition.name, record)
        names = [f.name for f in definition.fields.values()]
        if fields:
            names = []
            for name in fields:
                field = definition.field(name)
                if field is None:
                    raise ApiError(
                        400,
                        "INVALID_FIELD",
                        f"No such column '{name}' on entity '{definition.name}'.",
                    )
                names.append(field.name)
        out: Record = {"attributes": self.attributes(definition.name, record["Id"])}
        for name in names:
            out[name] = shown.get(name)
        return out

    def attributes(self, sobject: str, record_id: str) -> dict[str, str]:
        return {
            "type": sobject,
            "url": f"/services/data/v{self.version}/sobjects/{sobject}/{record_id}",
        }

    def query(self, soql: str, include_deleted: bool) -> tuple[BoundQuery, list[Mapping[str, Any]]]:
        """Run ``soql``; the rows are projected as the REST API returns them."""
        try:
            parsed = parse_query(soql)
            bound = bind(parsed, self.schema, self.today())
        except SoqlError as error:
            raise ApiError(400, error.code, error.message) from None
        if include_deleted:
            empty_recycle_bin(self)
        reader = CachingReader(self)
        wanted = _ids_wanted(parsed.where)
        if wanted is not None:  # WHERE Id = … / Id IN (…): read those records, not all
            found = [self.store.get(i) for i in wanted]
            candidates = [
                f[1]
                for f in found
                if f is not None and f[0] == bound.sobject.name and (include_deleted or not f[2])
            ]
        else:
            candidates = self.store.scan(bound.sobject.name, include_deleted)
        rows = [self.view(bound.sobject.name, r) for r in candidates]
        selected = bound.run(rows, reader)
        if bound.count:
            return bound, selected
        return bound, [bound.project(r, reader, self.version) for r in selected]

    # ---- writing ------------------------------------------------------------------------
    def create(
        self,
        sobject: str,
        values: Mapping[str, Any],
        *,
        auto_assign: bool = True,
        from_text: bool = False,
        system: bool = False,
    ) -> str:
        """Insert one record; returns its 18-character ID. ``system`` skips API-only checks
        (the seed creates users and queues this way)."""
        definition = self.object(sobject)
        if not definition.createable and not system:
            raise ApiError(
                400,
                "INVALID_TYPE_FOR_OPERATION",
                f"entity type {definition.name} does not support insert",
            )
        with self.store.transaction():
            record: Record = {
                f.name: (False if f.type == "boolean" else None)
                for f in definition.fields.values()
                if not f.calculated
            }
            apply_values(
                definition, record, values, creating=True, from_text=from_text, system=system
            )
            record["Id"] = self.store.new_id(definition.name)
            derive(self, definition, record, creating=True)
            validate(self, definition, record, values, creating=True, system=system)
            if definition.name == "Lead":
                self._assign(record, values, auto_assign, creating=True)
            elif "OwnerId" in record and record["OwnerId"] is None:
                record["OwnerId"] = self.connected_user_id
            self._stamp(record, creating=True)
            self.store.insert(definition.name, record)
            if record.get("IsPersonAccount"):
                sync_person_contact(self, record)
        return str(record["Id"])

    def update(
        self,
        sobject: str | None,
        record_id: str,
        values: Mapping[str, Any],
        *,
        auto_assign: bool = True,
        from_text: bool = False,
    ) -> None:
        """Update one record (PATCH semantics: only the given fields change)."""
        with self.store.transaction():
            definition, record = self.locate(sobject, record_id)
            if definition.name == "Lead" and record.get("IsConverted"):
                raise ApiError(
                    400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead"
                )
            if not definition.createable:
                raise ApiError(
                    400,
                    "INVALID_TYPE_FOR_OPERATION",
                    f"entity type {definition.name} does not support update",
                )
            apply_values(
                definition, record, values, creating=False, from_text=from_text, system=False
            )
            derive(self, definition, record, creating=False)
            validate(self, definition, record, values, creating=False)
            if definition.name == "Lead":
                self._assign(record, values, auto_assign, creating=False)
            self._stamp(record, creating=False)
            self.store.replace(record)
            if record.get("IsPersonAccount"):
                sync_person_contact(self, record)

    def system_update(self, record_id: str, changes: Mapping[str, Any]) -> None:
        """A change made by the org itself (conversion): no field checks, timestamps bumped."""
        found = self.store.get(record_id)
        assert found is not None
        record = found[1]
        record.update(changes)
        self._stamp(record, creating=False)
        self.store.replace(record)

    def delete(self, sobject: str | None, record_id: str) -> None:
        """Move a record to the recycle bin (``IsDeleted``; ``queryAll`` still sees it)."""
        with self.store.transaction():
            definition, record = self.locate(sobject, record_id)
            if not definition.createable:
                raise ApiError(
                    400,
                    "INVALID_TYPE_FOR_OPERATION",
                    f"entity type {definition.name} does not support delete",
                )
            now = format_datetime(self.now())
            record["IsDeleted"] = True
            record["SystemModstamp"] = now
            self.store.mark_deleted(record, now)

    def lead_status(self, name: str) -> Record | None:
        """The LeadStatus whose API name is ``name`` (any case), for conversion."""
        return lead_status(self, name)

    def _assign(
        self, record: Record, values: Mapping[str, Any], auto_assign: bool, creating: bool
    ) -> None:
        owner = record.get("OwnerId")
        if auto_assign and self.rules:
            had_owner = owner if (not creating or "OwnerId" in values) else None
            owner = choose_owner(
                self.rules,
                self.view("Lead", record),
                CachingReader(self),
                had_owner,
                self.connected_user_id,
                self.store.meta("default_lead_owner"),
            )
        record["OwnerId"] = owner or self.connected_user_id

    def _stamp(self, record: Record, creating: bool) -> None:
        now = format_datetime(self.now())
        user = self.connected_user_id
        if creating:
            record["CreatedDate"] = now
            record["CreatedById"] = user
            record["IsDeleted"] = False
        record["LastModifiedDate"] = now
        record["LastModifiedById"] = user
        record["SystemModstamp"] = now


def _ids_wanted(where: Condition | None) -> list[str] | None:
    """The IDs a top-level ``Id = 'x'`` or ``Id IN (...)`` filter allows (None: any)."""
    if not isinstance(where, Comparison) or [p.lower() for p in where.field.parts] != ["id"]:
        return None
    values = where.value if isinstance(where.value, tuple) else (where.value,)
    if where.op not in ("=", "IN") or any(v.kind != "string" for v in values):
        return None
    ids = []
    for value in values:
        try:
            ids.append(to_18(str(value.value)))
        except InvalidIdError:
            return None  # let the evaluator refuse it as Salesforce does
    return list(dict.fromkeys(ids))
