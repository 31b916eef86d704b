"""The review database: users, patches, capacities, actions, sessions and the audit log.

The database is SQLite at ``<workspace>/review.db`` unless ``DATABASE_URL`` names another
(``postgresql+psycopg://user@127.0.0.1:5432/risk_model`` for a multi-user deployment). It holds
pseudonymised person ids, never a name or NHS number. Every time is stored in UTC and read back
timezone-aware.

Its tables (all in :data:`METADATA`, created on first use):

``review_actions``
    What officers recorded against residents: the resident's pseudonym, the list month and
    patch, the action (one of :data:`risk_model.config.ACTIONS`), an optional named service and
    short note, the officer and the time. Scoring's hold-back reads it through
    :func:`recent_actions`.
``review_resident_state``
    A version per resident and month, bumped by every action, so that two officers updating the
    same resident cannot lose an update: :func:`record_action` with ``expected_version`` raises
    :class:`StaleUpdate` (carrying the current state) when someone else got there first.
``review_users``, ``review_user_patches``
    Who may sign in, their role (``housing_officer``, ``analyst``, ``administrator``) and the
    patches an officer works (written by :mod:`~risk_model.review.admin`).
``review_patch_capacity``
    Monthly capacities set by an administrator; they override ``settings.yaml`` in scoring
    (:func:`capacity_overrides`).
``review_sessions``, ``review_login_attempts``
    Server-side sessions (hashed tokens) and sign-in attempts for rate limiting
    (:mod:`~risk_model.review.auth`).
``review_audit_log``
    Append-only: :func:`log_event` adds, :func:`audit_events` reads, and nothing updates or
    deletes (the database itself refuses, through triggers).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from risk_model.config import ACTIONS, Workspace
from risk_model.errors import ConfigError, RiskModelError
from risk_model.features.catalogue import ROLES

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = [
    "ACTIONS_TABLE",
    "AUDIT_TABLE",
    "CAPACITY_TABLE",
    "DATABASE_URL_ENV",
    "EVENTS",
    "LOGIN_ATTEMPTS_TABLE",
    "METADATA",
    "NOTE_LIMIT",
    "ROLES",
    "SESSIONS_TABLE",
    "STATE_TABLE",
    "USERS_TABLE",
    "USER_PATCHES_TABLE",
    "AuditEvent",
    "RecordedAction",
    "ResidentState",
    "StaleUpdate",
    "actions_for",
    "as_utc",
    "audit_events",
    "capacity_overrides",
    "database_url",
    "dispose_engines",
    "engine",
    "log_event",
    "recent_actions",
    "record_action",
    "resident_state",
]

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "DATABASE_URL"
#: The longest note an action can carry.
NOTE_LIMIT = 500

#: What the audit log records (who, when, what): sign-ins, views, actions, exports and every
#: administrator's change.
EVENTS: tuple[str, ...] = (
    "sign_in", "sign_in_failed", "sign_out", "view_list", "view_resident", "record_action",
    "export", "admin_add_user", "admin_set_patches", "admin_set_capacity",
    "admin_set_password", "admin_set_active",
)
#: Keys an audit event's detail may never hold.
_SECRET_KEYS = ("password", "token", "secret", "hash")

METADATA = sa.MetaData()
_TZ = sa.DateTime(timezone=True)

ACTIONS_TABLE = sa.Table(
    "review_actions", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("person_id", sa.String(128), nullable=False, index=True),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("patch", sa.String(200), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("service", sa.String(200)),
    sa.Column("note", sa.String(NOTE_LIMIT)),
    sa.Column("officer", sa.String(100), nullable=False),
    sa.Column("recorded_at", _TZ, nullable=False, index=True),
    # the list page asks "who on these patches' lists has an action this month?" per request
    sa.Index("ix_review_actions_month_patch", "month", "patch"),
)

STATE_TABLE = sa.Table(
    "review_resident_state", METADATA,
    sa.Column("person_id", sa.String(128), primary_key=True),
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", _TZ, nullable=False),
    sa.Column("updated_by", sa.String(100), nullable=False),
)

USERS_TABLE = sa.Table(
    "review_users", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", _TZ, nullable=False),
    sa.CheckConstraint(sa.column("role").in_(ROLES), name="review_users_role"),
)

USER_PATCHES_TABLE = sa.Table(
    "review_user_patches", METADATA,
    sa.Column("username", sa.String(100), sa.ForeignKey("review_users.username"),
              primary_key=True),
    sa.Column("patch", sa.String(200), primary_key=True),
)

CAPACITY_TABLE = sa.Table(
    "review_patch_capacity", METADATA,
    sa.Column("patch", sa.String(200), primary_key=True),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("set_by", sa.String(100), nullable=False),
    sa.Column("set_at", _TZ, nullable=False),
    sa.CheckConstraint(sa.column("capacity") >= 0, name="review_patch_capacity_positive"),
)

SESSIONS_TABLE = sa.Table(
    "review_sessions", METADATA,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(100), nullable=False, index=True),
    sa.Column("created_at", _TZ, nullable=False),
    sa.Column("last_seen", _TZ, nullable=False),
    sa.Column("expires_at", _TZ, nullable=False),
    sa.Column("ip", sa.String(64)),
)

LOGIN_ATTEMPTS_TABLE = sa.Table(
    "review_login_attempts", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", _TZ, nullable=False, index=True),
    sa.Column("username", sa.String(100), nullable=False, index=True),
    sa.Column("ip", sa.String(64), index=True),
    sa.Column("outcome", sa.String(16), nullable=False),  # success, failure, refused
)

AUDIT_TABLE = sa.Table(
    "review_audit_log", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", _TZ, nullable=False, index=True),
    sa.Column("username", sa.String(100), nullable=False, index=True),
    sa.Column("event", sa.String(32), nullable=False, index=True),
    sa.Column("detail", sa.Text),
    sa.Column("person_id", sa.String(128), index=True),
    sa.Column("ip", sa.String(64)),
)

# The audit log is append-only in the database too: an UPDATE or DELETE is refused there, so a
# bug or a hand-written statement cannot rewrite history either.
_APPEND_ONLY = "review_audit_log is append-only"
for _op in ("UPDATE", "DELETE"):
    sa.event.listen(AUDIT_TABLE, "after_create", sa.DDL(
        f"CREATE TRIGGER review_audit_log_no_{_op.lower()} BEFORE {_op} ON review_audit_log "
        f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END").execute_if(dialect="sqlite"))
sa.event.listen(AUDIT_TABLE, "after_create", sa.DDL(
    "CREATE OR REPLACE FUNCTION review_audit_log_append_only() RETURNS trigger AS $$ "
    f"BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$ LANGUAGE plpgsql").execute_if(
        dialect="postgresql"))
sa.event.listen(AUDIT_TABLE, "after_create", sa.DDL(
    "CREATE TRIGGER review_audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
    "ON review_audit_log FOR EACH STATEMENT "
    "EXECUTE FUNCTION review_audit_log_append_only()").execute_if(dialect="postgresql"))


class StaleUpdate(RiskModelError):
    """Another officer updated the resident since this one read them.

    Parameters
    ----------
    expected : int
        The version the officer read.
    current : ResidentState
        The resident's state now (version, who updated last and when, the month's actions), to
        show the officer before they try again.
    """

    def __init__(self, expected: int, current: ResidentState) -> None:
        self.expected = expected
        self.current = current
        who = current.updated_by or "someone"
        super().__init__(
            f"this resident was updated by {who} since you opened their page (version "
            f"{current.version}, you had version {expected}); your action was not recorded",
            hint="look at what was recorded and record yours again if it is still needed")


@dataclass(frozen=True)
class RecordedAction:
    """One action recorded against a resident."""

    id: int
    person_id: str
    month: str
    patch: str
    action: str
    service: str | None
    note: str | None
    officer: str
    recorded_at: datetime


@dataclass(frozen=True)
class ResidentState:
    """A resident's review state for a list month.

    ``version`` is 0 before anything was recorded; every action recorded adds one.
    ``actions`` are the month's actions, newest first.
    """

    person_id: str
    month: str
    version: int
    updated_at: datetime | None
    updated_by: str | None
    actions: tuple[RecordedAction, ...]


@dataclass(frozen=True)
class AuditEvent:
    """One entry of the audit log."""

    id: int
    at: datetime
    username: str
    event: str
    detail: dict[str, Any]
    person_id: str | None
    ip: str | None


# ---- the engine -------------------------------------------------------------------------------

_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def database_url(workspace: Workspace) -> str:
    """Return the review database's URL: ``DATABASE_URL`` or SQLite in the workspace."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{workspace.root / 'review.db'}"


