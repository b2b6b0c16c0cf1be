"""Who a token stands for: ``/services/oauth2/userinfo`` (OpenID Connect's UserInfo
endpoint) and the identity URL ``/id/{orgId}/{userId}`` that every token response names.

Pipeline position: called by ``oauth``; neither is an API call. Both answer only for the
token's own user ("This UserInfo endpoint provides access to information only for the
current user", https://help.salesforce.com/HTViewHelpDoc?id=remoteaccess_using_userinfo_endpoint.htm;
the identity URL's format, https://developer.salesforce.com/docs/platform/mobile-sdk/guide/oauth-using-identity-urls.html).
API URLs carry the literal ``{version}``, as the identity service's do when no version is
asked for. A missing, expired or revoked token gets 403 ``Bad_OAuth_Token``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from journey.emulator import edition
from journey.emulator.protocol import Request, Response, json_response
from journey.emulator.tokens import Grant

if TYPE_CHECKING:
    from journey.emulator.oauth import OAuthApi

__all__ = ["Identity"]


class Identity:
    """userinfo and the identity URL of one org."""

    def __init__(self, api: OAuthApi) -> None:
        self.api = api

    def _bearer(self, request: Request) -> Grant:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        grant = (
            self.api.tokens.access(token.strip()) if scheme.lower() in ("bearer", "oauth") else None
        )
        if grant is None:
            raise _BadTokenError()
        return grant

    def userinfo(self, request: Request, base_url: str) -> Response:
        try:
            grant = self._bearer(request)
        except _BadTokenError:
            return _bad_token()
        return json_response(200, self._claims(grant.user_id, base_url))

    def identity(self, request: Request, base_url: str) -> Response:
        try:
            grant = self._bearer(request)
        except _BadTokenError:
            return _bad_token()
        parts = request.path.strip("/").split("/")
        if len(parts) != 3 or parts[2] != grant.user_id or parts[1] != edition.ORGANIZATION_ID:
            return _bad_token()
        claims = self._claims(grant.user_id, base_url)
        user = self.api.user(grant.user_id)
        body = {
            "id": self.api.identity_url(base_url, grant.user_id),
            "asserted_user": True,
            "user_id": grant.user_id,
            "organization_id": edition.ORGANIZATION_ID,
            "username": user.get("Username"),
            "nick_name": claims["nickname"],
            "display_name": claims["name"],
            "email": claims["email"],
            "email_verified": True,
            "first_name": claims["given_name"],
            "last_name": claims["family_name"],
            "active": claims["active"],
            "user_type": claims["user_type"],
            "language": claims["language"],
            "locale": claims["locale"],
            "utcOffset": claims["utcOffset"],
            "urls": claims["urls"],
            "is_app_installed": True,
        }
        return json_response(200, body)

    def _claims(self, user_id: str, base_url: str) -> dict[str, Any]:
        """The userinfo answer: OpenID Connect's standard claims and Salesforce's own."""
        user = self.api.user(user_id)
        data = f"{base_url}/services/data/v{{version}}/"
        org15 = edition.ORGANIZATION_ID[:15]
        return {
            "sub": self.api.identity_url(base_url, user_id),
            "user_id": user_id,
            "organization_id": edition.ORGANIZATION_ID,
            "preferred_username": user.get("Username"),
            "nickname": user.get("Alias"),
            "name": user.get("Name"),
            "email": user.get("Email"),
            "email_verified": True,
            "given_name": user.get("FirstName"),
            "family_name": user.get("LastName"),
            "zoneinfo": "GMT",
            "photos": {},
            "profile": f"{base_url}/{user_id}",
            "picture": None,
            "address": {},
            "is_salesforce_integration_user": False,
            "urls": {
                "enterprise": f"{base_url}/services/Soap/c/{{version}}/{org15}",
                "partner": f"{base_url}/services/Soap/u/{{version}}/{org15}",
                "rest": data,
                "sobjects": data + "sobjects/",
                "query": data + "query/",
                "profile": f"{base_url}/{user_id}",
                "custom_domain": base_url,
            },
            "active": bool(user.get("IsActive")),
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "updated_at": user.get("LastModifiedDate"),
            "is_app_installed": True,
        }


class _BadTokenError(Exception):
    pass


def _bad_token() -> Response:
    return Response(403, b"Bad_OAuth_Token", content_type="text/plain;charset=UTF-8")
