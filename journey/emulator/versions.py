"""The API versions the emulated org answers, and the refusal of the others.

Pipeline position: asked by the server before any REST or SOAP call is routed. Salesforce
supports versions 31.0 through the current release's; 21.0 through 30.0 were retired in
Summer '25, and "if you request any resource or use an operation from a retired API
version, REST API returns the 410:GONE error code … SOAP API returns
500:UNSUPPORTED_API_VERSION"
(https://developer.salesforce.com/docs/platform/api-tooling/guide/tooling-api-eol.html).
A version newer than the org's release does not exist yet: REST answers it 404
``NOT_FOUND``, as any unknown resource. ``GET /services/data/`` lists the versions with
their release labels and needs no authentication ("You don't need authentication to
retrieve the list of versions",
https://developer.salesforce.com/docs/platform/api-rest/guide/dome-versions.md).
"""

from __future__ import annotations

from typing import Any

from journey.emulator.errors import ApiError, not_found

__all__ = [
    "CURRENT_VERSION",
    "OLDEST_VERSION",
    "check_rest_version",
    "label",
    "listing",
    "resolve_latest",
    "soap_version_error",
]

#: Winter '27, the newest release the API end-of-life tables list ("Versions 41.0 through
#: 68.0: Supported", https://developer.salesforce.com/docs/platform/ajax/guide/sforce-api-ajax-eol.html).
CURRENT_VERSION = 68
#: The oldest version still served (30.0 and lower are retired).
OLDEST_VERSION = 31
_SEASONS = ("Winter", "Spring", "Summer")


def label(major: int) -> str:
    """The release a version came with: 31.0 was Summer '14, and each release since adds
    one (Winter, Spring, Summer; Winter's year is the next calendar year's)."""
    steps = major - 31 + 2  # 31.0 → Summer ('14): index 2 of the 2014 cycle
    season = _SEASONS[steps % 3]
    year = 14 + steps // 3
    return f"{season} '{year:02d}"


def listing() -> list[dict[str, Any]]:
    """The ``Versions`` resource, oldest first as Salesforce lists it."""
    return [
        {"label": label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(OLDEST_VERSION, CURRENT_VERSION + 1)
    ]


def _major(version: str) -> int | None:
    head, dot, tail = version.partition(".")
    if not head.isdigit() or (dot and tail not in ("0",)):
        return None
    return int(head)


def check_rest_version(version: str) -> None:
    """Refuse a REST call to a retired or not yet released version."""
    major = _major(version)
    if major is None or major > CURRENT_VERSION:
        raise not_found()
    if major < OLDEST_VERSION:
        raise ApiError(
            410,
            "GONE",
            f"API version {version} is retired and no longer available; "
            f"use {OLDEST_VERSION}.0 through {CURRENT_VERSION}.0",
        )


def soap_version_error(version: str) -> str | None:
    """The SOAP fault message for a version the org does not serve, else None (Salesforce's
    words, "UNSUPPORTED_API_VERSION: Invalid Api version specified on URL", as clients
    report them: https://github.com/superfell/zkSforce/issues/52)."""
    major = _major(version)
    if major is None or not OLDEST_VERSION <= major <= CURRENT_VERSION:
        return "Invalid Api version specified on URL"
    return None


def resolve_latest(path: str) -> str:
    """``/services/data/latest/…`` as the current version's path: "To always resolve to
    the most recently released API version, use the latest alias (/services/data/latest)"
    (https://developer.salesforce.com/docs/platform/api-rest/guide/dome-versions.md)."""
    prefix = "/services/data/latest"
    if path == prefix or path.startswith(prefix + "/"):
        return f"/services/data/v{CURRENT_VERSION}.0" + path[len(prefix) :]
    return path
