"""Fixtures for the Spark engine's tests: one local SparkSession, and lakes made from workspaces.

Every test here compares the Spark engine with the DuckDB path on the same synthetic workspace
(the shared ``champion`` area: 4,000 residents, linked, featured and with a promoted model).
The session runs in local mode (``local[2]``) with two shuffle partitions, so the whole group
takes a few minutes; it is marked ``spark`` (``pytest -m spark`` runs only it, ``-m "not
spark"`` leaves it out) and runs in CI, where the ``dev`` extra installs PySpark.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from risk_model.config import Workspace
from risk_model.spark.lake import export_warehouse
from tests.scoring.conftest import scoring_copy

#: The tests' Spark settings (also written to each test workspace's settings.yaml).
SPARK_SETTINGS = {"name": "spark", "master": "local[2]",
                  "conf": {"spark.sql.shuffle.partitions": "2",
                           "spark.default.parallelism": "2",
                           "spark.driver.memory": "1g"}}


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The one local SparkSession of the test session."""
    from risk_model.config import Engine
    from risk_model.spark import spark_session

    session = spark_session(Engine.model_validate(SPARK_SETTINGS))
    yield session
    session.stop()


def lake_copy(ws: Workspace, root: Path) -> Workspace:
    """A copy of a workspace set to the Spark engine, its warehouse exported to ``lake/``."""
    copy = scoring_copy(ws, root)
    settings = {"engine": SPARK_SETTINGS}
    copy.settings_file.write_text(json.dumps(settings), encoding="utf-8")  # YAML reads JSON
    export_warehouse(copy.warehouse, str(copy.root / "lake"))
    return copy


def read_duckdb(ws: Workspace, sql: str) -> Any:
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        return con.execute(sql).df()


def read_lake(spark: Any, ws: Workspace, table: str) -> Any:
    """A lake table as pandas (partition folders typed as the lake types them)."""
    from risk_model.spark.lake import Lake

    lake = Lake(spark, str(ws.root / "lake"), str(ws.root / "lake"))
    return lake.read(str(ws.root / "lake" / table)).toPandas()
