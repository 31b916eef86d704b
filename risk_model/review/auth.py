"""Who may use the review app: passwords, sessions, CSRF tokens and sign-in rate limiting.

- **Passwords** are hashed with scrypt from the standard library (:func:`hash_password`:
  ``scrypt$n$r$p$salt$hash``, n=2**15, r=8, p=1, about 50 ms), compared in constant time
  (:func:`verify_password`) and re-hashed at the next sign-in when the parameters were raised
  (:func:`needs_rehash`). :func:`check_password_policy` asks for at least 12 characters.
- **Sessions** live on the server (``review_sessions``): the browser holds a random 32-byte
  token, the database only its SHA-256. A session ends after :data:`SESSION_LIFETIME`, or after
  :data:`SESSION_IDLE` without a request, or at sign-out (:func:`create_session`,
  :func:`read_session`, :func:`destroy_session`).
- **CSRF tokens** are an HMAC of the session token (:func:`csrf_token`): bound to the session,
  nothing to store, checked in constant time (:func:`check_csrf`).
- **Sign-in** (:func:`sign_in`) is refused for :attr:`RateLimits.lockout` (15 minutes) once a
  username has 5 failed attempts, or an address 20, within :attr:`RateLimits.window` (15
  minutes); attempts are kept in ``review_login_attempts``. Every success and failure goes to the
  audit log, with the username given and never the password.

The web pages set the session cookie (HttpOnly, SameSite, Secure over TLS); this module gives
them the token to put in it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from risk_model.config import Workspace
from risk_model.errors import ConfigError, RiskModelError
from risk_model.review.store import (
    LOGIN_ATTEMPTS_TABLE,
    SESSIONS_TABLE,
    USER_PATCHES_TABLE,
    USERS_TABLE,
    as_utc,
    engine,
    log_event,
)

__all__ = [
    "DEFAULT_LIMITS",
    "PASSWORD_HAS_USERNAME",
    "PASSWORD_MIN_LENGTH",
    "PASSWORD_TOO_LONG",
    "PASSWORD_TOO_SHORT",
    "SESSION_IDLE",
    "SESSION_LIFETIME",
    "SIGN_IN_FAILED",
    "TOO_MANY_ATTEMPTS",
    "RateLimits",
    "Session",
    "SignInFailed",
    "TooManyAttempts",
    "check_csrf",
    "check_password_policy",
    "create_session",
    "csrf_token",
    "destroy_session",
    "hash_password",
    "needs_rehash",
    "normalise_username",
    "prune",
    "read_session",
    "sign_in",
    "verify_password",
]

log = logging.getLogger(__name__)

#: scrypt's cost parameters for new hashes (raise them and old hashes are redone at sign-in).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_SALT_BYTES, _KEY_BYTES = 16, 32
#: The largest cost a stored hash may ask for (refuses a crafted hash that would exhaust memory).
_SCRYPT_MAX_N = 2**20

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 1024
PASSWORD_TOO_SHORT = "the password has {length} characters; it needs at least {minimum}"
PASSWORD_TOO_LONG = "the password has {length} characters; it may have at most {maximum}"
PASSWORD_HAS_USERNAME = "the password contains the username"
_PASSWORD_HINT = "choose a passphrase of three or more unrelated words"

#: A session ends this long after sign-in, whatever happens.
SESSION_LIFETIME = timedelta(hours=8)
#: ... or after this long without a request.
SESSION_IDLE = timedelta(minutes=30)
#: ``last_seen`` is written at most this often (a request does not always write).
_TOUCH_EVERY = timedelta(seconds=60)

SIGN_IN_FAILED = "the username or password is not right"
TOO_MANY_ATTEMPTS = "too many failed sign-in attempts; try again after {until:%H:%M} UTC"
_CSRF_CONTEXT = b"risk_model review csrf v1"


@dataclass(frozen=True)
class RateLimits:
    """How many failed sign-ins are allowed before sign-in is refused for a while.

    Parameters
    ----------
    username : int, default 5
        Failed attempts for one username within ``window`` (since its last success).
    ip : int, default 20
        Failed attempts from one address within ``window``.
    window : datetime.timedelta, default 15 minutes
        The window attempts are counted in.
    lockout : datetime.timedelta, default 15 minutes
        How long sign-in is refused after the limit is reached.
    """

    username: int = 5
    ip: int = 20
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


DEFAULT_LIMITS = RateLimits()


class SignInFailed(RiskModelError):
    """The username or password is not right (the message never says which)."""

    def __init__(self, message: str = SIGN_IN_FAILED, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or "check them and try again; after 5 failed "
                         "attempts sign-in is paused for 15 minutes")


class TooManyAttempts(SignInFailed):
    """Sign-in is paused for this username or address until ``until``."""

    def __init__(self, until: datetime) -> None:
        self.until = until
        super().__init__(TOO_MANY_ATTEMPTS.format(until=until),
                         hint="wait, or ask an administrator to check the account")


@dataclass(frozen=True)
class Session:
    """A signed-in user, as :func:`read_session` finds them."""

    username: str
    display_name: str
    role: str
    patches: tuple[str, ...]
    csrf_token: str
    created_at: datetime
    last_seen: datetime
    expires_at: datetime


# ---- passwords --------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=129 * r * (n + p + 2) + 1024 * 1024)


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    """Hash a password with scrypt and a random salt.

    Parameters
    ----------
    password : str
        The password.
    n, r, p : int, optional
        scrypt's cost parameters (defaults: :data:`SCRYPT_N`, :data:`SCRYPT_R`,
        :data:`SCRYPT_P`).

    Returns
    -------
    str
        ``scrypt$n$r$p$salt$hash`` (salt and hash in unpadded URL-safe base64).

    Examples
    --------
    >>> encoded = hash_password("correct horse battery", n=2**10)
    >>> encoded.startswith("scrypt$1024$8$1$"), verify_password("correct horse battery", encoded)
    (True, True)
    """
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, salt, n, r, p, _KEY_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(key)}"


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = encoded.split("$") if isinstance(encoded, str) else []
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, key = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return None
    if not (1 < n <= _SCRYPT_MAX_N and n & (n - 1) == 0 and 0 < r <= 32 and 0 < p <= 16
            and salt and len(key) >= 16):
        return None
    return n, r, p, salt, key


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` is the one ``encoded`` was made from (constant-time compare).

    Parameters
    ----------
    password : str
        The password given.
    encoded : str
        A hash from :func:`hash_password`.

    Returns
    -------
    bool
        True if it matches; False if not, or if ``encoded`` is not a hash this module made.
    """
    parsed = _parse(encoded)
    if parsed is None:
        return False
    n, r, p, salt, key = parsed
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(key)), key)