def _sqlite_path(url: str) -> str | None:
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None


def _is_sqlite_file_missing(url: str) -> bool:
    path = _sqlite_path(url)
    return path is not None and not os.path.exists(path)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 10000")
    # readers and one writer at a time without blocking each other (many officers at once)
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def engine(workspace: Workspace, *, create: bool = True) -> Engine:
    """Return an engine on the review database, creating its tables if needed.

    Engines are kept per database URL for the life of the process (an app's requests share one
    pool); :func:`dispose_engines` closes them.

    Parameters
    ----------
    workspace : Workspace
        The workspace (its ``review.db`` is the default database).
    create : bool, optional
        Create missing tables.

    Raises
    ------
    ConfigError
        If ``DATABASE_URL`` cannot be used (naming the URL without its password).
    """
    url = database_url(workspace)
    with _ENGINES_LOCK:
        known = _ENGINES.get(url)
        if known is not None and not _is_sqlite_file_missing(url):
            return known
        if known is not None:  # the SQLite file went away: start again
            known.dispose()
            del _ENGINES[url]
        try:
            eng = sa.create_engine(url)
            if eng.dialect.name == "sqlite":
                sa.event.listen(eng, "connect", _on_sqlite_connect)
            if create:
                METADATA.create_all(eng)
        except (sa.exc.ArgumentError, sa.exc.OperationalError, ModuleNotFoundError) as exc:
            shown = sa.engine.make_url(url).render_as_string(hide_password=True) \
                if "://" in url else url
            raise ConfigError(f"cannot open the review database {shown}: {exc}",
                              hint=f"check ${DATABASE_URL_ENV}; for PostgreSQL install "
                                   "risk_model[postgres]") from exc
        if create:
            _ENGINES[url] = eng
        return eng


