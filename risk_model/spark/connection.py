"""A connection that runs the project's DuckDB SQL on Spark: one definition, translated.

Every step writes its SQL once, in DuckDB's dialect (the embedded default). On Spark,
:class:`SparkConnection` takes the same statements and the same calls a DuckDB connection
takes (``execute(sql, parameters)`` then ``.df()``, ``.fetchall()``, ``.fetchone()``,
``.to_arrow_table()``; ``register``/``unregister`` of pandas frames) and:

1. binds the ``?`` parameters as SQL literals;
2. translates the statement to Spark SQL with sqlglot (which comes with Splink), so DuckDB's
   ``QUALIFY``, ``arg_max``, ``struct_pack``, ``date_diff``, ``//`` and null ordering become
   their Spark equivalents without a second copy of any definition;
3. runs it: a ``SELECT`` lazily (a result is computed when read); ``CREATE TEMP VIEW`` as a
   temporary view; ``CREATE TEMP TABLE`` as a temporary view that is cached, as DuckDB would
   hold the table.

Anything else (``INSERT``, ``BEGIN``...) is refused: the Spark engine writes only through
:meth:`SparkConnection.commit` (:class:`risk_model.spark.lake.Lake`). A statement Spark rejects
raises :class:`risk_model.engine.SqlError` with Spark's message and the translated SQL.

The lake's tables (:meth:`risk_model.spark.lake.Lake.locations`) are temporary views of the
same names, so the SQL reads ``gp_registrations`` on either engine.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlglot
from sqlglot import exp

from risk_model.config import Workspace
from risk_model.engine import SqlError
from risk_model.spark.lake import Lake, Write, lake_locations
from risk_model.spark.session import spark_session

__all__ = ["SparkConnection", "spark_ddl", "to_spark_sql"]

log = logging.getLogger(__name__)


def _literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return exp.Literal.string(str(value))


def _python(value: Any) -> Any:
    """A pandas or NumPy scalar as the plain Python value Spark takes (missing: ``None``)."""
    if isinstance(value, list | tuple | dict):
        return value
    if isinstance(value, np.ndarray):
        return value.tolist()
    if pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _parse(sql: str, parameters: Sequence[Any] | None) -> exp.Expression:
    tree = sqlglot.parse_one(sql, read="duckdb")
    if parameters:
        values = iter(parameters)
        tree = tree.transform(
            lambda node: _literal(next(values)) if isinstance(node, exp.Placeholder) else node)
    return tree


def to_spark_sql(sql: str, parameters: Sequence[Any] | None = None) -> str:
    """Translate one DuckDB statement to Spark SQL (``?`` parameters bound as literals).

    Parameters
    ----------
    sql : str
        A statement in DuckDB's dialect.
    parameters : sequence, optional
        Values for its ``?`` placeholders, in order.

    Returns
    -------
    str
        The statement in Spark SQL.

    Examples
    --------
    >>> to_spark_sql("SELECT arg_max(a, b) FROM t WHERE d < ?", [date(2025, 3, 31)])
    "SELECT MAX_BY(a, b) FROM t WHERE d < CAST('2025-03-31' AS DATE)"
    """
    return _parse(sql, parameters).sql(dialect="spark")


def spark_ddl(columns: str) -> str:
    """Translate DuckDB column definitions (``"a VARCHAR, b VARCHAR[]"``) to a Spark schema.

    Examples
    --------
    >>> spark_ddl("month VARCHAR, reasons VARCHAR[], risk DOUBLE")
    'month STRING, reasons ARRAY<STRING>, risk DOUBLE'
    """
    create = sqlglot.parse_one(f"CREATE TABLE t ({columns})", read="duckdb")
    return ", ".join(c.sql(dialect="spark") for c in create.this.expressions)


class _Result:
    """A query's result, computed when read (as DuckDB's relation is)."""

    def __init__(self, frame: Any, sql: str) -> None:
        self.frame = frame
        self.sql = sql

    def _run(self, action: Any) -> Any:
        try:
            return action()
        except Exception as exc:
            raise _error(exc, self.sql) from exc

    def df(self) -> pd.DataFrame:
        """The rows as a pandas frame."""
        return self._run(self.frame.toPandas)

    def to_arrow_table(self) -> Any:
        """The rows as an Arrow table."""
        return self._run(self.frame.toArrow)

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The rows as tuples."""
        return [tuple(r) for r in self._run(self.frame.collect)]

    def fetchone(self) -> tuple[Any, ...] | None:
        """The first row, or ``None``."""
        rows = self._run(lambda: self.frame.take(1))
        return tuple(rows[0]) if rows else None


def _error(exc: Exception, sql: str) -> SqlError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return SqlError(f"Spark could not run a statement: {first}",
                    hint=f"the Spark SQL (translated from DuckDB's) was:\n{sql}")


