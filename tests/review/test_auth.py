"""Passwords, sessions, CSRF tokens, sign-in rate limiting and its audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from risk_model.config import Workspace
from risk_model.errors import ConfigError
from risk_model.review import auth
from risk_model.review.auth import (
    PASSWORD_HAS_USERNAME,
    PASSWORD_TOO_SHORT,
    SESSION_IDLE,
    SESSION_LIFETIME,
    SIGN_IN_FAILED,
    RateLimits,
    SignInFailed,
    TooManyAttempts,
    check_csrf,
    check_password_policy,
    create_session,
    csrf_token,
    destroy_session,
    hash_password,
    needs_rehash,
    prune,
    read_session,
    sign_in,
    verify_password,
)
from risk_model.review.store import (
    SESSIONS_TABLE,
    USER_PATCHES_TABLE,
    USERS_TABLE,
    audit_events,
    engine,
)
from tests.review.backends import review_ws, sqlite_ws

__all__ = ["review_ws", "sqlite_ws"]  # the fixtures, imported for pytest

PASSWORD = "a long enough passphrase"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _user(ws: Workspace, username: str = "alice", *, role: str = "housing_officer",
          password: str = PASSWORD, encoded: str | None = None, active: bool = True,
          patches: tuple[str, ...] = ()) -> None:
    with engine(ws).begin() as con:
        con.execute(USERS_TABLE.insert().values(
            username=username, display_name=username.title(), role=role,
            password_hash=encoded or hash_password(password), active=active, created_at=T0))
        for patch in patches:
            con.execute(USER_PATCHES_TABLE.insert().values(username=username, patch=patch))


def _stored_hash(ws: Workspace, username: str = "alice") -> str:
    with engine(ws).connect() as con:
        return con.execute(sa.select(USERS_TABLE.c.password_hash)
                           .where(USERS_TABLE.c.username == username)).scalar_one()


# ---- passwords --------------------------------------------------------------------------------


def test_a_password_hash_verifies_its_password_and_nothing_else() -> None:
    encoded = hash_password(PASSWORD)
    algorithm, n, r, p, salt, key = encoded.split("$")
    assert (algorithm, n, r, p) == ("scrypt", str(2**15), "8", "1")
    assert PASSWORD not in encoded
    assert verify_password(PASSWORD, encoded)
    assert not verify_password(PASSWORD + " ", encoded)
    assert not verify_password("A long enough passphrase", encoded)
    assert hash_password(PASSWORD) != encoded  # a fresh salt each time
    tampered = "$".join([algorithm, n, r, p, salt, key[:-2] + ("AA" if key[-2:] != "AA"
                                                                 else "BB")])
    assert not verify_password(PASSWORD, tampered)
    for broken in ("", "plain", "bcrypt$1$2$3$x$y", "scrypt$3$8$1$c2FsdA$a2V5",
                   f"scrypt${2**30}$8$1${salt}${key}", "scrypt$x$8$1$a$b"):
        assert not verify_password(PASSWORD, broken), broken


def test_weaker_hashes_need_rehashing_and_are_upgraded_at_sign_in(sqlite_ws: Workspace) -> None:
    weak = hash_password(PASSWORD, n=2**12)
    assert verify_password(PASSWORD, weak)
    assert needs_rehash(weak)
    assert needs_rehash("not a hash")
    assert not needs_rehash(hash_password(PASSWORD))
    _user(sqlite_ws, encoded=weak)
    sign_in(sqlite_ws, "alice", PASSWORD, now=T0)
    upgraded = _stored_hash(sqlite_ws)
    assert upgraded != weak and not needs_rehash(upgraded)
    assert verify_password(PASSWORD, upgraded)
    sign_in(sqlite_ws, "alice", PASSWORD, now=T0)
    assert _stored_hash(sqlite_ws) == upgraded  # a current hash is left alone


def test_password_policy() -> None:
    with pytest.raises(ConfigError) as caught:
        check_password_policy("elevenchars")
    assert caught.value.message == PASSWORD_TOO_SHORT.format(length=11, minimum=12)
    assert "passphrase" in str(caught.value)
    check_password_policy("twelve chars")
    with pytest.raises(ConfigError) as caught:
        check_password_policy("my name is alice, hello", username="alice")
    assert caught.value.message == PASSWORD_HAS_USERNAME
    with pytest.raises(ConfigError, match="at most 1024"):
        check_password_policy("x" * 1025)


# ---- sessions ---------------------------------------------------------------------------------


def test_a_session_knows_its_user_and_stores_only_a_hash(review_ws: Workspace) -> None:
    _user(review_ws, patches=("North", "East"))
    token = sign_in(review_ws, " Alice ", PASSWORD, ip="10.0.0.1", now=T0)
    assert len(token) >= 43  # 32 random bytes
    session = read_session(review_ws, token, now=T0 + timedelta(minutes=1))
    assert session is not None
    assert (session.username, session.role, session.patches) == (
        "alice", "housing_officer", ("East", "North"))
    assert session.expires_at == T0 + SESSION_LIFETIME
    with engine(review_ws).connect() as con:
        stored = con.execute(sa.select(SESSIONS_TABLE.c.token_hash)).scalars().all()
    assert len(stored) == 1 and token not in stored[0]
    assert read_session(review_ws, token[:-1] + ("A" if token[-1] != "A" else "B"),
                        now=T0) is None
    assert read_session(review_ws, None) is None and read_session(review_ws, "") is None


def test_a_session_ends_when_idle(review_ws: Workspace) -> None:
    _user(review_ws)
    token = create_session(review_ws, "alice", now=T0)
    # each request within the idle timeout keeps it alive
    at = T0
    for _ in range(3):
        at += SESSION_IDLE - timedelta(minutes=1)
        assert read_session(review_ws, token, now=at) is not None
    assert read_session(review_ws, token, now=at + SESSION_IDLE) is None
    # ended means removed: going back in time does not bring it back
    assert read_session(review_ws, token, now=at) is None


def test_a_session_ends_at_its_lifetime_however_busy(review_ws: Workspace) -> None:
    _user(review_ws)
    token = create_session(review_ws, "alice", now=T0)
    at = T0
    while at + timedelta(minutes=20) < T0 + SESSION_LIFETIME:
        at += timedelta(minutes=20)
        assert read_session(review_ws, token, now=at) is not None
    assert read_session(review_ws, token, now=T0 + SESSION_LIFETIME) is None


def test_sign_out_and_deactivation_end_sessions(review_ws: Workspace) -> None:
    _user(review_ws)
    first = create_session(review_ws, "alice", now=T0)
    second = create_session(review_ws, "alice", now=T0)
    destroy_session(review_ws, first, ip="10.0.0.1", now=T0)
    assert read_session(review_ws, first, now=T0) is None
    assert read_session(review_ws, second, now=T0) is not None
    destroy_session(review_ws, first, now=T0)  # twice is harmless, and not logged twice
    assert [(e.event, e.username, e.ip) for e in audit_events(review_ws)] == [
        ("sign_out", "alice", "10.0.0.1")]
    with engine(review_ws).begin() as con:
        con.execute(USERS_TABLE.update().values(active=False))
    assert read_session(review_ws, second, now=T0) is None


# ---- CSRF -------------------------------------------------------------------------------------


def test_csrf_tokens_are_bound_to_their_session(sqlite_ws: Workspace) -> None:
    _user(sqlite_ws)
    mine = create_session(sqlite_ws, "alice", now=T0)
    other = create_session(sqlite_ws, "alice", now=T0)
    session = read_session(sqlite_ws, mine, now=T0)
    assert session is not None and session.csrf_token == csrf_token(mine)
    assert check_csrf(mine, session.csrf_token)
    assert not check_csrf(mine, csrf_token(other))  # another session's token
    assert not check_csrf(mine, session.csrf_token[:-1] + "x")  # a wrong one
    assert not check_csrf(mine, None) and not check_csrf(mine, "")  # missing
    assert not check_csrf(None, session.csrf_token) and not check_csrf("", "")
    assert not check_csrf(mine, "é" * 43)  # not even ASCII
    assert mine not in session.csrf_token


# ---- sign-in, rate limiting and the audit log -------------------------------------------------


def test_sign_in_fails_alike_for_a_wrong_password_an_unknown_or_inactive_user(
        review_ws: Workspace) -> None:
    _user(review_ws)
    _user(review_ws, "bob", active=False)
    failures = []
    for username, password in (("alice", "wrong password!"), ("nobody", PASSWORD),
                               ("bob", PASSWORD)):
        with pytest.raises(SignInFailed) as caught:
            sign_in(review_ws, username, password, ip="10.0.0.9", now=T0)
        failures.append(caught.value.message)
    assert failures == [SIGN_IN_FAILED] * 3
    events = audit_events(review_ws)
    assert [(e.event, e.username, e.detail["reason"]) for e in events] == [
        ("sign_in_failed", "bob", "inactive"), ("sign_in_failed", "nobody", "unknown_user"),
        ("sign_in_failed", "alice", "wrong_password")]
    token = sign_in(review_ws, "alice", PASSWORD, ip="10.0.0.9", now=T0)
    assert read_session(review_ws, token, now=T0) is not None
    latest = audit_events(review_ws, limit=1)[0]
    assert (latest.event, latest.username, latest.ip) == ("sign_in", "alice", "10.0.0.9")
    # never the password, in any entry
    with engine(review_ws).connect() as con:
        everything = str(con.execute(sa.text("SELECT * FROM review_audit_log")).fetchall())
    assert PASSWORD not in everything and "wrong password!" not in everything


def test_the_sixth_failure_is_refused_and_the_pause_lifts_after_the_window(
        review_ws: Workspace) -> None:
    assert auth.DEFAULT_LIMITS == RateLimits(username=5, ip=20, window=timedelta(minutes=15),
                                             lockout=timedelta(minutes=15))
    _user(review_ws)
    at = T0
    for _ in range(5):
        at += timedelta(seconds=30)
        with pytest.raises(SignInFailed) as caught:
            sign_in(review_ws, "alice", "not the password", now=at)
        assert not isinstance(caught.value, TooManyAttempts)
    fifth = at
    # the sixth attempt is refused, even with the right password
    with pytest.raises(TooManyAttempts) as caught:
        sign_in(review_ws, "alice", PASSWORD, now=fifth + timedelta(minutes=1))
    assert caught.value.until == fifth + timedelta(minutes=15)
    with pytest.raises(TooManyAttempts):
        sign_in(review_ws, "alice", PASSWORD, now=fifth + timedelta(minutes=14, seconds=59))
    # another user is not affected
    _user(review_ws, "bob")
    sign_in(review_ws, "bob", PASSWORD, now=fifth + timedelta(minutes=2))
    # 15 minutes after the fifth failure it lifts; refused attempts did not extend it
    sign_in(review_ws, "alice", PASSWORD, now=fifth + timedelta(minutes=15))
    reasons = [e.detail.get("reason") for e in audit_events(review_ws, username="alice")]
    assert reasons == [None, "rate_limited", "rate_limited"] + ["wrong_password"] * 5
    # a success starts the count again: four more failures do not pause sign-in
    at = fifth + timedelta(minutes=16)
    for _ in range(4):
        with pytest.raises(SignInFailed):
            sign_in(review_ws, "alice", "not the password", now=at)
    sign_in(review_ws, "alice", PASSWORD, now=at)


def test_failures_spread_beyond_the_window_do_not_pause_sign_in(sqlite_ws: Workspace) -> None:
    _user(sqlite_ws)
    for i in range(8):  # one every four minutes: never five within fifteen
        with pytest.raises(SignInFailed) as caught:
            sign_in(sqlite_ws, "alice", "not the password", now=T0 + timedelta(minutes=4 * i))
        assert not isinstance(caught.value, TooManyAttempts)


def test_too_many_failures_from_one_address_pause_it_for_every_username(
        sqlite_ws: Workspace) -> None:
    limits = RateLimits(username=50, ip=4)
    _user(sqlite_ws)
    for i in range(4):
        with pytest.raises(SignInFailed):
            sign_in(sqlite_ws, f"guess{i}", PASSWORD, ip="192.0.2.1", now=T0, limits=limits)
    with pytest.raises(TooManyAttempts):
        sign_in(sqlite_ws, "alice", PASSWORD, ip="192.0.2.1", now=T0, limits=limits)
    sign_in(sqlite_ws, "alice", PASSWORD, ip="192.0.2.2", now=T0, limits=limits)
    sign_in(sqlite_ws, "alice", PASSWORD, ip="192.0.2.1", now=T0 + timedelta(minutes=15),
            limits=limits)


def test_prune_removes_ended_sessions_and_old_attempts_only(sqlite_ws: Workspace) -> None:
    _user(sqlite_ws)
    old = create_session(sqlite_ws, "alice", now=T0)
    with pytest.raises(SignInFailed):
        sign_in(sqlite_ws, "alice", "not the password", now=T0)
    later = T0 + timedelta(hours=1)
    live = create_session(sqlite_ws, "alice", now=later)
    with pytest.raises(SignInFailed):
        sign_in(sqlite_ws, "alice", "not the password", now=later)
    assert prune(sqlite_ws, now=later) == {"sessions": 1, "attempts": 1}
    assert read_session(sqlite_ws, live, now=later) is not None
    assert read_session(sqlite_ws, old, now=T0) is None
    assert len(audit_events(sqlite_ws)) == 2  # the audit log keeps both failures
