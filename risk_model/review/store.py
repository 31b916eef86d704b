"""The review database: what officers recorded against residents, read back by scoring.

The database is SQLite at ``<workspace>/review.db`` unless ``DATABASE_URL`` names another
(``postgresql+psycopg://user@127.0.0.1:5432/risk_model`` for a multi-user deployment). It holds
pseudonymised person ids, never a name or NHS number.

Each action is one row of ``review_actions``: the resident's pseudonym, the list month and
patch it was taken from, the action (one of :data:`risk_model.config.ACTIONS`), an optional
named service and a short note, the officer and the time. Scoring's hold-back reads it through
:func:`recent_actions`.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from risk_model.config import ACTIONS, Workspace
from risk_model.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["DATABASE_URL_ENV", "METADATA", "database_url", "engine", "recent_actions",
           "record_action"]

DATABASE_URL_ENV = "DATABASE_URL"
#: The longest note an action can carry.
NOTE_LIMIT = 500

METADATA = sa.MetaData()

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
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, index=True),
)


def database_url(workspace: Workspace) -> str:
    """Return the review database's URL: ``DATABASE_URL`` or SQLite in the workspace."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{workspace.root / 'review.db'}"


def _is_sqlite_file_missing(url: str) -> bool:
    return url.startswith("sqlite:///") and not os.path.exists(url.removeprefix("sqlite:///"))


def engine(workspace: Workspace, *, create: bool = True) -> Engine:
    """Return an engine on the review database, creating its tables if needed.

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
    try:
        eng = sa.create_engine(url, future=True)
        if create:
            METADATA.create_all(eng)
    except (sa.exc.ArgumentError, sa.exc.OperationalError, ModuleNotFoundError) as exc:
        shown = sa.engine.make_url(url).render_as_string(hide_password=True) \
            if "://" in url else url
        raise ConfigError(f"cannot open the review database {shown}: {exc}",
                          hint=f"check ${DATABASE_URL_ENV}; for PostgreSQL install "
                               "risk_model[postgres]") from exc
    return eng


def record_action(workspace: Workspace, *, person_id: str, month: str, patch: str,
                  action: str, officer: str, note: str | None = None,
                  service: str | None = None, at: datetime | None = None) -> int:
    """Record an action an officer took for a resident; return its id.

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

    Raises
    ------
    ConfigError
        If the action is not a known one or the note is too long.
    """
    if action not in ACTIONS:
        raise ConfigError(f"unknown action {action!r}",
                          hint=f"record one of: {', '.join(ACTIONS)}")
    if note is not None and len(note) > NOTE_LIMIT:
        raise ConfigError(f"the note has {len(note)} characters, more than {NOTE_LIMIT}",
                          hint="keep notes short; no names or health details")
    row: dict[str, Any] = {"person_id": person_id, "month": month, "patch": patch,
                           "action": action, "officer": officer, "note": note,
                           "service": service, "recorded_at": at or datetime.now(UTC)}
    with engine(workspace).begin() as con:
        result = con.execute(ACTIONS_TABLE.insert().values(**row))
        return int(result.inserted_primary_key[0])


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
             .where(t.c.recorded_at >= _utc(since), t.c.recorded_at < _utc(until))
             .order_by(t.c.person_id, t.c.recorded_at.desc(), t.c.id.desc()))
    if actions is not None:
        query = query.where(t.c.action.in_(list(actions)))
    eng = engine(workspace)
    try:
        with eng.connect() as con:
            rows = con.execute(query).fetchall()
    finally:
        eng.dispose()
    frame = pd.DataFrame(rows, columns=columns)
    return frame.drop_duplicates("person_id").reset_index(drop=True)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
