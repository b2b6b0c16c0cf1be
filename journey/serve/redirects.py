"""Where a form may send the browser afterwards: ``retURL``, only to a host of the allow-list.

Pipeline position: ``serve.intake`` asks ``redirect_target`` before answering 303. The intake
is public, so an open redirect would let anyone make a link through it that lands on a
page of their own (phishing from a trusted address). A URL is followed only when it is
absolute ``http(s)``, its host is exactly one of ``[serve] redirect_hosts``, and it holds
nothing browsers read differently from ``urllib``: no user info (``https://acme@evil``),
no backslash (browsers take ``https:\\\\evil`` and ``/\\evil`` as ``//evil``), no whitespace
or control characters (browsers drop tabs and newlines, joining what was apart), nothing
outside ASCII. A scheme-relative ``//evil`` or a path ``/thanks`` has no allowed host, so
it is refused too: the form says its return page in full.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

__all__ = ["redirect_target"]

_SCHEMES = ("http", "https")


def redirect_target(url: str, hosts: Collection[str]) -> tuple[str | None, str]:
    """(``url`` when the browser may be sent there, else ``None``; why not, or ``""``).
    ``hosts`` are lower-case host names."""
    if not url.isascii() or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return None, "retURL holds spaces, control or non-ASCII characters"
    if "\\" in url:
        return None, "retURL holds a backslash"
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        return None, "retURL is not a URL"
    if parts.scheme.lower() not in _SCHEMES or not parts.netloc:
        return None, "retURL is not an absolute http(s) URL"
    if "@" in parts.netloc:
        return None, "retURL holds user info (name@host)"
    if (parts.hostname or "") not in hosts:
        return None, f'host "{parts.hostname}" is not in [serve] redirect_hosts'
    return url, ""
