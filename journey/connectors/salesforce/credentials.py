"""The web flow's refresh token at rest: ``.journey/credentials``, readable by its owner only.

Pipeline position: ``journey salesforce connect`` writes it (``save``), every command that
opens the connection reads it (``load``), ``journey salesforce disconnect`` deletes it
(``forget``). ``.journey/`` is outside git (the new project's ``.gitignore``). The file is
created with mode 0600 from its first byte — written to a 0600 temporary file beside it,
then renamed over it — so no other user can read it even for a moment, and a crash never
leaves half a file. It holds what renewing needs and nothing else: the refresh token, the
login and instance URLs, and who connected (for ``status``). Its repr shows no token.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CREDENTIALS_FILE", "StoredCredentials", "forget", "load", "save"]

CREDENTIALS_FILE = "credentials"
_MODE = 0o600


@dataclass(frozen=True)
class StoredCredentials:
    refresh_token: str = field(repr=False)
    login_url: str
    instance_url: str
    #: Who connected (the org's ``preferred_username``), and when: for ``status``.
    username: str | None = None
    connected_at: str | None = None


def _path(state_dir: Path) -> Path:
    return state_dir / CREDENTIALS_FILE


def save(state_dir: Path, credentials: StoredCredentials) -> Path:
    """Write the credentials (0600 from the start), replacing any earlier ones."""
    state_dir.mkdir(parents=True, exist_ok=True)
    target = _path(state_dir)
    # mkstemp creates the file 0600 (O_EXCL, owner-only), before a byte is written.
    handle, temporary = tempfile.mkstemp(dir=state_dir, prefix=".credentials-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), _MODE)
            json.dump(asdict(credentials), out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def load(state_dir: Path) -> StoredCredentials | None:
    """The stored credentials, or ``None`` when there are none (never connected, or
    disconnected)."""
    path = _path(state_dir)
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # unreadable or damaged: as if never connected; connect writes anew
    if not isinstance(raw, dict) or not raw.get("refresh_token"):
        return None
    return StoredCredentials(
        str(raw["refresh_token"]),
        str(raw.get("login_url") or ""),
        str(raw.get("instance_url") or ""),
        raw.get("username"),
        raw.get("connected_at"),
    )


def forget(state_dir: Path) -> bool:
    """Delete the stored credentials; False when there were none."""
    try:
        _path(state_dir).unlink()
    except FileNotFoundError:
        return False
    return True
