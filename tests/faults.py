"""Network faults in front of an emulated org, for tests that need what a real network does
and the org itself never does: an answer lost after the org saved, an org that never
answers.

``FaultyProxy`` is a small threaded HTTPS proxy on 127.0.0.1. It terminates TLS with the
emulated org's own certificate (``server.pem`` in the org's state folder, signed by the CA
the client already trusts through ``ca_file``), reads each request, and then per request:

* ``forward``: sends it to the org over a fresh TLS connection and relays the answer;
* ``lose``: sends it to the org — so the org saves — reads the whole answer, and closes the
  client's connection without a byte of it (the client sees the connection reset after
  its request went out);
* ``hang``: never answers, and holds the connection open until the proxy stops;
* ``unavailable``: answers 503 itself, as a gateway does, without reaching the org.

Which requests meet a fault is a rule: a predicate on (method, path, body) and which of
the matching requests (the ``nth`` one, counted from 1; ``every`` for all). The proxy
records every request it saw, so a test can say how often a create was sent.
"""

from __future__ import annotations

import http.client
import json
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = ["FaultyProxy", "Rule", "converts", "creates", "faulty_proxy"]

Predicate = Callable[[str, str, bytes], bool]
Fault = Literal["lose", "hang", "unavailable"]
_UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 19\r\n\r\nService Unavailable"
)
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def creates(sobject: str) -> Predicate:
    """A Collections create (``POST composite/sobjects``) of records of ``sobject``."""

    def match(method: str, path: str, body: bytes) -> bool:
        if method != "POST" or not path.rstrip("/").endswith("composite/sobjects"):
            return False
        records = json.loads(body or b"{}").get("records", [])
        return any(r.get("attributes", {}).get("type") == sobject for r in records)

    return match


def converts(method: str, path: str, body: bytes) -> bool:
    """A SOAP ``convertLead`` call."""
    return method == "POST" and "/services/Soap/" in path and b"<convertLead" in body


def anything(_method: str, _path: str, _body: bytes) -> bool:
    return True


@dataclass
class Rule:
    """``fault`` for the ``nth`` request matching ``predicate`` (every one: ``every``),
    counted while ``armed``."""

    fault: Fault
    predicate: Predicate = anything
    nth: int = 1
    every: bool = False
    #: The rule counts only while this says so (e.g. once another rule has struck).
    armed: Callable[[], bool] = lambda: True
    seen: int = 0

    def applies(self, method: str, path: str, body: bytes) -> bool:
        if not self.armed() or not self.predicate(method, path, body):
            return False
        self.seen += 1
        return self.every or self.seen == self.nth


@dataclass
class Seen:
    method: str
    path: str
    body: bytes
    fault: Fault | None


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: FaultyProxy


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        try:
            conn = proxy.tls_in.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            reader = conn.makefile("rb")
            while not proxy.stopping.is_set():
                request = _read_request(reader)
                if request is None:
                    return
                method, path, headers, body = request
                fault = proxy.decide(method, path, body)
                if fault == "hang":
                    proxy.stopping.wait()
                    return
                if fault == "unavailable":
                    conn.sendall(_UNAVAILABLE)
                    continue
                status, reason, answer_headers, answer = proxy.forward(method, path, headers, body)
                if fault == "lose":
                    return  # the org has saved; the client never hears of it
                head = [f"HTTP/1.1 {status} {reason}"]
                head += [f"{k}: {v}" for k, v in answer_headers if k.lower() not in _HOP_BY_HOP]
                head.append(f"Content-Length: {len(answer)}")
                conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + answer)
        except (OSError, ssl.SSLError, http.client.HTTPException):
            return
        finally:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


def _read_request(reader: Any) -> tuple[str, str, list[tuple[str, str]], bytes] | None:
    line = reader.readline(65537)
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers: list[tuple[str, str]] = []
    while True:
        raw = reader.readline(65537)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
    body = reader.read(length) if length else b""
    return method, path, headers, body


@dataclass
class FaultyProxy:
    """See the module docstring. ``url`` is what the client is configured with."""

    upstream: str
    ca_file: Path
    server_file: Path
    rules: list[Rule] = field(default_factory=list, repr=False)
    seen: list[Seen] = field(default_factory=list, repr=False)
    stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        self.tls_in = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls_in.load_cert_chain(str(self.server_file))
        self.tls_out = ssl.create_default_context(cafile=str(self.ca_file))
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="faulty-proxy",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def decide(self, method: str, path: str, body: bytes) -> Fault | None:
        with self._lock:
            fault: Fault | None = None
            for rule in self.rules:
                if rule.applies(method, path, body) and fault is None:
                    fault = rule.fault
            self.seen.append(Seen(method, path, body, fault))
            return fault

    def count(self, predicate: Predicate) -> int:
        """How many requests matching ``predicate`` reached the proxy."""
        with self._lock:
            return sum(1 for s in self.seen if predicate(s.method, s.path, s.body))

    def forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        target = urlsplit(self.upstream)
        upstream = http.client.HTTPSConnection(
            str(target.hostname), target.port, context=self.tls_out, timeout=30
        )
        try:
            upstream.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP:
                    upstream.putheader(name, value)
            upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders(body)
            response = upstream.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            upstream.close()

    def start(self) -> FaultyProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def faulty_proxy(upstream: str, state_dir: Path) -> Iterator[FaultyProxy]:
    """A proxy in front of the emulated org served from ``state_dir`` (its certificates)."""
    proxy = FaultyProxy(upstream, state_dir / "ca.pem", state_dir / "server.pem").start()
    try:
        yield proxy
    finally:
        proxy.stop()