def dispose_engines() -> None:
    """Close every pooled connection of the engines :func:`engine` kept (tests, shutdown)."""
    with _ENGINES_LOCK:
        for writer in _WRITERS.values():
            writer.stop()
        _WRITERS.clear()
        for eng in _ENGINES.values():
            eng.dispose()
        _ENGINES.clear()


@dataclass
class _Pending:
    row: dict[str, Any]
    done: threading.Event
    error: BaseException | None = None


class _AuditWriter:
    """Writes the audit events of a process's threads together: a group commit.

    Every list page and resident page writes an audit event. Written one transaction each, 50
    officers at once made the writers queue for SQLite's single write lock, and SQLite's busy
    wait sleeps in steps of up to 100 ms: the slowest requests waited on it for seconds. Here
    one thread per process and database takes every event waiting and inserts them in one
    transaction, while each caller still waits until its own event is committed (so no page is
    shown without its audit event, and a failed write fails the request).
    """

    _BATCH = 500

    def __init__(self, eng: Engine) -> None:
        self._engine = eng
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="audit-log-writer",
                                        daemon=True)
        self._thread.start()

    def write(self, row: dict[str, Any]) -> None:
        pending = _Pending(row, threading.Event())
        self._queue.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise RiskModelError(f"the audit log could not be written: {pending.error}",
                                 hint="check the review database") from pending.error

    def stop(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            error: BaseException | None = None
            try:
                with self._engine.begin() as con:
                    con.execute(AUDIT_TABLE.insert(), [p.row for p in batch])
            except Exception as exc:  # reported to every caller of the batch
                error = exc
            for pending in batch:
                pending.error = error
                pending.done.set()


#: Per process id and database URL: the audit writer (threads do not survive a fork).
_WRITERS: dict[tuple[int, str], _AuditWriter] = {}


def _audit_writer(workspace: Workspace) -> _AuditWriter:
    eng = engine(workspace)
    key = (os.getpid(), database_url(workspace))
    with _ENGINES_LOCK:
        writer = _WRITERS.get(key)
        if writer is None or writer._engine is not eng:
            if writer is not None:
                writer.stop()
            writer = _WRITERS[key] = _AuditWriter(eng)
    return writer


def as_utc(moment: datetime) -> datetime:
    """A time as timezone-aware UTC (a naive one is taken to be UTC already)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    """A time read back from the database, as UTC (SQLite returns it naive)."""
    return None if moment is None else as_utc(moment)


def _upsert(con: Connection, table: sa.Table, values: dict[str, Any], keys: list[str],
            update: dict[str, Any]) -> sa.Insert:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE``: the one statement the backends spell apart."""
    name = con.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    else:
        raise ConfigError(f"the review database does not support the {name!r} backend",
                          hint="use SQLite (the default) or PostgreSQL in $DATABASE_URL")
    statement = insert(table).values(**values)
    if update:
        return statement.on_conflict_do_update(index_elements=keys, set_=update)
    return statement.on_conflict_do_nothing(index_elements=keys)


# ---- the audit log ----------------------------------------------------------------------------


def _detail_text(detail: Mapping[str, Any] | None) -> str | None:
    if not detail:
        return None
    secret = [k for k in detail if any(s in k.lower() for s in _SECRET_KEYS)]
    if secret:
        raise ConfigError(f"an audit event's detail may not hold {', '.join(sorted(secret))}",
                          hint="log who did what, never a password, token or hash")
    return json.dumps(dict(detail), sort_keys=True, default=str)


def log_event(target: Workspace | Connection, event: str, *, username: str,
              detail: Mapping[str, Any] | None = None, person_id: str | None = None,
              ip: str | None = None, at: datetime | None = None) -> None:
    """Append an event to the audit log.

    There is no function to change or remove an entry, and the database refuses to.

    Parameters
    ----------
    target : Workspace or sqlalchemy.engine.Connection
        The workspace, or a connection in an open transaction so the event is written together
        with the change it records. For a workspace the event is committed together with
        other threads' waiting events (:class:`_AuditWriter`) before this returns.
    event : str
        One of :data:`EVENTS`.
    username : str
        Who did it (the username given, for a failed sign-in).
    detail : mapping, optional
        What, as JSON-serialisable data; never a password, token or hash (refused).
    person_id : str, optional
        The resident concerned (pseudonym).
    ip : str, optional
        The client's address.
    at : datetime.datetime, optional
        When (default: now, UTC).

    Raises
    ------
    ConfigError
        If the event is not one of :data:`EVENTS` or the detail holds a secret.
    """
    if event not in EVENTS:
        raise ConfigError(f"unknown audit event {event!r}",
                          hint=f"log one of: {', '.join(EVENTS)}")
    row = {"at": as_utc(at or datetime.now(UTC)), "username": username, "event": event,
           "detail": _detail_text(detail), "person_id": person_id, "ip": ip}
    if isinstance(target, Workspace):
        _audit_writer(target).write(row)
    else:
        target.execute(AUDIT_TABLE.insert().values(**row))


def audit_events(workspace: Workspace, *, since: datetime | None = None,
                 until: datetime | None = None, username: str | None = None,
                 events: Collection[str] | None = None, person_id: str | None = None,
                 limit: int | None = None) -> list[AuditEvent]:
    """Read the audit log, newest first.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    since, until : datetime.datetime, optional
        Only entries in ``[since, until)`` (naive means UTC).
    username : str, optional
        Only this user's entries.
    events : collection of str, optional
        Only these events.
    person_id : str, optional
        Only entries about this resident.
    limit : int, optional
        At most this many entries.

    Returns
    -------
    list of AuditEvent
        The entries, newest first.
    """
    t = AUDIT_TABLE
    query = sa.select(t).order_by(t.c.at.desc(), t.c.id.desc())
    if since is not None:
        query = query.where(t.c.at >= as_utc(since))
    if until is not None:
        query = query.where(t.c.at < as_utc(until))
    if username is not None:
        query = query.where(t.c.username == username)
    if events is not None:
        query = query.where(t.c.event.in_(list(events)))
    if person_id is not None:
        query = query.where(t.c.person_id == person_id)
    if limit is not None:
        query = query.limit(limit)
    with engine(workspace).connect() as con:
        rows = con.execute(query).mappings().fetchall()
    return [AuditEvent(id=r["id"], at=as_utc(r["at"]), username=r["username"], event=r["event"],
                       detail=json.loads(r["detail"]) if r["detail"] else {},
                       person_id=r["person_id"], ip=r["ip"]) for r in rows]


# ---- actions and the resident's version -------------------------------------------------------


def _action(row: Mapping[str, Any]) -> RecordedAction:
    return RecordedAction(id=row["id"], person_id=row["person_id"], month=row["month"],
                          patch=row["patch"], action=row["action"], service=row["service"],
                          note=row["note"], officer=row["officer"],
                          recorded_at=as_utc(row["recorded_at"]))


def _state(con: Connection, person_id: str, month: str) -> ResidentState:
    s, a = STATE_TABLE, ACTIONS_TABLE
    found = con.execute(sa.select(s).where(s.c.person_id == person_id,
                                           s.c.month == month)).mappings().first()
    actions = con.execute(sa.select(a).where(a.c.person_id == person_id, a.c.month == month)
                          .order_by(a.c.recorded_at.desc(), a.c.id.desc())).mappings()
    return ResidentState(
        person_id=person_id, month=month, version=found["version"] if found else 0,
        updated_at=_aware(found["updated_at"]) if found else None,
        updated_by=found["updated_by"] if found else None,
        actions=tuple(_action(r) for r in actions))


def resident_state(workspace: Workspace, person_id: str, month: str) -> ResidentState:
    """Return a resident's state for a list month: version, last update, the month's actions.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    person_id : str
        The resident's pseudonym.
    month : str
        The list month (``YYYY-MM``).

    Returns
    -------
    ResidentState
        Version 0 and no actions when nothing was recorded. Pass ``version`` back to
        :func:`record_action` as ``expected_version``.
    """
    with engine(workspace).connect() as con:
        return _state(con, person_id, month)


def actions_for(workspace: Workspace, person_id: str) -> list[RecordedAction]:
    """Return every action recorded against a resident, in any month, newest first.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    person_id : str
        The resident's pseudonym.

    Returns
    -------
    list of RecordedAction
        The actions, newest first.
    """
    a = ACTIONS_TABLE
    with engine(workspace).connect() as con:
        rows = con.execute(sa.select(a).where(a.c.person_id == person_id)
                           .order_by(a.c.recorded_at.desc(), a.c.id.desc())).mappings()
        return [_action(r) for r in rows]


def _bump(con: Connection, person_id: str, month: str, officer: str, at: datetime,
          expected: int | None) -> bool:
    """Move the resident's version on by one; False if it was not ``expected``."""
    s = STATE_TABLE
    if expected is None:  # no check: create at 1 or add one, atomically
        con.execute(_upsert(con, s, {"person_id": person_id, "month": month, "version": 1,
                                     "updated_at": at, "updated_by": officer},
                            ["person_id", "month"],
                            {"version": s.c.version + 1, "updated_at": at,
                             "updated_by": officer}))
        return True
    if expected == 0:  # nobody has recorded yet: the insert wins only if still true
        done = con.execute(_upsert(con, s, {"person_id": person_id, "month": month,
                                            "version": 1, "updated_at": at,
                                            "updated_by": officer},
                                   ["person_id", "month"], {}).returning(s.c.version))
        return done.first() is not None
    done = con.execute(s.update()
                       .where(s.c.person_id == person_id, s.c.month == month,
                              s.c.version == expected)
                       .values(version=s.c.version + 1, updated_at=at, updated_by=officer)
                       .returning(s.c.version))
    return done.first() is not None


def record_action(workspace: Workspace, *, person_id: str, month: str, patch: str,
                  action: str, officer: str, note: str | None = None,
                  service: str | None = None, at: datetime | None = None,
                  expected_version: int | None = None, ip: str | None = None) -> int:
    """Record an action an officer took for a resident; return its id.

    In one transaction: the resident's version for the month moves on by one (checked against
    ``expected_version`` when given), the action is stored and a ``record_action`` event is
    added to the audit log. If the check fails nothing is written.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    person_id : str
        The resident's pseudonym, as on the list.
    month, patch : str
        The list (``YYYY-MM``) and patch the resident was on.
    action : str
        One of :data:`risk_model.config.ACTIONS`.
    officer : str
        Who recorded it.
    note, service : str, optional
        A short note (at most 500 characters); the named service for a referral.
    at : datetime.datetime, optional
        When (default: now, UTC).
    expected_version : int, optional
        The version the officer saw (:func:`resident_state`); ``None`` records without the
        check.
    ip : str, optional
        The officer's address, for the audit log.

    Returns
    -------
    int
        The action's id.

    Raises
    ------
    ConfigError
        If the action is not a known one or the note is too long.
    StaleUpdate
        If the resident's version is no longer ``expected_version``; it carries the current
        state.
    """
    if action not in ACTIONS:
        raise ConfigError(f"unknown action {action!r}",
                          hint=f"record one of: {', '.join(ACTIONS)}")
    if note is not None and len(note) > NOTE_LIMIT:
        raise ConfigError(f"the note has {len(note)} characters, more than {NOTE_LIMIT}",
                          hint="keep notes short; no names or health details")
    if expected_version is not None and (isinstance(expected_version, bool)
                                         or expected_version < 0):
        raise ConfigError(f"expected_version must be a whole number of at least 0, got "
                          f"{expected_version!r}")
    when = as_utc(at or datetime.now(UTC))
    row: dict[str, Any] = {"person_id": person_id, "month": month, "patch": patch,
                           "action": action, "officer": officer, "note": note,
                           "service": service, "recorded_at": when}
    eng = engine(workspace)
    with eng.begin() as con:
        if _bump(con, person_id, month, officer, when, expected_version):
            result = con.execute(ACTIONS_TABLE.insert().values(**row))
            action_id = int(result.inserted_primary_key[0])
            log_event(con, "record_action", username=officer, person_id=person_id, ip=ip,
                      at=when, detail={"action_id": action_id, "month": month, "patch": patch,
                                       "action": action, "service": service})
            return action_id
    assert expected_version is not None  # only a checked update can fail
    with eng.connect() as con:
        current = _state(con, person_id, month)
    log.info("record_action: stale update refused (expected %d, now %d)", expected_version,
             current.version)
    raise StaleUpdate(expected_version, current)


def recent_actions(workspace: Workspace, since: datetime, until: datetime, *,
                   actions: Collection[str] | None = None) -> pd.DataFrame:
    """Return each resident's latest action recorded in ``[since, until)``.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    since, until : datetime.datetime
        The window (timezone-aware, or naive meaning UTC).
    actions : collection of str, optional
        Only these actions (default: all).

    Returns
    -------
    pandas.DataFrame
        Columns ``person_id``, ``action``, ``recorded_at`` (one row per resident); empty when
        nothing was recorded or there is no review database yet.
    """
    columns = ["person_id", "action", "recorded_at"]
    if _is_sqlite_file_missing(database_url(workspace)):
        return pd.DataFrame(columns=columns)
    t = ACTIONS_TABLE
    query = (sa.select(t.c.person_id, t.c.action, t.c.recorded_at)
             .where(t.c.recorded_at >= as_utc(since), t.c.recorded_at < as_utc(until))
             .order_by(t.c.person_id, t.c.recorded_at.desc(), t.c.id.desc()))
    if actions is not None:
        query = query.where(t.c.action.in_(list(actions)))
    with engine(workspace).connect() as con:
        rows = con.execute(query).fetchall()
    frame = pd.DataFrame(rows, columns=columns)
    return frame.drop_duplicates("person_id").reset_index(drop=True)


# ---- capacities -------------------------------------------------------------------------------


def capacity_overrides(workspace: Workspace) -> dict[str, int]:
    """Return the monthly capacities an administrator set, by patch name.

    Scoring applies them over ``settings.yaml`` to the patches that exist that month.

    Parameters
    ----------
    workspace : Workspace
        The workspace.

    Returns
    -------
    dict of str to int
        Patch name to capacity; empty when none were set or there is no review database yet.
    """
    if _is_sqlite_file_missing(database_url(workspace)):
        return {}
    c = CAPACITY_TABLE
    with engine(workspace).connect() as con:
        return {r.patch: int(r.capacity)
                for r in con.execute(sa.select(c.c.patch, c.c.capacity))}
