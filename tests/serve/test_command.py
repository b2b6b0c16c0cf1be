"""``journey serve`` as a user starts it: where it listens, what it prints, and that it
refuses an address beyond loopback without a token, which never reaches its output."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.cli import actions_support as sup
from tests.serve.browser import serving

TOKEN = "serve-token-9f8e7d6c5b4a"


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_serve_answers_on_loopback_with_the_journeys(filled: Path) -> None:
    with serving(filled) as server:
        assert server.url.startswith("http://127.0.0.1:")
        status, headers, body = fetch(server.url, {"Accept": "application/json"})
    assert status == 200
    assert "default-src 'none'" in headers["content-security-policy"]
    assert {j["journey"] for j in json.loads(body)["journeys"]} == {"Welcome", "No shows"}


def test_serve_beyond_loopback_refuses_without_a_token(project: Path) -> None:
    result = sup.as_json("serve", "--host", "0.0.0.0", code=2)
    assert result["error"]["code"] == "config"
    assert "[serve] token_env" in result["error"]["message"]
    assert not (project / ".journey").exists()


def test_serve_beyond_loopback_asks_for_the_token_and_never_prints_it(filled: Path) -> None:
    with (filled / "journey.toml").open("a") as toml:
        toml.write('\n[serve]\ntoken_env = "JOURNEY_SERVE_TOKEN"\n')
    env = {"JOURNEY_SERVE_TOKEN": TOKEN}
    with serving(filled, "--host", "0.0.0.0", env=env) as server:
        url = server.url.replace("0.0.0.0", "127.0.0.1")
        assert fetch(url, {"Accept": "application/json"})[0] == 401
        wrong = {"Accept": "application/json", "Authorization": "Bearer nope"}
        assert fetch(url, wrong)[0] == 401
        right = {"Accept": "application/json", "Authorization": f"Bearer {TOKEN}"}
        assert fetch(url, right)[0] == 200
        assert fetch(url + "contacts?q=ada", right)[0] == 200
    assert TOKEN not in server.log.read_text()


def test_serve_says_when_its_port_is_taken(filled: Path) -> None:
    with serving(filled) as server:
        port = server.url.rsplit(":", 1)[1].strip("/")
        result = sup.as_json("serve", "--port", port, code=2)
    assert "cannot listen on 127.0.0.1:" in result["error"]["message"]


@pytest.mark.parametrize("args", [("--port", "70000"), ("--port", "x")])
def test_serve_refuses_a_bad_port(project: Path, args: tuple[str, ...]) -> None:
    assert sup.as_json("serve", *args, code=2)["error"]["code"] == "usage"
