"""Keys, certificates, seeds and a plain HTTPS client for the emulated org's OAuth tests.

A connected app's JWT bearer flow needs an RSA key pair and a self-signed certificate
uploaded to the app; ``KeyPair`` makes both with ``cryptography``. ``oauth_seed`` is the
org a new user brings (``tests.existing_org``) with the apps the tests use added.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from journey.emulator import EmulatedOrg
from tests.existing_org import PEOPLE, existing_seed

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INACTIVE = "ivy@acme.example"
CALLBACK = "http://127.0.0.1:8765/callback"


class KeyPair:
    """An RSA key and the self-signed certificate a connected app is given for it."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "journey test")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        self.private_pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def assertion(
        self,
        iss: str,
        sub: str,
        aud: str,
        exp: float | None = None,
        **extra: Any,
    ) -> str:
        claims = {"iss": iss, "sub": sub, "aud": aud, "exp": int(exp or time.time() + 120)}
        return jwt.encode({**claims, **extra}, self.private_pem, algorithm="RS256")


def oauth_seed(keys: KeyPair, **org_settings: Any) -> dict[str, Any]:
    """The existing org plus an inactive user and three connected apps: ``server`` (JWT
    and client credentials, run as Bob), ``web`` (the web-server flow, consent page),
    ``auto`` (the web-server flow, approved without a page)."""
    seed = existing_seed()
    seed["User"].append({"Name": "Ivy Inactive", "Email": INACTIVE, "IsActive": False})
    seed["ConnectedApp"] = [
        {
            "name": "Journey Server",
            "client_id": "server-client-id",
            "client_secret": "server-secret",
            "certificate": keys.certificate_pem,
            "run_as": PEOPLE["bob"],
        },
        {
            "name": "Journey Web",
            "client_id": "web-client-id",
            "client_secret": "web-secret",
            "callback_url": CALLBACK,
        },
        {
            "name": "Journey Auto",
            "client_id": "auto-client-id",
            "callback_url": CALLBACK,
            "auto_approve": True,
            "require_secret": False,
        },
    ]
    seed.update(org_settings)
    return seed


def https(org: EmulatedOrg) -> requests.Session:
    """A requests session that trusts the org's CA (and nothing from the environment)."""
    session = requests.Session()
    session.verify = str(org.endpoint.ca_file)
    session.trust_env = False
    return session


def token(session: requests.Session, org: EmulatedOrg, **form: str) -> requests.Response:
    return session.post(org.endpoint.token_url, data=form, allow_redirects=False, timeout=30)
