"""SOAP ``login()`` on ``/services/Soap/u/{version}``: a username and a password (with the
security token appended) in, a ``LoginResult`` and a session out — or a ``LoginFault``.

Pipeline position: called by ``soap`` when the envelope's body is ``login``, before any
session check (logging in is how a client gets one) and without charging an API call
("all calls, except for login()",
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_limitinfo.htm).
What Salesforce documents, and this follows
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_login.htm):

* ``login()`` "is available in API version 64.0 and earlier": at 65.0 and later it is an
  ``INVALID_OPERATION`` fault, worded as Salesforce words it (forcedotcom/wsc#363);
* it "is disabled by default in new orgs" until an admin selects "Enable SOAP API login()"
  in Setup > User Interface: the seed's ``"EnableSoapApiLogin"``, off unless the seed turns
  it on, since the emulated org is a new Winter '27 org; refused with Salesforce's
  ``INVALID_OPERATION`` (OpenFn/adaptors#1715 quotes it);
* a wrong username, password or security token, and an inactive user, all get the one
  ``INVALID_LOGIN`` fault, which never says which part was wrong;
* the session it returns is a session like any other: an access token of ``tokens`` that
  times out after ``session_timeout_minutes`` without use and ends with ``expire_session``.

Passwords are seeded on the User entry (``"password"``, ``"security_token"``) and kept only
as a salted SHA-256 of the password with the token appended (``apps.digest``), never the
values, never as a field a query could read.
"""

from __future__ import annotations

import hmac
import secrets
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from journey.emulator import edition
from journey.emulator.apps import digest
from journey.emulator.org import Org
from journey.emulator.tokens import Grant, Tokens

__all__ = [
    "LAST_LOGIN_VERSION",
    "LOGIN_CLIENT",
    "LoginFaultError",
    "SoapLogin",
    "login_enabled",
    "seed_credentials",
    "seed_login_setting",
    "store_password",
]

#: The last API version with ``login()``.
LAST_LOGIN_VERSION = 64
#: The ``client_id`` a login() session's grant carries (no connected app is involved).
LOGIN_CLIENT = "SOAP API login()"
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
DISABLED = (
    "SOAP API login() is disabled by default in this org. Contact the org administrator "
    "to enable SOAP API login()."
)
_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_PARTNER = "urn:partner.soap.sforce.com"
_NS = {"p": _PARTNER}
_CREDENTIALS = "login_credentials"
_ENABLED = "soap_api_login_enabled"


class LoginFaultError(Exception):
    """A ``LoginFault`` (``INVALID_LOGIN``) or an ``UnexpectedErrorFault`` such as
    ``INVALID_OPERATION``: SOAP's fault with the ``detail`` a client reads its
    ``sf:exceptionCode`` from."""

    def __init__(self, code: str, message: str, kind: str = "UnexpectedErrorFault") -> None:
        super().__init__(message)
        self.code, self.message, self.kind = code, message, kind

    def envelope(self) -> str:
        code, message, kind = escape(self.code), escape(self.message), escape(self.kind)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{_ENV}" '
            'xmlns:sf="urn:fault.partner.soap.sforce.com" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<soapenv:Body><soapenv:Fault>"
            f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring>"
            f'<detail><sf:{kind} xsi:type="sf:{kind}">'
            f"<sf:exceptionCode>{code}</sf:exceptionCode>"
            f"<sf:exceptionMessage>{message}</sf:exceptionMessage>"
            f"</sf:{kind}></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        )


def store_password(org: Org, user_id: str, password: str, security_token: str) -> None:
    """Keep what the org needs to check a login: a salt and the digest of the salted
    password with the token appended (what a client sends as ``password``)."""
    salt = secrets.token_hex(16)
    table = dict(org.store.meta(_CREDENTIALS) or {})
    table[user_id] = {"salt": salt, "digest": digest(salt + password + security_token)}
    org.store.set_meta(_CREDENTIALS, table)


def seed_credentials(org: Org, user_id: str, user: dict[str, Any]) -> None:
    """A seed User entry's ``"password"`` and ``"security_token"``, if it has them (a user
    without a password cannot log in); ``ValueError`` names what is wrong."""
    password, token = user.get("password"), user.get("security_token", "")
    if password is None:
        if "security_token" in user:
            raise ValueError('"security_token" needs a "password"')
        return
    if not isinstance(password, str) or not password or not isinstance(token, str):
        raise ValueError('"password" and "security_token" are text')
    store_password(org, user_id, password, token)