def needs_rehash(encoded: str) -> bool:
    """Whether a stored hash is weaker than new ones would be (or not a hash at all).

    Parameters
    ----------
    encoded : str
        A stored hash.

    Returns
    -------
    bool
        True when any of its scrypt parameters is below the current ones.
    """
    parsed = _parse(encoded)
    if parsed is None:
        return True
    n, r, p, _, key = parsed
    return n < SCRYPT_N or r < SCRYPT_R or p < SCRYPT_P or len(key) < _KEY_BYTES


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when the user is unknown, so both cases take as long."""
    return hash_password(secrets.token_urlsafe(16))


def check_password_policy(password: str, *, username: str | None = None) -> None:
    """Refuse a password that is too short, too long or contains the username.

    Parameters
    ----------
    password : str
        The new password.
    username : str, optional
        Whose password it is.

    Raises
    ------
    ConfigError
        With :data:`PASSWORD_TOO_SHORT`, :data:`PASSWORD_TOO_LONG` or
        :data:`PASSWORD_HAS_USERNAME`, and a hint.
    """
    if not isinstance(password, str):
        raise ConfigError("the password must be text", hint=_PASSWORD_HINT)
    length = len(password)
    if length < PASSWORD_MIN_LENGTH:
        raise ConfigError(PASSWORD_TOO_SHORT.format(length=length, minimum=PASSWORD_MIN_LENGTH),
                          hint=_PASSWORD_HINT)
    if length > PASSWORD_MAX_LENGTH:
        raise ConfigError(PASSWORD_TOO_LONG.format(length=length, maximum=PASSWORD_MAX_LENGTH),
                          hint=_PASSWORD_HINT)
    if username and len(username) >= 3 and username.lower() in password.lower():
        raise ConfigError(PASSWORD_HAS_USERNAME, hint=_PASSWORD_HINT)


def normalise_username(username: str) -> str:
    """Usernames are compared without surrounding spaces and case: ``" Alice "`` is ``alice``."""
    return username.strip().lower() if isinstance(username, str) else ""


# ---- sessions and CSRF ------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else as_utc(now)


def create_session(workspace: Workspace, username: str, *, ip: str | None = None,
                   now: datetime | None = None) -> str:
    """Start a session for a user; return its token (for the cookie, shown nowhere else).

    :func:`sign_in` calls this after checking the password; call it directly only for a user
    already authenticated.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    username : str
        The user.
    ip : str, optional
        The client's address.
    now : datetime.datetime, optional
        The time (default: now, UTC).

    Returns
    -------
    str
        A random 32-byte URL-safe token; the database keeps only its SHA-256.
    """
    at = _now(now)
    token = secrets.token_urlsafe(32)
    with engine(workspace).begin() as con:
        con.execute(SESSIONS_TABLE.insert().values(
            token_hash=_token_hash(token), username=normalise_username(username),
            created_at=at, last_seen=at, expires_at=at + SESSION_LIFETIME, ip=ip))
    return token


def read_session(workspace: Workspace, token: str | None, *,
                 now: datetime | None = None) -> Session | None:
    """Return the session a token belongs to, or None if it has ended or never was.

    A session has ended after :data:`SESSION_LIFETIME`, after :data:`SESSION_IDLE` without a
    request, or when its user was deactivated; an ended session is removed. Reading a live one
    counts as a request.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    token : str or None
        The token from the cookie.
    now : datetime.datetime, optional
        The time (default: now, UTC).

    Returns
    -------
    Session or None
        The user, their role and patches, and the session's CSRF token.
    """
    if not token or not isinstance(token, str) or len(token) > 128:
        return None
    at = _now(now)
    key = _token_hash(token)
    s, u, up = SESSIONS_TABLE, USERS_TABLE, USER_PATCHES_TABLE
    eng = engine(workspace)
    # read first, then write in short transactions of their own: under SQLite a transaction that
    # reads and then writes cannot wait for another writer (it fails as "database is locked"),
    # while one that starts by writing waits its turn (busy_timeout)
    with eng.connect() as con:
        row = con.execute(sa.select(s, u.c.display_name, u.c.role, u.c.active)
                          .join(u, u.c.username == s.c.username)
                          .where(s.c.token_hash == key)).mappings().first()
        patches = [] if row is None else con.execute(
            sa.select(up.c.patch).where(up.c.username == row["username"])
            .order_by(up.c.patch)).scalars().all()
    if row is None:
        return None
    last_seen, expires = as_utc(row["last_seen"]), as_utc(row["expires_at"])
    if at >= expires or at >= last_seen + SESSION_IDLE or not row["active"]:
        with eng.begin() as con:
            con.execute(s.delete().where(s.c.token_hash == key))
        return None
    if at - last_seen >= _TOUCH_EVERY:
        with eng.begin() as con:
            con.execute(s.update().where(s.c.token_hash == key).values(last_seen=at))
        last_seen = at
    return Session(username=row["username"], display_name=row["display_name"],
                   role=row["role"], patches=tuple(patches), csrf_token=csrf_token(token),
                   created_at=as_utc(row["created_at"]), last_seen=last_seen,
                   expires_at=expires)


def destroy_session(workspace: Workspace, token: str | None, *, ip: str | None = None,
                    now: datetime | None = None) -> None:
    """End a session (sign-out) and record it in the audit log; nothing for an unknown token.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    token : str or None
        The token from the cookie.
    ip : str, optional
        The client's address.
    now : datetime.datetime, optional
        The time (default: now, UTC).
    """
    if not token or not isinstance(token, str):
        return
    s = SESSIONS_TABLE
    with engine(workspace).begin() as con:
        username = con.execute(sa.select(s.c.username)
                               .where(s.c.token_hash == _token_hash(token))).scalar()
        if username is None:
            return
        con.execute(s.delete().where(s.c.token_hash == _token_hash(token)))
        log_event(con, "sign_out", username=username, ip=ip, at=_now(now))


def csrf_token(session_token: str) -> str:
    """The CSRF token for a session's forms: an HMAC-SHA256 of the session token.

    Parameters
    ----------
    session_token : str
        The session's token (from the cookie).

    Returns
    -------
    str
        URL-safe text to put in a hidden form field.
    """
    return _b64(hmac.new(session_token.encode("utf-8"), _CSRF_CONTEXT, hashlib.sha256).digest())


def check_csrf(session_token: str | None, given: str | None) -> bool:
    """Whether a form's CSRF token belongs to the session (constant-time compare).

    Parameters
    ----------
    session_token : str or None
        The session's token (from the cookie).
    given : str or None
        The token the form posted.

    Returns
    -------
    bool
        False when either is missing or they do not match.
    """
    if not session_token or not given or not isinstance(given, str) \
            or not isinstance(session_token, str):
        return False
    return hmac.compare_digest(csrf_token(session_token).encode("ascii"),
                               given.encode("utf-8", "replace"))


def prune(workspace: Workspace, *, now: datetime | None = None,
          limits: RateLimits = DEFAULT_LIMITS) -> dict[str, int]:
    """Remove ended sessions and sign-in attempts too old to count (run it daily, say).

    The audit log keeps its own record of every sign-in; nothing is removed from it.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    now : datetime.datetime, optional
        The time (default: now, UTC).
    limits : RateLimits, optional
        The limits whose window and lockout say how long attempts matter.

    Returns
    -------
    dict of str to int
        How many ``sessions`` and ``attempts`` were removed.
    """
    at = _now(now)
    s, a = SESSIONS_TABLE, LOGIN_ATTEMPTS_TABLE
    with engine(workspace).begin() as con:
        sessions = con.execute(s.delete().where(sa.or_(
            s.c.expires_at <= at, s.c.last_seen <= at - SESSION_IDLE))).rowcount
        attempts = con.execute(a.delete().where(
            a.c.at <= at - limits.window - limits.lockout)).rowcount
    return {"sessions": int(sessions), "attempts": int(attempts)}


# ---- sign-in ----------------------------------------------------------------------------------


def _lock_from(failures: list[datetime], limit: int, limits: RateLimits,
               now: datetime) -> datetime | None:
    """When a run of ``limit`` failures within the window ends its lockout, if still ahead."""
    until = None
    for i in range(limit - 1, len(failures)):
        if failures[i] - failures[i - limit + 1] < limits.window:
            end = failures[i] + limits.lockout
            if end > now and (until is None or end > until):
                until = end
    return until


def _locked_until(con: Any, username: str, ip: str | None, now: datetime,
                  limits: RateLimits) -> datetime | None:
    a = LOGIN_ATTEMPTS_TABLE
    since = now - limits.window - limits.lockout
    last_success = con.execute(sa.select(sa.func.max(a.c.at)).where(
        a.c.username == username, a.c.outcome == "success")).scalar()
    if last_success is not None:
        since = max(since, as_utc(last_success))
    mine = [as_utc(t) for t in con.execute(
        sa.select(a.c.at).where(a.c.username == username, a.c.outcome == "failure",
                                a.c.at > since, a.c.at <= now).order_by(a.c.at)).scalars()]
    ends = [_lock_from(mine, limits.username, limits, now)]
    if ip:
        theirs = [as_utc(t) for t in con.execute(
            sa.select(a.c.at).where(a.c.ip == ip, a.c.outcome == "failure",
                                    a.c.at > now - limits.window - limits.lockout,
                                    a.c.at <= now).order_by(a.c.at)).scalars()]
        ends.append(_lock_from(theirs, limits.ip, limits, now))
    found = [e for e in ends if e is not None]
    return max(found) if found else None


def sign_in(workspace: Workspace, username: str, password: str, *, ip: str | None = None,
            now: datetime | None = None, limits: RateLimits = DEFAULT_LIMITS) -> str:
    """Check a username and password and start a session; return its token.

    Refused without looking at the password while the username or address is locked out (see
    :class:`RateLimits`). Every attempt is recorded, and goes to the audit log as ``sign_in``
    or ``sign_in_failed`` (with the reason, never the password). A hash made with weaker
    parameters is replaced on success.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    username, password : str
        What the user typed (the username is compared without case or surrounding spaces).
    ip : str, optional
        The client's address (rate-limited too when given).
    now : datetime.datetime, optional
        The time (default: now, UTC).
    limits : RateLimits, optional
        The limits (default :data:`DEFAULT_LIMITS`: 5 per username, 20 per address, in 15
        minutes, refused for 15 minutes).

    Returns
    -------
    str
        The new session's token (see :func:`create_session`).

    Raises
    ------
    TooManyAttempts
        While sign-in is paused for this username or address.
    SignInFailed
        If the username is unknown or inactive, or the password is wrong (one message for all).
    """
    at = _now(now)
    name = normalise_username(username)[:100] or "(blank)"
    u = USERS_TABLE
    eng = engine(workspace)
    with eng.connect() as con:
        locked = _locked_until(con, name, ip, at, limits)
        user = con.execute(sa.select(u.c.username, u.c.password_hash, u.c.active)
                           .where(u.c.username == name)).mappings().first()

    def attempt(outcome: str, event: str, detail: dict[str, Any] | None = None,
                rehashed: str | None = None) -> None:
        with eng.begin() as con:
            con.execute(LOGIN_ATTEMPTS_TABLE.insert().values(at=at, username=name, ip=ip,
                                                             outcome=outcome))
            log_event(con, event, username=name, ip=ip, at=at, detail=detail)
            if rehashed is not None:
                con.execute(u.update().where(u.c.username == name)
                            .values(password_hash=rehashed))

    if locked is not None:
        attempt("refused", "sign_in_failed", {"reason": "rate_limited"})
        log.warning("sign-in refused: too many failed attempts")
        raise TooManyAttempts(locked)
    if user is None:
        verify_password(password, _dummy_hash())  # as long as a real check
        attempt("failure", "sign_in_failed", {"reason": "unknown_user"})
        raise SignInFailed
    if not verify_password(password, user["password_hash"]):
        attempt("failure", "sign_in_failed", {"reason": "wrong_password"})
        raise SignInFailed
    if not user["active"]:
        attempt("failure", "sign_in_failed", {"reason": "inactive"})
        raise SignInFailed
    rehashed = hash_password(password) if needs_rehash(user["password_hash"]) else None
    attempt("success", "sign_in", {"kdf_upgraded": True} if rehashed else None, rehashed)
    return create_session(workspace, name, ip=ip, now=at)
