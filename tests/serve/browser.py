"""The browser harness: the real ``journey serve`` on a free port, headless Chromium
driven by Playwright (the system's ``/usr/bin/chromium``: nothing is downloaded), a page
on another origin, and screenshots kept under ``.pytest-artifacts/serve/``.

Reusable: a test asks for ``server`` (the filled project served), ``page`` and
``screenshot``; ``serving(root)`` serves any project; ``other_origin.show(html)`` puts a
page on a second origin (``http://localhost:PORT``, another site than ``127.0.0.1``), for
a form posted across origins. Without Chromium the browser tests are skipped locally, and
fail when ``CI=true`` (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "ARTIFACTS",
    "CHROMIUM",
    "OtherOrigin",
    "Server",
    "browser",
    "other_origin",
    "page",
    "screenshot",
    "server",
    "serving",
]

CHROMIUM = os.environ.get("JOURNEY_CHROMIUM", "/usr/bin/chromium")
_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / ".pytest-artifacts" / "serve"
#: Upper bounds against a hang, never a measure of speed.
_START_LIMIT = 60.0
_STOP_LIMIT = 15.0


@dataclass
class Server:
    """A running ``journey serve``: its base URL (ending in ``/``) and its stderr."""

    url: str
    process: subprocess.Popen[str]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(_STOP_LIMIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(_STOP_LIMIT)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _journey_command() -> list[str]:
    script = Path(sys.executable).with_name("journey")
    return [str(script)] if script.exists() else [sys.executable, "-m", "journey.cli.main"]


@contextmanager
def serving(root: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """``journey serve --port 0 --json ARGS`` in ``root``, until the block ends."""
    log = root / ".journey-serve.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [*_journey_command(), "serve", "--port", "0", "--json", *args],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, **(env or {})},
        )
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(_START_LIMIT)
    line = process.stdout.readline() if ready else ""
    running = Server("", process, log)
    if not line:
        running.stop()
        pytest.fail(f"journey serve did not start: {log.read_text()}")
    running.url = str(json.loads(line)["url"])
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def server(filled: Path) -> Iterator[Server]:
    with serving(filled) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, for one test module (Playwright's loop stops with it)."""
    reason = None
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        reason = f"Chromium is not installed at {CHROMIUM} (.ci/run installs Debian's chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = reason or "Playwright is not installed (pip install -e '.[test]')"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(20_000)  # an upper bound against a hang
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest, page: Any) -> Callable[[str], Path]:
    """``screenshot("name")``: the page as it is now, kept under ``.pytest-artifacts``."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    taken: list[int] = []

    def take(name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        taken.append(1)
        path = folder / f"{len(taken):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@dataclass
class OtherOrigin:
    """A plain web server on another origin, serving the one page ``show`` gives it."""

    url: str = ""
    html: str = "<!doctype html><title>other origin</title>"
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    def show(self, html: str) -> str:
        self.html = html
        return self.url


@pytest.fixture
def other_origin() -> Iterator[OtherOrigin]:
    origin = OtherOrigin()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = origin.html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    origin.url = f"http://localhost:{httpd.server_address[1]}/"
    origin._server = httpd
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(_STOP_LIMIT)
