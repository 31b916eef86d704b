"""What an administrator does: users, the patches officers work, and patch capacities.

Plain library functions, called by ``risk-model review add-user``, ``set-patch`` and
``set-capacity`` and by the app's admin pages. Each checks what it is given (a
:class:`~risk_model.errors.ConfigError` names the problem and the fix) and writes its change and
an audit-log event in one transaction. ``by`` is who made the change: :data:`COMMAND_LINE` from
the command line, otherwise the username of an active administrator (anyone else is refused).

>>> add_user(ws, "alice", "housing_officer", display_name="Alice Smith",
...          password="a long passphrase")                               # doctest: +SKIP
>>> set_patches(ws, "alice", ["North team"])                             # doctest: +SKIP
>>> set_capacity(ws, "North team", 40, by="admin")                       # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from risk_model.config import Workspace
from risk_model.errors import ConfigError
from risk_model.review.auth import check_password_policy, hash_password, normalise_username
from risk_model.review.store import (
    CAPACITY_TABLE,
    ROLES,
    SESSIONS_TABLE,
    USER_PATCHES_TABLE,
    USERS_TABLE,
    as_utc,
    engine,
    log_event,
)

__all__ = [
    "COMMAND_LINE",
    "UserInfo",
    "add_user",
    "known_patches",
    "list_users",
    "set_active",
    "set_capacity",
    "set_password",
    "set_patches",
]

log = logging.getLogger(__name__)

#: ``by`` for a change made on the command line (by whoever can run it on the server).
COMMAND_LINE = "(command line)"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,99}$")
_PATCH_ROLE = "housing_officer"


@dataclass(frozen=True)
class UserInfo:
    """A user of the review app, as an administrator sees them (never the password hash)."""

    username: str
    display_name: str
    role: str
    active: bool
    created_at: datetime
    patches: tuple[str, ...]


def _check_by(con: Any, by: str) -> None:
    if by == COMMAND_LINE:
        return
    u = USERS_TABLE
    role = con.execute(sa.select(u.c.role).where(u.c.username == by, u.c.active)).scalar()
    if role != "administrator":
        raise ConfigError(f"{by!r} is not an active administrator, so cannot change users, "
                          "patches or capacities",
                          hint="sign in as an administrator, or use `risk-model review` on "
                               "the server")


def _existing_user(con: Any, username: str) -> dict[str, Any]:
    u = USERS_TABLE
    row = con.execute(sa.select(u).where(u.c.username == username)).mappings().first()
    if row is None:
        raise ConfigError(f"there is no user {username!r}",
                          hint="check the spelling with `risk-model review users`, or add "
                               "them with `risk-model review add-user`")
    return dict(row)


def known_patches(workspace: Workspace) -> set[str] | None:
    """Return the patch names lists are made for, or None when they cannot all be known yet.

    The named patches of ``settings.yaml`` and every patch of a scored month's lists. Ward
    patches (``others: ward``) are known only once a month was scored; before that, None.

    Parameters
    ----------
    workspace : Workspace
        The workspace.

    Returns
    -------
    set of str or None
        The names, or None if ward patches exist but no month was scored yet.
    """
    patches = workspace.settings().patches
    names = {p.name for p in patches.named}
    listed: set[str] = set()
    if workspace.warehouse.exists():
        import duckdb

        try:
            with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
                listed = {r[0] for r in con.execute(
                    "SELECT DISTINCT patch FROM lists WHERE patch <> ''").fetchall()}
        except duckdb.Error as exc:  # no lists yet, or the warehouse is busy
            log.debug("known_patches: cannot read the lists: %s", exc)
    if patches.others == "ward" and not listed:
        return None
    return names | listed


def _check_patches(workspace: Workspace, wanted: Iterable[str]) -> list[str]:
    if isinstance(wanted, str):
        raise ConfigError(f"patches must be a list of names, got the text {wanted!r}",
                          hint=f"pass [{wanted!r}]")
    names = sorted({str(p).strip() for p in wanted})
    if "" in names:
        raise ConfigError("a patch name cannot be blank", hint="give each patch's name")
    known = known_patches(workspace)
    if known is None:
        log.warning("patches cannot be checked until a month is scored (ward patches)")
        return names
    unknown = [p for p in names if p not in known]
    if unknown:
        shown = ", ".join(sorted(known)[:20]) or "none"
        raise ConfigError(f"unknown patch(es): {', '.join(map(repr, unknown))}",
                          hint=f"use the names in settings.yaml (patches:) or on the lists; "
                               f"the patches are: {shown}")
    return names


def add_user(workspace: Workspace, username: str, role: str, *, display_name: str,
             password: str, by: str = COMMAND_LINE) -> UserInfo:
    """Add a user who can sign in to the review app.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    username : str
        2 to 100 lower-case letters, digits, ``.``, ``_``, ``-`` or ``@`` (stored lower-case).
    role : {"housing_officer", "analyst", "administrator"}
        What they may see (see ``../shared/DESIGN.md``'s roles).
    display_name : str
        Their name as shown in the app.
    password : str
        At least 12 characters (:func:`risk_model.review.auth.check_password_policy`); only
        its scrypt hash is stored.
    by : str, optional
        Who adds them (default :data:`COMMAND_LINE`).

    Returns
    -------
    UserInfo
        The new user (no patches yet: :func:`set_patches`).

    Raises
    ------
    ConfigError
        A bad username, role, display name or password, a username already taken, or ``by``
        not an administrator.
    """
    name = normalise_username(username)
    if not _USERNAME.match(name):
        raise ConfigError(f"the username {username!r} is not allowed",
                          hint="use 2 to 100 lower-case letters, digits, '.', '_', '-' or '@', "
                               "starting with a letter or digit")
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}", hint=f"use one of: {', '.join(ROLES)}")
    shown = (display_name or "").strip()
    if not shown or len(shown) > 200:
        raise ConfigError("a user needs a display name of 1 to 200 characters",
                          hint="pass their name as shown in the app")
    check_password_policy(password, username=name)
    encoded = hash_password(password)
    now = datetime.now(UTC)
    u = USERS_TABLE
    with engine(workspace).begin() as con:
        _check_by(con, by)
        if con.execute(sa.select(u.c.id).where(u.c.username == name)).first() is not None:
            raise ConfigError(f"the username {name!r} is taken",
                              hint="choose another, or change that user's password with "
                                   "`risk-model review set-password`")
        con.execute(u.insert().values(username=name, display_name=shown, role=role,
                                      password_hash=encoded, active=True, created_at=now))
        log_event(con, "admin_add_user", username=by, at=now,
                  detail={"user": name, "role": role})
    return UserInfo(username=name, display_name=shown, role=role, active=True,
                    created_at=now, patches=())


def set_patches(workspace: Workspace, username: str, patches: Iterable[str], *,
                by: str = COMMAND_LINE) -> tuple[str, ...]:
    """Set the patches a housing officer works (replacing their previous ones).

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    username : str
        A housing officer (other roles see no patch list; they may only be given none).
    patches : iterable of str
        Patch names as in ``settings.yaml`` or on the lists; empty removes them all.
    by : str, optional
        Who changes them (default :data:`COMMAND_LINE`).

    Returns
    -------
    tuple of str
        The officer's patches now, sorted.

    Raises
    ------
    ConfigError
        An unknown user or patch, patches for a user who is not a housing officer, or ``by``
        not an administrator.
    """
    name = normalise_username(username)
    names = _check_patches(workspace, patches)
    up = USER_PATCHES_TABLE
    with engine(workspace).begin() as con:
        _check_by(con, by)
        user = _existing_user(con, name)
        if names and user["role"] != _PATCH_ROLE:
            raise ConfigError(f"{name!r} is an {user['role']}; only housing officers work "
                              "patches",
                              hint="give patches to a housing_officer; analysts and "
                                   "administrators see no patch list")
        before = con.execute(sa.select(up.c.patch).where(up.c.username == name)
                             .order_by(up.c.patch)).scalars().all()
        con.execute(up.delete().where(up.c.username == name))
        if names:
            con.execute(up.insert(), [{"username": name, "patch": p} for p in names])
        log_event(con, "admin_set_patches", username=by,
                  detail={"user": name, "patches": names, "previous": list(before)})
    return tuple(names)


def set_capacity(workspace: Workspace, patch: str, capacity: int | None, *,
                 by: str = COMMAND_LINE) -> None:
    """Set how many residents a patch's list holds a month, over ``settings.yaml``.

    The next scoring run uses it (:func:`risk_model.review.store.capacity_overrides`).

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    patch : str
        The patch's name, as in ``settings.yaml`` or on the lists.
    capacity : int or None
        Residents a month (0 or more); None removes the override (``settings.yaml`` again).
    by : str, optional
        Who sets it (default :data:`COMMAND_LINE`).

    Raises
    ------
    ConfigError
        An unknown patch, a capacity that is not a whole number of at least 0, or ``by`` not
        an administrator.
    """
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)
                                 or capacity < 0):
        raise ConfigError(f"capacity must be a whole number of at least 0, got {capacity!r}",
                          hint="give the residents the patch's team can help a month")
    (name,) = _check_patches(workspace, [patch])
    c = CAPACITY_TABLE
    now = datetime.now(UTC)
    with engine(workspace).begin() as con:
        _check_by(con, by)
        previous = con.execute(sa.select(c.c.capacity).where(c.c.patch == name)).scalar()
        con.execute(c.delete().where(c.c.patch == name))
        if capacity is not None:
            con.execute(c.insert().values(patch=name, capacity=capacity, set_by=by,
                                          set_at=now))
        log_event(con, "admin_set_capacity", username=by, at=now,
                  detail={"patch": name, "capacity": capacity, "previous": previous})


def set_password(workspace: Workspace, username: str, password: str, *,
                 by: str = COMMAND_LINE) -> None:
    """Give a user a new password and end their sessions.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    username : str
        The user.
    password : str
        At least 12 characters.
    by : str, optional
        Who changes it (default :data:`COMMAND_LINE`).

    Raises
    ------
    ConfigError
        An unknown user, a password the policy refuses, or ``by`` not an administrator.
    """
    name = normalise_username(username)
    check_password_policy(password, username=name)
    encoded = hash_password(password)
    with engine(workspace).begin() as con:
        _check_by(con, by)
        _existing_user(con, name)
        con.execute(USERS_TABLE.update().where(USERS_TABLE.c.username == name)
                    .values(password_hash=encoded))
        con.execute(SESSIONS_TABLE.delete().where(SESSIONS_TABLE.c.username == name))
        log_event(con, "admin_set_password", username=by, detail={"user": name})


def set_active(workspace: Workspace, username: str, active: bool, *,
               by: str = COMMAND_LINE) -> None:
    """Let a user sign in again, or stop them (ending their sessions); users are never deleted.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    username : str
        The user.
    active : bool
        Whether they may sign in.
    by : str, optional
        Who changes it (default :data:`COMMAND_LINE`).

    Raises
    ------
    ConfigError
        An unknown user, or ``by`` not an administrator.
    """
    name = normalise_username(username)
    with engine(workspace).begin() as con:
        _check_by(con, by)
        _existing_user(con, name)
        con.execute(USERS_TABLE.update().where(USERS_TABLE.c.username == name)
                    .values(active=bool(active)))
        if not active:
            con.execute(SESSIONS_TABLE.delete().where(SESSIONS_TABLE.c.username == name))
        log_event(con, "admin_set_active", username=by,
                  detail={"user": name, "active": bool(active)})


def list_users(workspace: Workspace) -> list[UserInfo]:
    """Return every user, by username, with their role, state and patches.

    Parameters
    ----------
    workspace : Workspace
        The workspace.

    Returns
    -------
    list of UserInfo
        The users (never their password hashes).
    """
    u, up = USERS_TABLE, USER_PATCHES_TABLE
    with engine(workspace).connect() as con:
        users = con.execute(sa.select(u.c.username, u.c.display_name, u.c.role, u.c.active,
                                      u.c.created_at).order_by(u.c.username)).mappings().all()
        patches: dict[str, list[str]] = {}
        for username, patch in con.execute(sa.select(up.c.username, up.c.patch)
                                           .order_by(up.c.username, up.c.patch)):
            patches.setdefault(username, []).append(patch)
    return [UserInfo(username=r["username"], display_name=r["display_name"], role=r["role"],
                     active=bool(r["active"]), created_at=as_utc(r["created_at"]),
                     patches=tuple(patches.get(r["username"], ()))) for r in users]
