"""Field values: how a value sent by a client is checked and stored, per field type.

Pipeline position: between the write path (REST JSON, Bulk CSV, SOAP) and the store.
Dates are kept as ``YYYY-MM-DD`` and datetimes as Salesforce prints them
(``2024-01-05T10:00:00.000+0000``), so a record read back looks like one from a real org.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from journey.emulator.ids import InvalidIdError, to_18
from journey.emulator.schema import NUMBER_TYPES, TEXT_TYPES, FieldDef

__all__ = ["ValueRefusedError", "coerce", "coerce_text", "format_datetime", "parse_datetime"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ValueRefusedError(ValueError):
    """A value the field cannot hold; ``code`` is the Salesforce errorCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def format_datetime(moment: datetime) -> str:
    """Salesforce's datetime form, always in UTC with milliseconds."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    """Parse an ISO-8601 datetime with ``Z``, ``+00:00`` or ``+0000``; naive means UTC."""
    cleaned = text.strip().replace("Z", "+00:00")
    cleaned = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", cleaned)
    moment = datetime.fromisoformat(cleaned)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def coerce(field: FieldDef, value: Any) -> Any:
    """The stored form of a JSON value for ``field``, or ``ValueRefusedError``."""
    if value is None or (value == "" and field.type in TEXT_TYPES):
        return None
    kind = field.type
    if kind in ("id", "reference"):
        if not isinstance(value, str):
            raise _json_error(field, value)
        try:
            return to_18(value)
        except InvalidIdError:
            raise ValueRefusedError(
                "MALFORMED_ID", f"{field.name}: id value of incorrect type: {value}"
            ) from None
    if kind in TEXT_TYPES:
        if not isinstance(value, str):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _json_error(field, value)
            value = str(value)
        if kind == "email" and not _EMAIL.match(value):
            raise ValueRefusedError(
                "INVALID_EMAIL_ADDRESS", f"{field.name}: invalid email address: {value}"
            )
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _json_error(field, value)
        return value
    if kind in NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _json_error(field, value)
        try:
            number = float(value)
        except ValueError:
            raise _json_error(field, value) from None
        return int(number) if kind == "int" else number
    if kind == "date":
        try:
            return date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError:
            raise _json_error(field, value) from None
    if kind == "datetime":
        try:
            return format_datetime(parse_datetime(str(value)))
        except ValueError:
            raise _json_error(field, value) from None
    raise _json_error(field, value)


def coerce_text(field: FieldDef, text: str) -> Any:
    """The stored form of a CSV cell (Bulk API): typed from text, ``#N/A`` clears."""
    if text == "#N/A":
        return None
    if field.type == "boolean":
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise _json_error(field, text)
        return lowered in ("true", "1", "yes")
    return coerce(field, text)


def _json_error(field: FieldDef, value: Any) -> ValueRefusedError:
    return ValueRefusedError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {field.type} from value {value!r} for field {field.name}",
    )
