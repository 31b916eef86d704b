"""The published lists the review app shows: copied from the warehouse, read from the review DB.

The app never reads the DuckDB warehouse while serving a request: a scoring run holds the
warehouse for writing, and the warehouse holds health data officers must not reach. Instead
:func:`publish_month` copies one scored month's list entries (and the score history of the
people on them) into two tables of the review database, in one transaction that replaces
whatever was published for that month before:

``review_list_entries``
    One row per resident on a patch's list: month, patch, position, pseudonym, tenancy
    reference, UPRN, a one-line address, risk band, rank in the patch, housing-attributable
    risk, movement since last month, the reasons for officers and for analysts (JSON lists of
    plain-English sentences) and ``reason_kinds`` (``housing``, ``health``, ``other``: which
    kinds of reason the officer's reasons give, for filtering).
``review_score_history``
    For everyone on the month's lists, their band and rank in every scored month.
``review_publications``
    One row per published month with a random token that changes at every publication.

Serving a list page: a 2,000-resident list is filtered, counted and paged on every request, so
each server process keeps a month's published entries in memory (:func:`publication`) and checks
the month's publication token (one indexed look-up) before using them: publishing the month
again, from any process, makes every process read it afresh.

The address: the warehouse gazetteer keeps no address lines (they never leave the landing
zone: ingest drops them and keeps the postcode's outward code only), so the one-line address is
built from what the warehouse has: the kind of home, the postcode district and the UPRN, e.g.
``"Flat, LS6 (UPRN 100023336956)"``. The officer finds the home by its UPRN or tenancy reference
in the council's own systems.

The tables are defined on :data:`risk_model.review.store.METADATA`, so
:func:`risk_model.review.store.engine` creates them once this module is imported; the functions
here also create them on an engine made before the import.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import weakref
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from risk_model.errors import ConfigError, DataError
from risk_model.review import store

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from risk_model.config import Workspace

__all__ = [
    "ENTRIES_TABLE",
    "HISTORY_TABLE",
    "PUBLICATIONS_TABLE",
    "REASON_KINDS",
    "ListEntry",
    "Publication",
    "ScorePoint",
    "actioned",
    "entry_for",
    "history_for",
    "latest_month",
    "list_entries",
    "list_sizes",
    "publication",
    "publish_month",
    "reason_kind",
]

log = logging.getLogger(__name__)

#: The kinds of reason an officer can filter by (``other``: neither housing nor health).
REASON_KINDS = ("housing", "health", "other")
_HEALTH_PREFIX = "Health:"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
#: Words of an officer's reason that make it about the home.
_HOUSING_WORDS = ("home", "damp", "mould", "repair", "hazard", "hhsrs", "epc", "energy",
                  "heating", "insulation", "tenancy", "overcrowd", "adaptation", "bedroom",
                  "floor", "household", "living alone", "landlord", "rented")
_KINDS_OF_HOME = {"RD02": "Detached house or bungalow", "RD03": "Semi-detached house",
                  "RD04": "Terraced house", "RD06": "Flat"}

ENTRIES_TABLE = sa.Table(
    "review_list_entries", store.METADATA,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("patch", sa.String(200), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("person_id", sa.String(128), nullable=False, index=True),
    sa.Column("tenancy_ref", sa.String(64)),
    sa.Column("uprn", sa.BigInteger),
    sa.Column("address", sa.String(300)),
    sa.Column("risk_band", sa.String(32), nullable=False),
    sa.Column("rank_in_patch", sa.Integer),
    sa.Column("attributable_risk", sa.Float),
    sa.Column("movement", sa.String(16)),
    sa.Column("movement_note", sa.String(500)),
    sa.Column("reasons_officer", sa.Text, nullable=False),
    sa.Column("reasons_analyst", sa.Text, nullable=False),
    sa.Column("reason_kinds", sa.String(64), nullable=False),
)

HISTORY_TABLE = sa.Table(
    "review_score_history", store.METADATA,
    sa.Column("person_id", sa.String(128), primary_key=True),
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("risk_band", sa.String(32)),
    sa.Column("rank_in_patch", sa.Integer),
)

PUBLICATIONS_TABLE = sa.Table(
    "review_publications", store.METADATA,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("token", sa.String(32), nullable=False),
    sa.Column("entries", sa.Integer, nullable=False),
)

_TABLES = [ENTRIES_TABLE, HISTORY_TABLE, PUBLICATIONS_TABLE]
_READY: weakref.WeakSet[Engine] = weakref.WeakSet()
_READY_LOCK = threading.Lock()


@dataclass(frozen=True)
class ListEntry:
    """One resident on a patch's published list."""

    month: str
    patch: str
    position: int
    person_id: str
    tenancy_ref: str | None
    uprn: int | None
    address: str | None
    risk_band: str
    rank_in_patch: int | None
    attributable_risk: float | None
    movement: str | None
    movement_note: str | None
    reasons_officer: tuple[str, ...]
    reasons_analyst: tuple[str, ...]
    reason_kinds: tuple[str, ...]

    def reasons_for(self, role: str) -> tuple[str, ...]:
        """The reasons worded for a role: analysts get theirs, everyone else the officer's."""
        return self.reasons_analyst if role == "analyst" else self.reasons_officer


