"""The app's password: set once (first run or ``CLASSMOOD_APP_PASSWORD``), stored hashed.

The hash is argon2id (argon2-cffi) in ``<app home>/password.argon2``; the plain password is
never written. After a good login the browser gets a signed, time-limited, HttpOnly cookie
(itsdangerous) whose key lives in ``<app home>/secret.key``. Signing out revokes that cookie on the
server (its id goes into ``<app home>/revoked.json`` until it would have expired anyway), and a new
password revokes every cookie issued under the old one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
import time
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from classmood.app.config import app_home, write_atomic

PASSWORD_ENV = "CLASSMOOD_APP_PASSWORD"
COOKIE_NAME = "classmood_session"
SESSION_MAX_AGE_S = 12 * 3600
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
_setup_code: str | None = None


class PasswordError(ValueError):
    """A password that cannot be set (too short, mismatched)."""


def _password_file() -> Path:
    return app_home() / "password.argon2"


def password_is_set() -> bool:
    return _password_file().exists()


def set_password(password: str) -> None:
    """Hash and store a new password (replaces any previous one); the first-run setup code is spent."""
    global _setup_code
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordError(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
    write_atomic(_password_file(), _hasher.hash(password).encode())
    _setup_code = None


def check_password(password: str) -> bool:
    """True when ``password`` matches the stored hash."""
    if not password_is_set():
        return False
    stored = _password_file().read_text().strip()
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def apply_password_from_env() -> None:
    """Store ``$CLASSMOOD_APP_PASSWORD`` hashed (unless the stored hash already matches it), then
    drop it from this process's environment so that no child process inherits the plain text."""
    password = os.environ.pop(PASSWORD_ENV, None)
    if password and not check_password(password):
        set_password(password)


def new_setup_code() -> str:
    """A one-time code that lets a visitor from another machine choose the first password."""
    global _setup_code
    _setup_code = secrets.token_urlsafe(9)
    return _setup_code


def setup_code_matches(code: str) -> bool:
    """True when ``code`` is the code printed on the server's console at start (void once a password is set)."""
    return bool(_setup_code) and secrets.compare_digest(code.encode(), _setup_code.encode())


def _serializer() -> URLSafeTimedSerializer:
    return _serializer_for(app_home())


@functools.lru_cache(maxsize=4)
def _serializer_for(home: Path) -> URLSafeTimedSerializer:
    """Signs cookies with this home's key (made once, kept so logins survive a restart)."""
    key_file = home / "secret.key"
    if not key_file.exists():
        write_atomic(key_file, secrets.token_hex(32).encode())
    return URLSafeTimedSerializer(key_file.read_text().strip(), salt="classmood-login")


def _password_fingerprint() -> str:
    """Changes whenever the password does (a digest of the stored hash, never of the password)."""
    return hashlib.sha256(_password_file().read_bytes()).hexdigest()[:16] if password_is_set() else ""


def _revoked_file() -> Path:
    return app_home() / "revoked.json"


def _revoked() -> dict[str, float]:
    """Revoked cookie ids -> when they were revoked."""
    try:
        return {str(k): float(v) for k, v in json.loads(_revoked_file().read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def issue_token() -> str:
    """A signed cookie value for a teacher who just logged in."""
    return _serializer().dumps({"login": True, "id": secrets.token_urlsafe(12), "pw": _password_fingerprint()})


def _claims(token: str | None) -> dict | None:
    """The signed content of a cookie we issued less than ``SESSION_MAX_AGE_S`` ago, else None."""
    if not token:
        return None
    try:
        claims = _serializer().loads(token, max_age=SESSION_MAX_AGE_S)
    except BadSignature:
        return None
    return claims if isinstance(claims, dict) else None


def token_is_valid(token: str | None) -> bool:
    """True for a recent cookie of ours, issued under the current password and not signed out."""
    claims = _claims(token)
    return (claims is not None and claims.get("pw") == _password_fingerprint()
            and claims.get("id") not in _revoked())


def token_id(token: str | None) -> str | None:
    """The id of a cookie we signed (whatever its validity now), else None."""
    claims = _claims(token)
    return str(claims["id"]) if claims and claims.get("id") else None


def revoke_token(token: str | None) -> None:
    """Sign out: this cookie stops working at once, even if a copy of it is replayed."""
    claims = _claims(token)
    if claims is None or not claims.get("id"):
        return
    now = time.time()
    kept = {k: t for k, t in _revoked().items() if now - t < SESSION_MAX_AGE_S}  # older ones expired anyway
    kept[claims["id"]] = now
    write_atomic(_revoked_file(), json.dumps(kept).encode())
