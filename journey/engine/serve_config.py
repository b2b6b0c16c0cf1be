"""``[serve]`` of ``journey.toml``: what ``journey serve`` and its public form intake allow.

Pipeline position: a section of the project's configuration (``engine.config`` reads the
file and holds this section as ``ProjectConfig.serve``), read by ``journey.serve``. It is a
module of its own because its guards — the hosts a form may send the browser back to, the
origins whose scripts may read the intake's answers, the Web-to-Lead field IDs — concern
only the web side.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ServeConfig"]

#: A Salesforce custom field's ID as Web-to-Lead names it: key prefix 00N, 15 or 18 characters.
_CUSTOM_FIELD_ID = re.compile(r"^00N[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_ORIGIN = re.compile(r"^https?://[^/?#@\\\s]+$")


class ServeConfig(BaseModel):
    """``[serve]``: ``journey serve`` and its public form intake (``journey.serve.intake``;
    docs/forms.md). The intake answers the open internet, so every guard is on by default:
    no redirect host and no CORS origin until one is named."""

    # As every section of journey.toml: an unknown key is refused, not ignored.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    #: Hosts a form's ``retURL`` may send the browser back to (exact names, any port).
    redirect_hosts: list[str] = []
    #: Origins (``https://www.acme.example``) whose scripts may post to the intake and read
    #: its answer; a plain HTML form needs none.
    cors_origins: list[str] = []
    #: A form field people never see; a post that fills it is answered as a success and
    #: stored nowhere. ``""``: no honeypot.
    honeypot: str = "website"
    #: Posts per minute from one address (a burst of this many, then refilled); 0: no limit.
    rate_limit_per_minute: int = Field(default=30, ge=0)
    #: The largest form body taken, in bytes (413 above it).
    max_body_bytes: int = Field(default=65536, ge=1024, le=10 * 1024 * 1024)
    #: Web-to-Lead custom field IDs -> contact fields: ``"00N5g00000ABCDe" = "Plan Tier"``.
    web_to_lead: dict[str, str] = {}
    #: The name of the environment variable holding the token every page and API asks
    #: for once it is set (docs/serve.md); required to serve on an address other than
    #: loopback. The intake stays public.
    token_env: str | None = None

    @field_validator("redirect_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if not _HOST.match(host.lower()):
                raise ValueError(
                    f'"{host}" is not a host name (write it bare, e.g. "www.acme.example")'
                )
        return [host.lower() for host in hosts]

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not _ORIGIN.match(origin):
                raise ValueError(
                    f'"{origin}" is not an origin (scheme and host, no path or "*", e.g. '
                    '"https://www.acme.example")'
                )
        return [origin.lower() for origin in origins]

    @field_validator("web_to_lead")
    @classmethod
    def _custom_ids(cls, mapping: dict[str, str]) -> dict[str, str]:
        for key, name in mapping.items():
            if not _CUSTOM_FIELD_ID.match(key):
                raise ValueError(
                    f'"{key}" is not a custom field ID (00N followed by 12 or 15 letters and '
                    "digits, as in the Web-to-Lead form's field name)"
                )
            if not name.strip():
                raise ValueError(f'"{key}": name the contact field it fills')
        # An 18-character ID is the 15-character one and a checksum of its letter case.
        return {key[:15]: name.strip() for key, name in mapping.items()}