@dataclass(frozen=True)
class ScorePoint:
    """A resident's band and rank in one scored month."""

    month: str
    risk_band: str | None
    rank_in_patch: int | None


def _engine(workspace: Workspace) -> Engine:
    """The review database's engine, with this module's tables created on it."""
    eng = store.engine(workspace)
    with _READY_LOCK:
        if eng not in _READY:
            store.METADATA.create_all(eng, tables=_TABLES)
            _READY.add(eng)
    return eng


def reason_kind(reason: str) -> str:
    """Return the kind of an officer's reason: ``health``, ``housing`` or ``other``.

    Parameters
    ----------
    reason : str
        A plain-English reason as scoring wrote it for officers.

    Returns
    -------
    str
        ``health`` for ``"Health: ..."`` (a broad health category), ``housing`` when it speaks
        of the home, ``other`` otherwise (age, neighbourhood, ...).

    Examples
    --------
    >>> reason_kind("Health: a condition made worse by cold homes")
    'health'
    >>> reason_kind("Damp or mould reported in the home")
    'housing'
    """
    if reason.startswith(_HEALTH_PREFIX):
        return "health"
    lowered = reason.lower()
    return "housing" if any(w in lowered for w in _HOUSING_WORDS) else "other"


def _address(classification: str | None, district: str | None, uprn: int | None) -> str | None:
    if uprn is None:
        return None
    kind = _KINDS_OF_HOME.get(classification or "", "Home")
    place = f", {district}" if district else ""
    return f"{kind}{place} (UPRN {uprn})"


