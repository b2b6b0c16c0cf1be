"""Condition evaluation that explains itself.

Pipeline position: executor -> **conditions** (over ``dsl.syntax`` condition nodes and a
``ContactView``). Used for ``if``, ``wait until``, goals and segments, in durable runs and
dry runs alike. Every verdict comes with the values that decided it, because "why did
this contact go there?" is the question users ask most::

    field "Lead Owner" = '' → is empty: yes
    field "Annual Revenue" = '250000' → > 1000000: no

Rules: field names are case-insensitive; text compares case-insensitively (as Salesforce
picklists do); ``> N`` style operators compare numbers as numbers and dates as dates (a
value that is neither makes the comparison false, and says so); True/False fields take
``true/yes/1/checked`` as true and anything else, including empty, as false; "Lead Owner"
matches the owner's name, email or Salesforce user ID; a segment is a condition from
``journey.toml`` evaluated the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from journey.dsl.syntax import (
    AllOf,
    AnyOf,
    CampaignStatusCondition,
    Condition,
    FieldCondition,
    InList,
    InSegment,
    Not,
    RecordTypeCondition,
)
from journey.engine.contact import OWNER_FIELD, ContactView

__all__ = ["Evaluator", "Verdict", "parse_number_or_date"]

_Ordered = TypeVar("_Ordered", float, date)

_TRUE = frozenset({"true", "yes", "1", "y", "t", "checked", "on", "x"})


@dataclass
class Verdict:
    """A condition's result and the explanation lines of the tests that decided it."""

    value: bool
    reasons: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "; ".join(self.reasons)