def seed_login_setting(org: Org, enabled: Any) -> None:
    """The seed's ``"EnableSoapApiLogin"`` (Setup > User Interface > "Enable SOAP API
    login()"): off unless the seed turns it on, as in an org created in Winter '26 or later."""
    if not isinstance(enabled, bool):
        raise ValueError("seed EnableSoapApiLogin: true or false")
    org.store.set_meta(_ENABLED, enabled)


def login_enabled(org: Org) -> bool:
    """Setup > User Interface > "Enable SOAP API login()"; off in a new org."""
    return bool(org.store.meta(_ENABLED))


class SoapLogin:
    """Answers ``login()`` for one org, issuing its sessions through ``tokens``."""

    def __init__(self, org: Org, tokens: Tokens) -> None:
        self.org, self.tokens = org, tokens

    def answer(self, call: ET.Element, version: str, base_url: str) -> str:
        """The ``loginResponse`` envelope; raises ``LoginFaultError``."""
        major = int(version.split(".")[0])
        if major > LAST_LOGIN_VERSION:
            raise LoginFaultError(
                "INVALID_OPERATION",
                f"The SOAP Login operation is not available in the API version specified "
                f"({version}). Refer to the documentation for supported versions.",
            )
        if not login_enabled(self.org):
            raise LoginFaultError("INVALID_OPERATION", DISABLED)
        username = (call.findtext("p:username", "", _NS) or "").strip()
        password = call.findtext("p:password", "", _NS) or ""
        user = self._authenticated(username, password)
        user_id = str(user["Id"])
        session = self.tokens.issue_access(Grant(user_id, LOGIN_CLIENT, ("api", "web")))
        return _response(self._result(user, session, version, base_url))

    def _authenticated(self, username: str, password: str) -> dict[str, Any]:
        lowered = username.lower()
        user = next(
            (
                u
                for u in self.org.store.scan("User")
                if str(u.get("Username", "")).lower() == lowered
            ),
            None,
        )
        stored = (self.org.store.meta(_CREDENTIALS) or {}).get(str(user["Id"])) if user else None
        if user is None or stored is None:
            digest(password)  # as much work for an unknown user as for a known one
            raise LoginFaultError("INVALID_LOGIN", INVALID_LOGIN, "LoginFault")
        matches = hmac.compare_digest(digest(stored["salt"] + password), stored["digest"])
        if not matches or not user.get("IsActive"):
            raise LoginFaultError("INVALID_LOGIN", INVALID_LOGIN, "LoginFault")
        return user

    def _result(self, user: dict[str, Any], session: str, version: str, base_url: str) -> str:
        org15 = edition.ORGANIZATION_ID[:15]
        settings = edition.settings(self.org)
        seconds = int(self.tokens.timeout.total_seconds())
        info = {
            "organizationId": edition.ORGANIZATION_ID,
            "organizationName": settings.name,
            "orgHasPersonAccounts": "true" if self.org.person_accounts else "false",
            "sessionSecondsValid": str(seconds),
            "userEmail": user.get("Email"),
            "userFullName": user.get("Name"),
            "userId": user["Id"],
            "userLanguage": "en_US",
            "userLocale": "en_US",
            "userName": user.get("Username"),
            "userTimeZone": "GMT",
            "userType": "Standard",
        }
        return (
            f"<metadataServerUrl>{escape(base_url)}/services/Soap/m/{version}/{org15}"
            "</metadataServerUrl><passwordExpired>false</passwordExpired>"
            f"<sandbox>{'true' if settings.is_sandbox else 'false'}</sandbox>"
            f"<serverUrl>{escape(base_url)}/services/Soap/u/{version}/{org15}</serverUrl>"
            f"<sessionId>{escape(session)}</sessionId><userId>{escape(str(user['Id']))}</userId>"
            "<userInfo>"
            + "".join(f"<{k}>{escape(str(v or ''))}</{k}>" for k, v in info.items())
            + "</userInfo>"
        )


def _response(result: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{_ENV}" xmlns="{_PARTNER}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body><loginResponse><result>{result}</result></loginResponse>"
        "</soapenv:Body></soapenv:Envelope>"
    )