def _warehouse_rows(workspace: Workspace, month: str) -> tuple[list[dict[str, Any]],
                                                               list[dict[str, Any]]]:
    import duckdb

    path = workspace.warehouse
    if not path.exists():
        raise DataError(f"there is no warehouse at {path}",
                        hint="run `risk-model ingest`, then score the month")
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
                  .fetchall()}
        if "lists" not in tables:
            raise DataError("the warehouse has no lists yet",
                            hint=f"run `risk-model score --month {month}` first")
        columns = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = "
            "'gazetteer'").fetchall()}
        kind = "g.classification_code" if "classification_code" in columns else "NULL"
        district = "g.postcode_district" if "postcode_district" in columns else "NULL"
        join = "LEFT JOIN gazetteer g ON g.uprn = l.uprn" if "uprn" in columns else ""
        if not join:
            kind = district = "NULL"
        entries = con.execute(
            f"""SELECT l.month, l.patch, l.position, l.person_id, l.tenancy_ref, l.uprn,
                       {kind} AS classification, {district} AS district, l.risk_band,
                       l.rank_in_patch, l.attributable_risk, l.movement, l.movement_note,
                       l.reasons_officer, l.reasons_analyst
                FROM lists l {join} WHERE l.month = ? ORDER BY l.patch, l.position""",
            [month]).fetchall()
        history = con.execute(
            """SELECT DISTINCT s.person_id, s.month, s.risk_band, s.rank_in_patch
               FROM scores s
               WHERE s.person_id IN (SELECT person_id FROM lists WHERE month = ?)""",
            [month]).fetchall() if "scores" in tables else []
    rows = []
    for (m, patch, position, person, tenancy, uprn, classification, area, band, rank,
         attributable, moved, note, officer, analyst) in entries:
        officer = list(officer or [])
        kinds = sorted({reason_kind(r) for r in officer}, key=REASON_KINDS.index)
        rows.append({
            "month": m, "patch": patch, "position": int(position), "person_id": person,
            "tenancy_ref": tenancy, "uprn": None if uprn is None else int(uprn),
            "address": _address(classification, area, None if uprn is None else int(uprn)),
            "risk_band": band, "rank_in_patch": None if rank is None else int(rank),
            "attributable_risk": None if attributable is None else float(attributable),
            "movement": moved, "movement_note": note, "reasons_officer": json.dumps(officer),
            "reasons_analyst": json.dumps(list(analyst or [])), "reason_kinds": ",".join(kinds),
        })
    points = [{"person_id": p, "month": m, "risk_band": b,
               "rank_in_patch": None if r is None else int(r)} for p, m, b, r in history]
    return rows, points


def publish_month(workspace: Workspace, month: str) -> int:
    """Copy a scored month's lists from the warehouse into the review database.

    Reads the warehouse read-only (the ``lists``, ``scores`` and ``gazetteer`` tables) and, in
    one transaction, replaces the month's published entries and the score history of the people
    on them, so publishing a month again gives the same tables.

    Parameters
    ----------
    workspace : Workspace
        The workspace (its warehouse and review database).
    month : str
        The scored month, ``YYYY-MM``.

    Returns
    -------
    int
        How many list entries were published.

    Raises
    ------
    ConfigError
        If ``month`` is not ``YYYY-MM``.
    DataError
        If there is no warehouse, it has no lists, or the month was not scored.
    """
    if not isinstance(month, str) or not _MONTH.match(month):
        raise ConfigError(f"the month must be YYYY-MM, got {month!r}",
                          hint="e.g. 2025-03, a month that was scored")
    rows, points = _warehouse_rows(workspace, month)
    if not rows:
        raise DataError(f"the month {month} has no lists in the warehouse",
                        hint=f"run `risk-model score --month {month}` first")
    people = sorted({r["person_id"] for r in rows})
    e, h, p = ENTRIES_TABLE, HISTORY_TABLE, PUBLICATIONS_TABLE
    with _engine(workspace).begin() as con:
        con.execute(e.delete().where(e.c.month == month))
        con.execute(e.insert(), rows)
        con.execute(p.delete().where(p.c.month == month))
        con.execute(p.insert(), {"month": month, "token": secrets.token_hex(16),
                                 "entries": len(rows)})
        for start in range(0, len(people), 500):
            con.execute(h.delete().where(h.c.person_id.in_(people[start:start + 500])))
        if points:
            con.execute(h.insert(), points)
    log.info("published %d list entries for %s", len(rows), month)
    return len(rows)


def _entry(row: Any) -> ListEntry:
    kinds = tuple(k for k in (row["reason_kinds"] or "").split(",") if k)
    return ListEntry(
        month=row["month"], patch=row["patch"], position=row["position"],
        person_id=row["person_id"], tenancy_ref=row["tenancy_ref"], uprn=row["uprn"],
        address=row["address"], risk_band=row["risk_band"], rank_in_patch=row["rank_in_patch"],
        attributable_risk=row["attributable_risk"], movement=row["movement"],
        movement_note=row["movement_note"],
        reasons_officer=tuple(json.loads(row["reasons_officer"])),
        reasons_analyst=tuple(json.loads(row["reasons_analyst"])), reason_kinds=kinds)


