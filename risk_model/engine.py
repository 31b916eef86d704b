"""The engine the heavy steps run on: DuckDB (embedded, the default) or Spark.

``link``, ``features`` and ``score`` hold their logic once and talk to a *connection*: a DuckDB
connection to the warehouse file, or a :class:`risk_model.spark.SparkConnection`, which takes
the same DuckDB SQL, translates it to Spark SQL with sqlglot and runs it on the tables of a
Parquet (or Delta) folder. This module is the one place that chooses between them:

- :func:`engine_name`: ``--engine`` if given, else the workspace's ``engine.name`` setting;
- :func:`connect`: the connection of a workspace for an engine (a missing ``pyspark`` is a
  :class:`~risk_model.errors.ConfigError` saying what to install);
- :func:`table_names` and :func:`column_names`: the two catalogue questions whose SQL differs by
  engine;
- :data:`SQL_ERRORS`: what a failing statement raises, on either engine.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from risk_model.config import ENGINES, Workspace
from risk_model.errors import ConfigError, DataError

__all__ = ["ENGINES", "SPARK_INSTALL", "SQL_ERRORS", "SqlError", "column_names", "connect",
           "engine_name", "is_spark", "require_spark", "table_names"]

#: How to get the Spark engine.
SPARK_INSTALL = 'pip install "risk_model[spark]"'


class SqlError(DataError):
    """A statement failed on Spark (the message has Spark's first line, the hint the SQL)."""


#: The exceptions a failing SQL statement raises on either engine.
SQL_ERRORS: tuple[type[BaseException], ...] = (duckdb.Error, SqlError)


def engine_name(workspace: Workspace, engine: str | None = None) -> str:
    """Return the engine to use: ``engine`` if given, else the workspace's setting.

    Parameters
    ----------
    workspace : Workspace
        The workspace (its ``settings.yaml`` may set ``engine: {name: spark}``).
    engine : str, optional
        ``duckdb`` or ``spark`` (the ``--engine`` option).

    Returns
    -------
    str
        ``duckdb`` or ``spark``.

    Raises
    ------
    ConfigError
        If ``engine`` is not one of them.
    """
    if engine is None:
        return workspace.settings().engine.name
    if engine not in ENGINES:
        raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}",
                          hint="--engine duckdb (the embedded warehouse) or --engine spark")
    return engine


def require_spark() -> None:
    """Check that PySpark can be imported.

    Raises
    ------
    ConfigError
        If it cannot, with the install command.
    """
    if importlib.util.find_spec("pyspark") is None:
        raise ConfigError("the Spark engine needs PySpark, which is not installed",
                          hint=f"{SPARK_INSTALL} (Java 17 or 21 must be on the machine), or "
                               "run with --engine duckdb")


def is_spark(con: Any) -> bool:
    """Whether ``con`` is a Spark connection (rather than a DuckDB one)."""
    return getattr(con, "engine", None) == "spark"


@contextmanager
def connect(workspace: Workspace, engine: str | None = None, *,
            read_only: bool = False) -> Iterator[Any]:
    """Open the workspace's warehouse on an engine.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    engine : str, optional
        ``duckdb`` or ``spark``; default from the workspace's settings.
    read_only : bool, optional
        DuckDB: open the file read only. (A Spark connection only ever writes through
        :meth:`risk_model.spark.SparkConnection.commit`.)

    Yields
    ------
    duckdb.DuckDBPyConnection or risk_model.spark.SparkConnection
        The connection; closed (Spark: its temporary views dropped, the session kept) on exit.

    Raises
    ------
    ConfigError
        If Spark is asked for and PySpark is not installed.
    DataError
        DuckDB: if there is no warehouse file.
    """
    name = engine_name(workspace, engine)
    if name == "spark":
        require_spark()
        from risk_model.spark import SparkConnection

        con = SparkConnection.for_workspace(workspace)
        try:
            yield con
        finally:
            con.close()
        return
    if not workspace.warehouse.exists():
        raise DataError(f"no warehouse at {workspace.warehouse}",
                        hint="run `risk-model ingest` first")
    with duckdb.connect(str(workspace.warehouse), read_only=read_only) as duck:
        yield duck


def table_names(con: Any) -> set[str]:
    """Return the names of the tables (and Spark's lake tables) a connection sees."""
    if is_spark(con):
        return set(con.table_names())
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def column_names(con: Any, table: str) -> list[str]:
    """Return the columns of a table (or temporary table), in order."""
    if is_spark(con):
        return list(con.column_names(table))
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position", [table]).fetchall()]
