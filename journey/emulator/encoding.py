"""Content codings of the emulated org's HTTP bodies: a request body sent with
``Content-Encoding: gzip`` (or ``deflate``) is decompressed before any handler reads it,
and a response is compressed when the request's ``Accept-Encoding`` allows it.

Pipeline position: between the socket and the handlers, used by ``server`` only. Salesforce
documents both directions for REST ("Include a Content-Encoding: gzip or Content-Encoding:
deflate header to compress a request. REST API decompresses any requests before
processing." and "Salesforce compresses a response only if the request contains an
Accept-Encoding: gzip … header … If compressed, the response contains a Content-Encoding
header", https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_compression.htm)
and for SOAP ("The sforce service fully supports the HTTP 1.1 content encoding
specification for use of compression", http://wiki.apexdevnet.com/index.php/SOAP_Compression),
so the org does it for every path. ``requests`` (and so simple-salesforce) sends
``Accept-Encoding: gzip, deflate`` on every call and decodes the answer transparently.

A decompressed body is bounded (``MAX_DECODED_BYTES``): a small gzip bomb must not make
the org allocate gigabytes. The bound and the refusals' wording are the emulator's own;
Salesforce does not document them.
"""

from __future__ import annotations

import gzip
import zlib

from journey.emulator.errors import ApiError

__all__ = ["MAX_DECODED_BYTES", "decode_body", "encode_body"]

#: The largest request body the org decompresses (Salesforce refuses REST requests far
#: smaller than this; the bound only keeps a compressed bomb from exhausting memory).
MAX_DECODED_BYTES = 64 * 1024 * 1024
_CODINGS = ("gzip", "deflate")


def decode_body(body: bytes, content_encoding: str | None) -> bytes:
    """The body as the handlers read it: decompressed per ``Content-Encoding``."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):  # the last coding applied is undone first
        if coding == "identity":
            continue
        if coding not in _CODINGS:
            # RFC 9110 §8.4.1: a coding the server cannot decode is answered 415.
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"Unsupported Content-Encoding: {coding}")
        body = _decompress(body, coding)
    return body


def _decompress(body: bytes, coding: str) -> bytes:
    # gzip: the gzip container (wbits 16+15); deflate: RFC 9110 says zlib-wrapped, but
    # some clients send raw deflate, so try zlib first, then raw (wbits -15).
    attempts = (16 + zlib.MAX_WBITS,) if coding == "gzip" else (zlib.MAX_WBITS, -zlib.MAX_WBITS)
    for wbits in attempts:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(body, MAX_DECODED_BYTES + 1)
        except zlib.error:
            continue
        if len(out) > MAX_DECODED_BYTES or inflater.unconsumed_tail:
            raise ApiError(
                413,
                "REQUEST_ENTITY_TOO_LARGE",
                f"The decompressed request body is larger than {MAX_DECODED_BYTES} bytes",
            )
        if not inflater.eof:
            break
        return out
    raise ApiError(400, "INVALID_REQUEST_BODY", f"The request body is not valid {coding} data")


def encode_body(body: bytes, accept_encoding: str | None) -> tuple[bytes, str | None]:
    """The body to send and its ``Content-Encoding`` (None: sent as it is)."""
    if not body:
        return body, None
    coding = _preferred(accept_encoding or "")
    if coding == "gzip":
        return gzip.compress(body, compresslevel=5, mtime=0), "gzip"
    if coding == "deflate":
        return zlib.compress(body, 5), "deflate"
    return body, None


def _preferred(accept_encoding: str) -> str | None:
    """gzip if accepted (or ``*``), else deflate if accepted, else none (identity)."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name.strip():
            weights[name.strip().lower()] = quality
    for coding in _CODINGS:
        if weights.get(coding, weights.get("*", 0.0)) > 0:
            return coding
    return None