def latest_month(workspace: Workspace) -> str | None:
    """Return the latest published month, or None if nothing was published.

    Parameters
    ----------
    workspace : Workspace
        The workspace.

    Returns
    -------
    str or None
        ``YYYY-MM``.
    """
    with _engine(workspace).connect() as con:
        return con.execute(sa.select(sa.func.max(ENTRIES_TABLE.c.month))).scalar()


def list_entries(workspace: Workspace, month: str, *, patches: Collection[str] | None = None,
                 band: str | None = None, reason: str | None = None,
                 new_only: bool = False) -> list[ListEntry]:
    """Return a month's published entries in priority order (patch, then position).

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    month : str
        The list month.
    patches : collection of str, optional
        Only these patches (an officer's); None means every patch.
    band : str, optional
        Only this risk band.
    reason : {"housing", "health", "other"}, optional
        Only residents with a reason of this kind.
    new_only : bool, optional
        Only residents new to the list this month.

    Returns
    -------
    list of ListEntry
        The entries.
    """
    e = ENTRIES_TABLE
    query = sa.select(e).where(e.c.month == month).order_by(e.c.patch, e.c.position)
    if patches is not None:
        query = query.where(e.c.patch.in_(list(patches)))
    if band:
        query = query.where(e.c.risk_band == band)
    if new_only:
        query = query.where(e.c.movement == "new")
    with _engine(workspace).connect() as con:
        found = [_entry(r) for r in con.execute(query).mappings()]
    if reason:
        found = [x for x in found if reason in x.reason_kinds]
    return found


@dataclass(frozen=True)
class Publication:
    """A month's published lists as one process holds them: its token and entries by patch."""

    month: str
    #: Changes at every publication of the month; empty for a month published without one.
    token: str
    by_patch: Mapping[str, tuple[ListEntry, ...]]

    def entries(self, patches: Collection[str] | None = None) -> list[ListEntry]:
        """The entries of some patches (None: all), by patch name, then position."""
        wanted = sorted(self.by_patch) if patches is None \
            else sorted(set(patches) & self.by_patch.keys())
        return [entry for patch in wanted for entry in self.by_patch[patch]]


#: Per process: (database, month) -> the publication last read.
_PUBLISHED: dict[tuple[str, str], Publication] = {}
_PUBLISHED_LOCK = threading.Lock()


def publication(workspace: Workspace, month: str) -> Publication:
    """Return a month's published lists, from this process's memory while still current.

    This process keeps the month's entries after reading them once, and checks the month's
    publication token on every call (one indexed look-up): a new publication of the month, by
    any process, is read afresh. A month published before tokens existed is read from the
    database every time (its token is empty).

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    month : str
        The list month.

    Returns
    -------
    Publication
        The month's entries by patch, with the publication's token.
    """
    eng = _engine(workspace)
    p = PUBLICATIONS_TABLE
    with eng.connect() as con:
        token = con.execute(sa.select(p.c.token).where(p.c.month == month)).scalar()
    key = (eng.url.render_as_string(hide_password=True), month)
    cached = _PUBLISHED.get(key)
    if token is not None and cached is not None and cached.token == token:
        return cached
    by_patch: dict[str, list[ListEntry]] = {}
    for entry in list_entries(workspace, month):
        by_patch.setdefault(entry.patch, []).append(entry)
    found = Publication(month, token or "", {k: tuple(v) for k, v in by_patch.items()})
    if token is not None:
        with _PUBLISHED_LOCK:
            _PUBLISHED[key] = found
    return found