def parse_number_or_date(text: str) -> float | date | None:
    """A number (``1000000``, ``1,000,000``, ``12.5``) or an ISO date, else None."""
    cleaned = text.strip().replace(",", "")
    try:
        return float(cleaned)
    except ValueError:
        pass
    try:
        if len(cleaned) == 10:
            return date.fromisoformat(cleaned)
        return datetime.fromisoformat(cleaned.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _yes(value: bool) -> str:
    return "yes" if value else "no"


class Evaluator:
    """Evaluates conditions for contacts. ``segments`` maps segment names (any case) to
    their parsed conditions; ``field_types`` the declared types (for True/False)."""

    def __init__(
        self,
        segments: Mapping[str, Condition] | None = None,
        field_types: Mapping[str, str] | None = None,
    ) -> None:
        self._segments = {k.casefold(): (k, v) for k, v in (segments or {}).items()}
        self._types = {k.casefold(): v for k, v in (field_types or {}).items()}
        self._depth = 0
        #: id(condition) -> (condition, its compiled test) for ``decide``.
        self._compiled: dict[int, tuple[Condition, Callable[[ContactView], bool]]] = {}
        #: id(field condition) -> (condition, the explanation's text before and after
        #: the value) for ``evaluate``.
        self._texts: dict[int, tuple[FieldCondition, str, str]] = {}

    @property
    def segment_names(self) -> list[str]:
        return [name for name, _ in self._segments.values()]

    def in_segment(self, name: str, contact: ContactView) -> bool:
        return self.evaluate(InSegment(name), contact, explain=False).value

    def decide(self, condition: Condition, contact: ContactView) -> bool:
        """The verdict's value alone, as ``evaluate`` gives it: the condition is compiled
        once into closures (no pattern match, no explanation text), because a dry run
        that keeps no feed decides millions of times and explains none of them."""
        entry = self._compiled.get(id(condition))
        if entry is None or entry[0] is not condition:
            entry = (condition, self._compile(condition))
            self._compiled[id(condition)] = entry
        return entry[1](contact)

    def _compile(self, c: Condition) -> Callable[[ContactView], bool]:
        match c:
            case FieldCondition():
                return _compile_field(c)
            case InList(list_name=name):
                key = name.casefold()
                return lambda contact: key in contact.lists
            case RecordTypeCondition(record_type=kind):
                return lambda contact: (contact.salesforce_type or "").casefold() == kind
            case CampaignStatusCondition(campaign=campaign, status=status):
                campaign_key, status_key = campaign.casefold(), status.casefold()
                return lambda contact: (
                    contact.campaigns.get(campaign_key, "").casefold() == status_key
                )
            case Not(operand=inner):
                test = self._compile(inner)
                return lambda contact: not test(contact)
            case AllOf(operands=ops):
                tests = tuple(self._compile(o) for o in ops)
                return lambda contact: all(t(contact) for t in tests)
            case AnyOf(operands=ops):
                tests = tuple(self._compile(o) for o in ops)
                return lambda contact: any(t(contact) for t in tests)
        # A segment is looked up when decided (it may be defined through itself).
        return lambda contact: self._eval(c, contact, None)

    def evaluate(self, condition: Condition, contact: ContactView, explain: bool = True) -> Verdict:
        verdict = Verdict(False)
        verdict.value = self._eval(condition, contact, verdict.reasons if explain else None)
        return verdict

    def _eval(self, c: Condition, contact: ContactView, why: list[str] | None) -> bool:
        match c:
            case FieldCondition():
                return self._field(c, contact, why)
            case InList(list_name=name):
                result = contact.in_list(name)
                if why is not None:
                    why.append(f'in list "{name}": {_yes(result)}')
                return result
            case InSegment(segment=name):
                return self._segment(name, contact, why)
            case RecordTypeCondition(record_type=kind):
                actual = contact.salesforce_type or "no record"
                result = (contact.salesforce_type or "").casefold() == kind
                if why is not None:
                    why.append(f"is salesforce {kind} (record: {actual}): {_yes(result)}")
                return result
            case CampaignStatusCondition(campaign=campaign, status=status):
                status_now = contact.campaigns.get(campaign.casefold(), "")
                result = status_now.casefold() == status.casefold()
                if why is not None:
                    why.append(
                        f'campaign "{campaign}" status = \'{status_now}\' → is "{status}": '
                        f"{_yes(result)}"
                    )
                return result
            case Not(operand=inner):
                return not self._eval(inner, contact, why)
            case AllOf(operands=ops):
                return all(self._eval(o, contact, why) for o in ops)
            case AnyOf(operands=ops):
                return any(self._eval(o, contact, why) for o in ops)
        raise AssertionError(c)  # pragma: no cover

    def _segment(self, name: str, contact: ContactView, why: list[str] | None) -> bool:
        entry = self._segments.get(name.casefold())
        if entry is None:
            if why is not None:
                why.append(f'in segment "{name}": no (the segment is not defined in journey.toml)')
            return False
        if self._depth > 20:  # a segment defined through itself
            if why is not None:
                why.append(f'in segment "{name}": no (the segment refers to itself)')
            return False
        self._depth += 1
        try:
            inner: list[str] | None = [] if why is not None else None
            result = self._eval(entry[1], contact, inner)
        finally:
            self._depth -= 1
        if why is not None:
            why.append(f'in segment "{entry[0]}" ({"; ".join(inner or [])}): {_yes(result)}')
        return result

    def _field(self, c: FieldCondition, contact: ContactView, why: list[str] | None) -> bool:
        # The verdict is the compiled test's (``decide``, which agrees with ``_test`` on
        # every operator: tests/engine/test_dryrun_chunks.py); the text around the value
        # is made once per condition.
        result = self.decide(c, contact)
        if why is not None:
            entry = self._texts.get(id(c))
            if entry is None or entry[0] is not c:
                test = c.op if c.value is None else f'{c.op} "{c.value}"'
                if c.op in (">", ">=", "<", "<="):
                    test = f"{c.op} {c.value}"
                entry = (c, f'field "{c.field}" = \'', f"' → {test}: ")
                self._texts[id(c)] = entry
            shown = contact.get(c.field).replace("'", "\\'")
            why.append(f"{entry[1]}{shown}{entry[2]}{_yes(result)}")
        return result


def _compile_field(c: FieldCondition) -> Callable[[ContactView], bool]:
    """``_field`` and ``_test`` for one condition, its key and literal prepared once."""
    key = c.field.casefold()
    if key == OWNER_FIELD.casefold():
        return lambda contact: _test(c, contact.owner_values())
    if key == "email":
        return lambda contact: _test(c, [contact.email] if contact.email else [])
    op, target = c.op, (c.value or "").casefold()

    def value(contact: ContactView) -> str:
        entry = contact.fields.get(key)
        return entry[1] if entry else ""

    if op == "is empty":
        return lambda contact: not value(contact)
    if op == "is not empty":
        return lambda contact: bool(value(contact))
    if op in ("is", "is not") and target:
        if op == "is":
            return lambda contact: value(contact).casefold() == target
        return lambda contact: value(contact).casefold() != target
    if op in ("is", "is not"):
        return (lambda contact: not value(contact)) if op == "is" else lambda c2: bool(value(c2))
    if op == "contains":
        return lambda contact: bool(value(contact)) and target in value(contact).casefold()
    if op == "starts with":
        return lambda contact: bool(value(contact)) and value(contact).casefold().startswith(target)
    if op == "is true":
        return lambda contact: value(contact).casefold() in _TRUE
    if op == "is false":
        return lambda contact: value(contact).casefold() not in _TRUE
    right = parse_number_or_date(c.value or "")
    if right is None:
        return lambda contact: False
    compare = _COMPARE[op]

    def ordered(contact: ContactView) -> bool:
        text = value(contact)
        if not text:
            return False
        left = parse_number_or_date(text)
        return type(left) is type(right) and compare(left, right)

    return ordered


_COMPARE: dict[str, Callable[[object, object], bool]] = {
    ">": lambda a, b: a > b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
    "<": lambda a, b: a < b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
}


def _test(c: FieldCondition, values: list[str]) -> bool:
    """The operator on a field's values (several only for the owner's identities)."""
    op, literal = c.op, (c.value or "")
    folded = [v.casefold() for v in values]
    target = literal.casefold()
    if op == "is empty":
        return not values
    if op == "is not empty":
        return bool(values)
    if op == "is":
        return target in folded if target else not values
    if op == "is not":
        return target not in folded if target else bool(values)
    if op == "contains":
        return any(target in v for v in folded)
    if op == "starts with":
        return any(v.startswith(target) for v in folded)
    if op == "is true":
        return any(v in _TRUE for v in folded)
    if op == "is false":
        return not any(v in _TRUE for v in folded)
    right = parse_number_or_date(literal)
    for v in values:
        left = parse_number_or_date(v)
        if right is None or left is None or type(left) is not type(right):
            continue
        if _compare(op, left, right):  # type: ignore[type-var]  # same type, checked above
            return True
    return False


def _compare(op: str, left: _Ordered, right: _Ordered) -> bool:
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    if op == "<":
        return left < right
    return left <= right
