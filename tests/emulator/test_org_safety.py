"""The emulated org under hostile or careless clients, and shared between processes:
unauthenticated calls cost nothing, secrets are owner-only files, a renewed session
revokes the old one, idle connections are closed, DTDs are refused in any encoding, two
orgs on one state folder read each other's writes, bad seeds are one ``SeedError``, and
the state can be copied while the org serves. Every org here holds records this tool did
not create (``tests.existing_org``)."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from journey.emulator import EmulatedOrg, SeedError, load_seed
from journey.emulator.seed import seed_names
from tests.existing_org import PEOPLE, existing_seed

#: Upper bound on waits that guard against a hang; never what a test measures.
BOUND = 10.0


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def org(state: Path) -> Iterator[EmulatedOrg]:
    with EmulatedOrg(state, seed=existing_seed(), api_limit=20) as emulated:
        emulated.start()
        yield emulated


def _post(sf: Salesforce, body: bytes) -> requests.Response:
    return sf.session.post(
        f"https://{sf.sf_instance}/services/Soap/u/{sf.sf_version}",
        data=body,
        headers={"Content-Type": "text/xml", "SOAPAction": '""'},
    )


def _soap(sf: Salesforce, body: bytes) -> ET.Element:
    """The fault a SOAP request is answered with."""
    response = _post(sf, body)
    assert response.status_code == 500
    return ET.fromstring(response.content)


def _envelope(session_id: str, lead_id: str = "00Q000000000000AAA") -> str:
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com">'
        f"<soapenv:Header><urn:SessionHeader><urn:sessionId>{session_id}</urn:sessionId>"
        "</urn:SessionHeader></soapenv:Header><soapenv:Body><urn:convertLead>"
        f"<urn:leadConverts><urn:leadId>{lead_id}</urn:leadId></urn:leadConverts>"
        "</urn:convertLead></soapenv:Body></soapenv:Envelope>"
    )


def _fault(root: ET.Element) -> str:
    return str(root.findtext(".//faultcode")) + " " + str(root.findtext(".//faultstring"))


def test_unauthenticated_calls_do_not_spend_the_allocation(org: EmulatedOrg) -> None:
    sf = org.client()
    used = org.api_calls
    stranger = org.client(session_id="00D5E0000000001!not-a-session")
    for _ in range(50):  # more than the whole allocation (20)
        assert "INVALID_SESSION_ID" in _fault(_soap(sf, _envelope("nobody").encode()))
        with pytest.raises(SalesforceExpiredSession):
            stranger.query("SELECT Id FROM Lead")
    assert org.api_calls == used
    owned = sf.query(f"SELECT Id FROM Lead WHERE Email = '{PEOPLE['owned']}'")
    assert owned["totalSize"] == 1
    assert org.api_calls == used + 1


def test_a_valid_soap_call_is_counted_once(org: EmulatedOrg) -> None:
    sf = org.client()
    used = org.api_calls
    response = _post(sf, _envelope(org.session_id).encode())  # no such Lead
    assert "<success>false</success>" in response.text
    assert org.api_calls == used + 1


def test_files_holding_secrets_are_owner_only(org: EmulatedOrg, state: Path) -> None:
    org.client().Lead.create({"LastName": "Written", "Company": "So WAL exists"})
    for name in ("org.db", "org.db-wal", "org.db-shm", "server.pem"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_a_state_file_left_readable_is_tightened_on_open(state: Path) -> None:
    EmulatedOrg(state, seed=existing_seed()).stop()
    (state / "org.db").chmod(0o644)
    with EmulatedOrg(state):
        assert stat.S_IMODE((state / "org.db").stat().st_mode) == 0o600


def test_a_renewed_session_revokes_the_one_it_replaces(org: EmulatedOrg) -> None:
    old = org.session_id
    before = org.client(session_id=old)
    before.query("SELECT Id FROM Lead LIMIT 1")
    new = org.renew_session()
    assert new != old
    with pytest.raises(SalesforceExpiredSession) as refused:
        before.query("SELECT Id FROM Lead LIMIT 1")
    assert refused.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    assert "INVALID_SESSION_ID" in _fault(_soap(before, _envelope(old).encode()))
    assert org.client(session_id=new).query("SELECT COUNT() FROM Lead")["totalSize"] > 0


def _closed_by_peer(sock: socket.socket | ssl.SSLSocket) -> bool:
    """Whether the server ends the connection (EOF or reset) within ``BOUND``."""
    sock.settimeout(BOUND)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, ssl.SSLError):
        return True
    except TimeoutError:
        return False


def test_idle_connections_are_closed(state: Path) -> None:
    with EmulatedOrg(state, seed=existing_seed(), idle_timeout=0.2) as org:
        endpoint = org.start()
        port = org.endpoint.instance_url.rsplit(":", 1)[1]
        # Connected, and silent before the TLS handshake.
        with socket.create_connection(("127.0.0.1", int(port)), timeout=BOUND) as raw:
            assert _closed_by_peer(raw)
        # Handshaken, and silent before the request.
        context = ssl.create_default_context(cafile=str(endpoint.ca_file))
        with (
            socket.create_connection(("127.0.0.1", int(port)), timeout=BOUND) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            assert _closed_by_peer(tls)
        # A client that speaks still gets its answers.
        assert org.client().query("SELECT COUNT() FROM Lead")["totalSize"] > 0


BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="{encoding}"?>'
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
)


@pytest.mark.parametrize(
    ("codec", "declared", "refusal"),
    [
        ("utf-8", "UTF-8", "DTDs are not allowed in SOAP requests"),
        ("utf-16", "UTF-16", "DTDs are not allowed in SOAP requests"),  # with its BOM
        ("utf-16-le", "UTF-16", "DTDs are not allowed in SOAP requests"),  # none
        ("utf-16-be", "UTF-16BE", "DTDs are not allowed in SOAP requests"),
        ("utf-16-be", "UTF-16-BE", "unreadable XML"),  # a name expat does not know
        ("utf-32", "UTF-32", "malformed XML"),  # expat reads no UTF-32
    ],
)
def test_dtds_are_refused_in_any_encoding(
    org: EmulatedOrg, codec: str, declared: str, refusal: str
) -> None:
    sf = org.client()
    lead = sf.query(f"SELECT Id FROM Lead WHERE Email = '{PEOPLE['qualified']}'")
    lead_id = lead["records"][0]["Id"]
    text = BILLION_LAUGHS.format(encoding=declared) + _envelope(org.session_id, lead_id)
    body = text.replace(
        "</urn:leadId>", "</urn:leadId><urn:opportunityName>&lol2;</urn:opportunityName>"
    ).encode(codec)
    used = org.api_calls
    fault = _fault(_soap(sf, body))
    assert fault.startswith("soapenv:Client")
    assert refusal in fault
    assert org.api_calls == used  # refused before the session is even read
    assert sf.Lead.get(lead_id)["IsConverted"] is False


def test_a_utf16_envelope_without_a_dtd_is_read(org: EmulatedOrg) -> None:
    sf = org.client()
    lead = sf.query(f"SELECT Id FROM Lead WHERE Email = '{PEOPLE['qualified']}'")
    lead_id = lead["records"][0]["Id"]
    body = '<?xml version="1.0" encoding="UTF-16"?>' + _envelope(org.session_id, lead_id)
    response = _post(
        sf,
        body.replace(
            "</urn:leadId>",
            "</urn:leadId><urn:convertedStatus>Closed - Converted</urn:convertedStatus>",
        ).encode("utf-16"),
    )
    assert response.status_code == 200, response.text
    converted = sf.Lead.get(lead_id)
    assert converted["IsConverted"] is True


def test_two_orgs_on_one_state_folder_read_each_others_writes(state: Path) -> None:
    with EmulatedOrg(state, seed=existing_seed()) as first:
        first.start()
        with EmulatedOrg(state) as second:
            second.start()
            one, two = first.client(), second.client(session_id=first.session_id)
            query = f"SELECT Id, Company, Phone FROM Lead WHERE Email = '{PEOPLE['owned']}'"
            [lead] = two.query(query)["records"]  # the second org caches Leads now
            one.Lead.update(lead["Id"], {"Company": "Renamed by the first"})
            [seen] = two.query(query)["records"]
            assert seen["Company"] == "Renamed by the first"
            # A write through the second keeps what the first wrote.
            two.Lead.update(lead["Id"], {"Phone": "+49 30 1234"})
            [both] = one.query(query)["records"]
            assert (both["Company"], both["Phone"]) == ("Renamed by the first", "+49 30 1234")
            created = one.Lead.create(
                {"LastName": "New", "Company": "Fresh", "Email": "n@x.example"}
            )
            assert two.Lead.get(created["id"])["Company"] == "Fresh"


def test_two_orgs_on_one_state_folder_count_every_call(state: Path) -> None:
    with EmulatedOrg(state, seed=existing_seed()) as first, EmulatedOrg(state) as second:
        one, two = first.client(), second.client(session_id=first.session_id)
        used = first.api_calls
        for _ in range(5):
            one.query("SELECT COUNT() FROM Lead")
            two.query("SELECT COUNT() FROM Lead")
        assert first.api_calls == second.api_calls == used + 10


def _without_hanging(load: object) -> BaseException | None:
    """Run ``load()`` in a thread; what it raised, or fail if it is still running."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            load()  # type: ignore[operator]
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(BOUND)
    assert not thread.is_alive(), "loading the seed hangs"
    return raised[0] if raised else None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "seed.json:1:1: not UTF-8 text"),
        (b'{"Lead": [}', "seed.json:1:11: invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid JSON: nested too deep"),
        (b'{"n": ' + b"9" * 5000 + b"}", "invalid JSON"),
        (b"[1, 2]", "a seed is a JSON object"),
    ],
)
def test_a_bad_seed_file_is_one_seed_error(
    tmp_path: Path, state: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "seed.json"
    path.write_bytes(content)
    error = _without_hanging(lambda: EmulatedOrg(state, seed=path))
    assert isinstance(error, SeedError)
    assert message in str(error)
    assert str(path) in str(error)


def test_special_files_are_refused_as_seeds_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "seed.fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "seed.d"
    folder.mkdir()
    for path, message in [
        (Path("/dev/zero"), "not a regular file"),
        (fifo, "not a regular file"),
        (folder, "is a folder"),
        (tmp_path / "missing.json", "cannot read the seed"),
    ]:
        error = _without_hanging(lambda p=path: load_seed(p))
        assert isinstance(error, SeedError), path
        assert str(error) == f"{path}: {message}" or message in str(error)
        assert str(path) in str(error)


def test_the_state_copies_consistently_while_the_org_serves(
    org: EmulatedOrg, tmp_path: Path
) -> None:
    sf = org.client()
    sf.Lead.create({"LastName": "Before", "Company": "Copied", "Email": "before@x.example"})
    target = org.copy_state(tmp_path / "copy")
    assert target == tmp_path / "copy" / "org.db"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    sf.Lead.create({"LastName": "After", "Company": "Not copied", "Email": "after@x.example"})
    with EmulatedOrg(tmp_path / "copy") as copy:
        mirror = copy.client()
        emails = {r["Email"] for r in mirror.query("SELECT Email FROM Lead")["records"]}
        assert "before@x.example" in emails
        assert PEOPLE["owned"] in emails  # the seed's records came along
        assert "after@x.example" not in emails
        mirror.Lead.create({"LastName": "Only", "Company": "In the copy", "Email": "o@x.example"})
    count = sf.query("SELECT COUNT() FROM Lead WHERE Email = 'o@x.example'")["totalSize"]
    assert count == 0
    with pytest.raises(ValueError, match="own state folder"):
        org.copy_state(org.state_dir)  # type: ignore[arg-type]


def test_requests_to_a_closed_idle_connection_reconnect(state: Path) -> None:
    """A pooled connection the server closed for idling is replaced, not an error."""
    with EmulatedOrg(state, seed=existing_seed(), idle_timeout=0.2) as org:
        sf = org.client()
        sf.query("SELECT COUNT() FROM Lead")
        done = threading.Event()
        done.wait(0.5)  # past the idle timeout: the pooled connection is closed
        assert isinstance(sf.session, requests.Session)
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] > 0


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_seed_keys = st.sampled_from(
    [
        "User",
        "Group",
        "LeadStatus",
        "Campaign",
        "AssignmentRule",
        "fields",
        "limits",
        "LeadConvert",
        "Lead",
        "Contact",
        "Account",
        "Task",
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_seed_keys, _json, max_size=3))
def test_a_seed_of_any_shape_loads_or_is_one_seed_error(seed: dict[str, object]) -> None:
    seed_names(seed)  # what `journey check` reads of a seed never raises
    refused: SeedError | None = None
    try:
        EmulatedOrg(seed=seed).stop()
    except SeedError as error:
        refused = error
    assert refused is None or str(refused).startswith("seed")