def entry_for(workspace: Workspace, person_id: str, *, month: str | None = None,
              patches: Collection[str] | None = None) -> ListEntry | None:
    """Return a resident's published entry, or None if they are not on a list one may see.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    person_id : str
        The resident's pseudonym.
    month : str, optional
        The list month (default: the latest month they are on a list).
    patches : collection of str, optional
        Only on these patches' lists (an officer's).

    Returns
    -------
    ListEntry or None
        The entry.
    """
    e = ENTRIES_TABLE
    query = sa.select(e).where(e.c.person_id == person_id) \
        .order_by(e.c.month.desc(), e.c.patch, e.c.position).limit(1)
    if month is not None:
        query = query.where(e.c.month == month)
    if patches is not None:
        query = query.where(e.c.patch.in_(list(patches)))
    with _engine(workspace).connect() as con:
        row = con.execute(query).mappings().first()
    return None if row is None else _entry(row)


def history_for(workspace: Workspace, person_id: str) -> list[ScorePoint]:
    """Return a resident's band and rank in every scored month, newest first.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    person_id : str
        The resident's pseudonym.

    Returns
    -------
    list of ScorePoint
        The months.
    """
    h = HISTORY_TABLE
    with _engine(workspace).connect() as con:
        rows = con.execute(sa.select(h).where(h.c.person_id == person_id)
                           .order_by(h.c.month.desc())).mappings().all()
    return [ScorePoint(month=r["month"], risk_band=r["risk_band"],
                       rank_in_patch=r["rank_in_patch"]) for r in rows]


def actioned(workspace: Workspace, month: str, person_ids: Sequence[str] | None = None, *,
             patches: Collection[str] | None = None) -> set[str]:
    """Return which residents have an action recorded for a list month.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    month : str
        The list month.
    person_ids : sequence of str, optional
        Only these residents.
    patches : collection of str, optional
        Only actions recorded on these patches' lists (an officer's).

    Returns
    -------
    set of str
        The residents with at least one action.
    """
    a = store.ACTIONS_TABLE
    query = sa.select(a.c.person_id).distinct().where(a.c.month == month)
    if patches is not None:
        query = query.where(a.c.patch.in_(sorted(patches)))
    with _engine(workspace).connect() as con:
        if person_ids is None:
            return set(con.execute(query).scalars())
        ids = list(person_ids)
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            found.update(con.execute(query.where(a.c.person_id.in_(ids[start:start + 500])))
                         .scalars())
    return found


def list_sizes(workspace: Workspace) -> list[dict[str, Any]]:
    """Return, by month and patch, the residents listed, those actioned and each action's count.

    True counts: the analyst page suppresses small numbers before showing them.

    Parameters
    ----------
    workspace : Workspace
        The workspace.

    Returns
    -------
    list of dict
        ``month``, ``patch``, ``listed``, ``actioned`` (residents with any action that month)
        and ``actions`` (action key to the residents whose latest action it is), newest month
        first, then by patch.
    """
    e, a = ENTRIES_TABLE, store.ACTIONS_TABLE
    with _engine(workspace).connect() as con:
        sizes = con.execute(sa.select(e.c.month, e.c.patch, sa.func.count())
                            .group_by(e.c.month, e.c.patch)).all()
        acts = con.execute(sa.select(a.c.month, a.c.patch, a.c.person_id, a.c.action)
                           .order_by(a.c.recorded_at, a.c.id)).all()
    latest: dict[tuple[str, str, str], str] = {}
    for m, patch, person, action in acts:
        latest[(m, patch, person)] = action
    out: dict[tuple[str, str], dict[str, Any]] = {
        (m, p): {"month": m, "patch": p, "listed": int(n), "actioned": 0, "actions": {}}
        for m, p, n in sizes}
    for (m, patch, _person), action in latest.items():
        row = out.setdefault((m, patch), {"month": m, "patch": patch, "listed": 0,
                                          "actioned": 0, "actions": {}})
        row["actioned"] += 1
        row["actions"][action] = row["actions"].get(action, 0) + 1
    return sorted(out.values(), key=lambda r: (-int(r["month"].replace("-", "")), r["patch"]))
