"""Point-in-time snapshots: the catalogue turned into SQL and run for one as-of date.

A snapshot has one row per person in the population on the as-of date
(:mod:`risk_model.features.population`) and one column per catalogue feature. Only rows dated
before the **cut-off** (the as-of date minus an optional recording lag) are read, and the cut-off
is applied here, for every view, not left to each definition: a view's rows are filtered on its
``date`` column before any aggregate sees them, and each feature's window only narrows that.

The SQL is generated from the catalogue in DuckDB's dialect (:class:`Dialect` holds the few
expressions an engine spells its own way). :func:`snapshot_sql` returns the statements;
:func:`build_snapshot` runs them on a connection and returns the snapshot as a relation. On
the Spark engine the connection is a :class:`risk_model.spark.SparkConnection`, which
translates the same statements to Spark SQL with sqlglot: one definition, never a second copy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from risk_model.engine import SQL_ERRORS
from risk_model.errors import ConfigError, DataError
from risk_model.features.catalogue import NOT_KNOWN, Catalogue, Feature, Window
from risk_model.features.population import POPULATION_TABLE, population_sql

__all__ = ["DUCKDB", "Dialect", "Snapshot", "build_snapshot", "cutoff_of", "needed_features",
           "snapshot_sql"]

log = logging.getLogger(__name__)

_SQL_TYPE = {"count": "INTEGER", "flag": "BOOLEAN", "number": "DOUBLE", "days": "INTEGER",
             "category": "VARCHAR"}


@dataclass(frozen=True)
class Dialect:
    """The expressions that differ between SQL engines; one instance per engine."""

    name: str

    def date(self, value: date) -> str:
        """A date literal."""
        return f"DATE '{value.isoformat()}'"

    def minus(self, cutoff: str, window: Window) -> str:
        """``cutoff`` moved back by ``window``."""
        unit = {"day": "DAY", "month": "MONTH", "year": "YEAR"}[window.unit or "day"]
        return f"({cutoff} - INTERVAL {window.n} {unit})"

    def days_between(self, earlier: str, later: str) -> str:
        """Whole days from ``earlier`` to ``later``."""
        return f"date_diff('day', CAST({earlier} AS DATE), {later})"

    def latest(self, value: str, order: str) -> str:
        """The value on the row with the greatest ``order``."""
        return f"arg_max({value}, {order})"

    def order_key(self, *columns: str) -> str:
        """A composite sort key for :meth:`latest`."""
        return "struct_pack(" + ", ".join(f"k{i} := {c}" for i, c in enumerate(columns)) + ")"


DUCKDB = Dialect("duckdb")


def cutoff_of(as_of: date, lag_days: int = 0) -> date:
    """Return the cut-off: rows dated on or after it are not used.

    Parameters
    ----------
    as_of : datetime.date
        The as-of date.
    lag_days : int, optional
        Recording lag: events from the last ``lag_days`` days before the as-of date are treated
        as not yet recorded.
    """
    if lag_days < 0:
        raise ConfigError(f"lag_days must be 0 or more, got {lag_days}")
    return as_of - timedelta(days=lag_days)


def _q(name: str) -> str:
    return f'"{name}"'


def needed_features(catalogue: Catalogue, names: list[str] | None) -> list[Feature]:
    """Return the features named (or of the families named) and every input of derived ones.

    Parameters
    ----------
    catalogue : Catalogue
        The feature catalogue.
    names : list of str, optional
        Feature or family names (default all).

    Returns
    -------
    list of Feature
        In catalogue order.
    """
    wanted = {f.name for f in catalogue.select(names)}
    stack = list(wanted)
    while stack:
        for dep in catalogue.features[stack.pop()].inputs:
            if dep not in wanted:
                wanted.add(dep)
                stack.append(dep)
    return [f for f in catalogue.features.values() if f.name in wanted]


def _aggregate(f: Feature, catalogue: Catalogue, cutoff: str, dialect: Dialect) -> str:
    view = catalogue.views[f.view or ""]
    conds: list[str] = []
    if f.where:
        conds.append(f"({f.where.replace('$cutoff', cutoff)})")
    if f.window is not None and not f.window.is_all:
        conds.append(f"{view.date} >= {dialect.minus(cutoff, f.window)}")
    if f.aggregate == "latest":
        conds.append(f"({f.value}) IS NOT NULL")
    filt = f" FILTER (WHERE {' AND '.join(conds)})" if conds else ""
    match f.aggregate:
        case "count":
            return f"count(*){filt}"
        case "exists":
            return f"count(*){filt} > 0"
        case "days_since_last":
            return dialect.days_between(f"max({view.date}){filt}", cutoff)
        case "latest":
            order = dialect.order_key(view.date, *([view.id] if view.id else []))
            return f"{dialect.latest(f'({f.value})', order)}{filt}"
        case "max" | "min" | "sum" | "value":
            fn = "max" if f.aggregate == "value" else f.aggregate
            return f"{fn}({f.value}){filt}"
    raise ConfigError(f"feature {f.name!r}: unknown aggregate {f.aggregate!r}")  # pragma: no cover


def _finish(f: Feature, raw: str) -> str:
    """Apply missing-value treatment, coverage and the declared type to a raw expression."""
    sql_type = _SQL_TYPE[f.type]
    value = f"CAST({raw} AS {sql_type})"
    if f.missing == "zero":
        value = f"coalesce({value}, {'false' if f.type == 'flag' else '0'})"
    elif f.type == "category":
        value = f"coalesce({value}, '{NOT_KNOWN}')"
    if f.coverage is not None:
        absent = f"'{NOT_KNOWN}'" if f.type == "category" else f"CAST(NULL AS {sql_type})"
        value = f"CASE WHEN {_q('__cov_' + f.coverage)} THEN {value} ELSE {absent} END"
    return value


def snapshot_sql(catalogue: Catalogue, as_of: date, *, lag_days: int = 0,
                 features: list[str] | None = None,
                 dialect: Dialect = DUCKDB) -> tuple[list[str], str]:
    """Generate the SQL of a snapshot.

    Parameters
    ----------
    catalogue : Catalogue
        The feature catalogue.
    as_of : datetime.date
        The as-of date.
    lag_days : int, optional
        Recording lag in days (see :func:`cutoff_of`).
    features : list of str, optional
        Feature or family names (default all); inputs of expressions are added.
    dialect : Dialect, optional
        The SQL engine.

    Returns
    -------
    (list of str, str)
        Statements that create the temporary relations, then the final ``SELECT`` returning
        ``person_id``, ``as_of`` and the features in catalogue order, sorted by person.
    """
    cutoff = dialect.date(cutoff_of(as_of, lag_days))
    chosen = needed_features(catalogue, features)
    names = {f.name for f in chosen}
    setup = [f"CREATE OR REPLACE TEMP TABLE {POPULATION_TABLE} AS {population_sql(cutoff)}"]
    for view in catalogue.views.values():
        setup.append(f"CREATE OR REPLACE TEMP VIEW view__{view.name} AS "
                     f"{view.sql.replace('$cutoff', cutoff)}")

    coverages = sorted({f.coverage for f in chosen if f.coverage})
    by_view: dict[str, list[Feature]] = {}
    for f in chosen:
        if f.view is not None and f.view != POPULATION_TABLE:
            by_view.setdefault(f.view, [])
            by_view[f.view].append(f)
    for name in coverages:
        cov = catalogue.coverage[name]
        if cov.view is not None and cov.view != POPULATION_TABLE:
            by_view.setdefault(cov.view, [])

    joins: list[str] = []
    for vname, feats in by_view.items():
        view = catalogue.views[vname]
        cols = ", ".join(["count(*) AS __rows"]
                         + [f"{_aggregate(f, catalogue, cutoff, dialect)} AS {_q(f.name)}"
                            for f in feats])
        where = [f"{view.key} IN (SELECT {view.key} FROM {POPULATION_TABLE})"]
        if view.date is not None:
            where.append(f"{view.date} < {cutoff}")
        setup.append(
            f"CREATE OR REPLACE TEMP TABLE agg__{vname} AS SELECT {view.key} AS __key, {cols} "
            f"FROM view__{vname} WHERE {' AND '.join(where)} GROUP BY {view.key}")
        joins.append(f"LEFT JOIN agg__{vname} ON agg__{vname}.__key = p.{view.key}")

    cov_cols = []
    for name in coverages:
        cov = catalogue.coverage[name]
        if cov.when is not None:
            expr = f"coalesce(({cov.when}), false)"
        else:
            expr = f"coalesce(agg__{cov.view}.__rows, 0) > 0"
        cov_cols.append(f"{expr} AS {_q('__cov_' + name)}")

    base_cols = []
    for f in chosen:
        if f.view is None:
            continue
        raw = f"({f.value})" if f.view == POPULATION_TABLE else f"agg__{f.view}.{_q(f.name)}"
        base_cols.append(f"{_finish(f, raw)} AS {_q(f.name)}")
    query = (f"SELECT p.person_id, {', '.join(['1 AS __one', *cov_cols, *base_cols])} "
             f"FROM {POPULATION_TABLE} p {' '.join(joins)}")
    for layer in catalogue.order[1:]:
        exprs = [f"{_finish(catalogue.features[n], '(' + catalogue.features[n].expression + ')')}"
                 f" AS {_q(n)}" for n in layer if n in names]
        if exprs:
            query = f"SELECT q.*, {', '.join(exprs)} FROM ({query}) q"
    order = [_q(f.name) for f in chosen]
    final = (f"SELECT person_id, {dialect.date(as_of)} AS as_of, {', '.join(order)} "
             f"FROM ({query}) s ORDER BY person_id")
    return setup, final


@dataclass(frozen=True)
class Snapshot:
    """A built snapshot held in a temporary table of the connection.

    Attributes
    ----------
    table : str
        The temporary table holding it.
    as_of, cutoff : datetime.date
        The as-of date and the cut-off actually applied.
    features : list of Feature
        Its feature columns, in order.
    rows : int
        People in it.
    """

    table: str
    as_of: date
    cutoff: date
    features: list[Feature]
    rows: int


def _step(con: duckdb.DuckDBPyConnection, sql: str, step: str) -> None:
    try:
        con.execute(sql)
    except SQL_ERRORS as exc:
        raise DataError(f"feature snapshot step {step!r} failed: {exc}",
                        hint=f"check the definition in features/; the SQL was:\n{sql}") from exc


def _check_categories(con: duckdb.DuckDBPyConnection, table: str,
                      features: list[Feature]) -> None:
    for f in features:
        if f.type != "category":
            continue
        allowed = ", ".join(f"'{v}'" for v in f.values)
        bad = con.execute(f"SELECT {_q(f.name)}, count(*) FROM {table} WHERE {_q(f.name)} "
                          f"NOT IN ({allowed}) GROUP BY 1 ORDER BY 2 DESC LIMIT 3").fetchall()
        if bad:
            values = ", ".join(f"{v!r} ({n} people)" for v, n in bad)
            raise DataError(
                f"feature {f.name!r} produced values outside its categories: {values}",
                hint=f"add them to `categories` of {f.name} in features/{f.family}.yaml, or "
                "map them in its view")


def build_snapshot(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, as_of: date, *,
                   lag_days: int = 0, features: list[str] | None = None,
                   table: str = "snapshot") -> Snapshot:
    """Build one as-of snapshot into a temporary table.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection or risk_model.spark.SparkConnection
        The warehouse (read access is enough: only temporary relations are created).
    catalogue : Catalogue
        The feature catalogue.
    as_of : datetime.date
        The as-of date.
    lag_days : int, optional
        Recording lag in days.
    features : list of str, optional
        Feature or family names (default all).
    table : str, optional
        Name of the temporary table to create.

    Returns
    -------
    Snapshot
        Where the snapshot is and what it holds.

    Raises
    ------
    DataError
        If a definition's SQL fails (the message names the step and gives the SQL) or a
        category feature produces a value its definition does not list.
    """
    setup, final = snapshot_sql(catalogue, as_of, lag_days=lag_days, features=features)
    for sql in setup:
        _step(con, sql, sql.split(" AS ", 1)[0].removeprefix("CREATE OR REPLACE TEMP "))
    _step(con, f"CREATE OR REPLACE TEMP TABLE {table} AS {final}", "snapshot")
    chosen = needed_features(catalogue, features)
    _check_categories(con, table, chosen)
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    log.debug("snapshot as of %s: %d rows, %d features", as_of, rows, len(chosen))
    return Snapshot(table, as_of, cutoff_of(as_of, lag_days), chosen, int(rows))
