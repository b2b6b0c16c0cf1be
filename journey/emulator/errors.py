"""The one error type of the emulated org: a refusal as Salesforce words it.

Pipeline position: raised anywhere below the HTTP layer, turned by the server into the
status code and the ``[{"message", "errorCode", "fields"}]`` body a real org sends, so a
client's error handling is tested against the real shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "not_found"]


@dataclass
class ApiError(Exception):
    """A refusal: HTTP ``status``, Salesforce ``code``, human ``message``, offending ``fields``."""

    status: int
    code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def body(self) -> list[dict[str, Any]]:
        """The REST error body."""
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]

    def save_error(self) -> dict[str, Any]:
        """The error as sObject Collections and Composite report it per record."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")
