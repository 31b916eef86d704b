"""The Spark engine: the same link, features and score steps on PySpark.

Needs ``pip install "risk_model[spark]"``; :func:`risk_model.engine.connect` checks that first
and says so when it is missing. What is here:

- :mod:`~risk_model.spark.session`: the SparkSession (the platform's under ``spark-submit``,
  else one built from the workspace's ``engine:`` settings) with Splink's similarity jar;
- :mod:`~risk_model.spark.lake`: the tables as Parquet folders, all-or-nothing writes, and
  :func:`~risk_model.spark.lake.export_warehouse` to move a DuckDB warehouse onto Spark;
- :mod:`~risk_model.spark.connection`: :class:`SparkConnection`, which runs the steps' DuckDB
  SQL on Spark SQL, translated by sqlglot;
- :mod:`~risk_model.spark.linkage`: Splink's Spark backend with the same settings and
  parameters as the DuckDB path;
- :mod:`~risk_model.spark.scoring`: the month's predictions through
  ``mlflow.pyfunc.spark_udf``, and attributable risk, reasons and drift counts computed in the
  executors by the same functions as the DuckDB path.

How to run the monthly job on a cluster: ``docs/spark.md``.
"""

from __future__ import annotations

from risk_model.spark.connection import SparkConnection, to_spark_sql
from risk_model.spark.lake import Lake, Write, export_warehouse
from risk_model.spark.session import similarity_jar, spark_session

__all__ = ["Lake", "SparkConnection", "Write", "export_warehouse", "similarity_jar",
           "spark_session", "to_spark_sql"]