class SparkConnection:
    """The DuckDB-like connection of the Spark engine (see the module docstring).

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session.
    lake : Lake
        Where the tables are read and written.
    """

    engine = "spark"

    def __init__(self, spark: Any, lake: Lake) -> None:
        self.spark = spark
        self.lake = lake
        self._views: set[str] = set()
        self._cached: dict[str, Any] = {}
        self._tables = lake.locations()
        for name, (path, fmt) in self._tables.items():
            lake.read(path, fmt).createOrReplaceTempView(name)
            self._views.add(name)

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> SparkConnection:
        """Open the Spark engine on a workspace's lake (settings ``engine:``)."""
        settings = workspace.settings().engine
        tables, outputs = lake_locations(workspace, settings)
        spark = spark_session(settings)
        return cls(spark, Lake(spark, tables, outputs, settings.format))

    # --- the DuckDB-like surface -----------------------------------------------------------

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> _Result:
        """Run one DuckDB statement on Spark (see the module docstring).

        Raises
        ------
        SqlError
            If the statement is not a query or a temporary table or view, or Spark rejects it.
        """
        try:
            tree = _parse(sql, parameters)
        except sqlglot.errors.SqlglotError as exc:
            raise SqlError(f"cannot translate a statement to Spark SQL: {exc}",
                           hint=f"the DuckDB SQL was:\n{sql}") from exc
        if isinstance(tree, exp.Create):
            kind = str(tree.args.get("kind") or "").upper()
            temporary = any(isinstance(p, exp.TemporaryProperty)
                            for p in (tree.args.get("properties") or exp.Properties()).expressions)
            query = tree.expression
            if kind in ("TABLE", "VIEW") and (temporary or kind == "VIEW") and query is not None:
                name = tree.this.name if isinstance(tree.this, exp.Table) else \
                    tree.this.this.name
                self._create(name, query.sql(dialect="spark"), cache=kind == "TABLE")
                return _Result(self.spark.sql("SELECT 1 AS ok"), "SELECT 1")
        if not isinstance(tree, exp.Query):
            raise SqlError(f"the Spark engine runs only queries and temporary tables, not "
                           f"{tree.key.upper()}",
                           hint="write outputs with SparkConnection.commit")
        text = tree.sql(dialect="spark")
        try:
            return _Result(self.spark.sql(text), text)
        except Exception as exc:
            raise _error(exc, text) from exc

    def _create(self, name: str, sql: str, *, cache: bool) -> None:
        try:
            frame = self.spark.sql(sql)
        except Exception as exc:
            raise _error(exc, sql) from exc
        old = self._cached.pop(name, None)
        if cache:
            frame = frame.persist()
            self._cached[name] = frame
        frame.createOrReplaceTempView(name)
        if old is not None:
            old.unpersist()
        self._views.add(name)

    def frame(self, frame: pd.DataFrame, schema: str | None = None) -> Any:
        """A pandas frame as a Spark DataFrame (``schema``: Spark DDL, else inferred).

        Missing values become nulls; an empty frame without a schema gets text columns.
        """
        if schema is None and frame.empty:
            schema = ", ".join(f"`{c}` string" for c in frame.columns)
        if schema is None:  # through Arrow
            return self.spark.createDataFrame(frame)
        rows = [[_python(v) for v in row] for row in frame.itertuples(index=False)]
        return self.spark.createDataFrame(rows, schema=schema)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Make a pandas frame a temporary view."""
        self.frame(frame).createOrReplaceTempView(name)
        self._views.add(name)

    def unregister(self, name: str) -> None:
        """Drop a temporary view."""
        self.spark.catalog.dropTempView(name)
        self._views.discard(name)

    def close(self) -> None:
        """Drop this connection's temporary views and cached tables (the session stays)."""
        for frame in self._cached.values():
            frame.unpersist()
        self._cached.clear()
        for name in self._views:
            self.spark.catalog.dropTempView(name)
        self._views.clear()

    # --- what only the Spark engine has ----------------------------------------------------

    def table(self, name: str) -> Any:
        """A table or temporary view as a Spark DataFrame."""
        return self.spark.table(name)

    def sql(self, sql: str, parameters: Sequence[Any] | None = None) -> Any:
        """A DuckDB query translated and run as a Spark DataFrame."""
        return self.execute(sql, parameters).frame

    def table_names(self) -> set[str]:
        """The lake's tables (and any temporary relation made since)."""
        return set(self._tables) | {t.name for t in self.spark.catalog.listTables()
                                    if t.isTemporary}

    def column_names(self, name: str) -> list[str]:
        """A table's columns, in order."""
        return list(self.spark.table(name).columns)

    def commit(self, writes: Sequence[Write], *, drop: Sequence[str] = ()) -> None:
        """Write output tables all or nothing (:meth:`Lake.commit`), then see them as tables."""
        self.lake.commit(writes, drop=drop)
        self._tables = self.lake.locations()
        for name in {w.table for w in writes} | set(drop):
            if name in self._tables:
                path, fmt = self._tables[name]
                self.lake.read(path, fmt).createOrReplaceTempView(name)
                self._views.add(name)
            elif name in self._views:
                self.unregister(name)
