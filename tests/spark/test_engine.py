"""Choosing the engine, and the translation of DuckDB SQL to Spark SQL (no session needed)."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import pytest

from risk_model.config import Workspace
from risk_model.engine import SPARK_INSTALL, connect, engine_name
from risk_model.errors import ConfigError


def test_asking_for_spark_without_pyspark_says_what_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pyspark" else real(name, *a))
    ws = Workspace.at(tmp_path)
    with pytest.raises(ConfigError) as caught, connect(ws, "spark"):
        pass
    assert caught.value.message == "the Spark engine needs PySpark, which is not installed"
    assert SPARK_INSTALL in (caught.value.hint or "")
    assert SPARK_INSTALL == 'pip install "risk_model[spark]"'


def test_the_engine_comes_from_the_option_else_the_settings(tmp_path: Path) -> None:
    ws = Workspace.at(tmp_path)
    assert engine_name(ws) == "duckdb"
    ws.settings_file.write_text("engine: {name: spark}\n")
    assert engine_name(ws) == "spark"
    assert engine_name(ws, "duckdb") == "duckdb"
    with pytest.raises(ConfigError, match="--engine must be one of duckdb, spark"):
        engine_name(ws, "polars")
    ws.settings_file.write_text("engine: {name: spark, threads: 4}\n")
    with pytest.raises(ConfigError, match="threads"):
        engine_name(ws)


def test_duckdb_sql_is_translated_not_rewritten() -> None:
    from risk_model.spark.connection import spark_ddl, to_spark_sql

    sql = to_spark_sql(
        "SELECT arg_max(v, struct_pack(k0 := d, k1 := i)) FILTER (WHERE d >= ? - INTERVAL 12 "
        "MONTH) AS latest, date_diff('day', CAST(max(d) AS DATE), ?) AS days FROM t "
        "QUALIFY row_number() OVER (PARTITION BY k ORDER BY d) = 1",
        [date(2025, 3, 31), date(2025, 3, 31)])
    assert "MAX_BY(v, STRUCT(d AS k0, i AS k1)) FILTER(WHERE" in sql
    assert "CAST('2025-03-31' AS DATE) - INTERVAL '12' MONTH" in sql
    assert "QUALIFY" not in sql  # Spark has none: a subquery instead
    assert spark_ddl("a VARCHAR[], b BIGINT") == "a ARRAY<STRING>, b BIGINT"
