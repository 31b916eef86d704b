"""The SparkSession the Spark engine runs on, configured from the workspace's ``engine:`` settings.

Under ``spark-submit`` (or on a platform that made a session: Databricks, a secure data
environment's notebook) the active session is used as it is: its master and resources are the
platform's; under ``spark-submit`` a session is built on the master and jars it was given.
Otherwise one is built with the settings' ``master`` (default ``local[*]``). Either way the
session gets what the steps rely on:

- Splink's similarity jar (``scala-udf-similarity-*_spark4.jar``, bundled with Splink), on
  ``spark.jars`` when the session is built here (on a cluster, pass it with ``--jars``:
  :func:`similarity_jar` gives its path);
- dates and timestamps in UTC, Arrow for pandas conversions.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from risk_model.config import Engine

__all__ = ["BASE_CONF", "similarity_jar", "spark_session"]

log = logging.getLogger(__name__)

#: Spark settings every session gets (the workspace's ``engine.conf`` can override them).
BASE_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # the steps are many small SQL statements: adaptive execution merges their partitions
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
    # partition folders (month=2025-03, as_of=2025-03-31) are read as text and typed by the
    # lake (Spark would read "2025-03" as a date, the first of the month)
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}


def similarity_jar() -> str:
    """Return the path of Splink's similarity-function jar for the installed Spark version."""
    from splink.backends.spark import similarity_jar_location

    return str(similarity_jar_location())


def spark_session(engine: Engine) -> Any:
    """Return the active SparkSession, or build one from the settings.

    Parameters
    ----------
    engine : Engine
        The workspace's ``engine:`` settings (``master``, ``conf``).

    Returns
    -------
    pyspark.sql.SparkSession
        The session.
    """
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        builder = SparkSession.builder.appName("risk_model")
        conf = dict(BASE_CONF)
        submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit set master and jars
        master = engine.master or (None if submitted else "local[*]")
        if master is not None:
            builder = builder.master(master)
        if not submitted:
            conf["spark.jars"] = similarity_jar()
        if (master or "").startswith("local"):  # the Python workers: this interpreter
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        conf.update(engine.conf)
        for key, value in conf.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        log.debug("spark: built a session on %s", session.sparkContext.master)
    else:
        for key, value in {**BASE_CONF, **engine.conf}.items():
            if session.conf.isModifiable(key):  # runtime settings; the others are the platform's
                session.conf.set(key, value)
    return session
