"""Requests and responses as the emulated org's handlers see them, independent of the
socket: the HTTPS server builds a ``Request``, Composite builds them for subrequests.

Pipeline position: shared by ``server``, ``rest``, ``composite`` and ``bulk``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from journey.emulator.errors import ApiError

__all__ = ["Request", "Response", "json_response"]


@dataclass
class Request:
    """One API request. ``headers`` keys are lower-case; ``params`` keep the first value."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise ApiError(
                400, "JSON_PARSER_ERROR", f"The request body is not JSON: {error}"
            ) from None

    @property
    def auto_assign(self) -> bool:
        """``Sforce-Auto-Assign``: assignment rules run unless it is FALSE (missing = TRUE)."""
        return self.headers.get("sforce-auto-assign", "TRUE").strip().upper() not in ("FALSE", "0")


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)

    def data(self) -> Any:
        """The JSON body (Composite embeds subresponses as JSON values)."""
        return json.loads(self.body) if self.body and "json" in self.content_type else None


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    body = b"" if data is None else json.dumps(data).encode("utf-8")
    return Response(status, body, headers=headers or {})
