"""The Spark engine's warehouse: a folder of tables, and all-or-nothing writes into it.

A *lake* is two locations (paths or URIs that Hadoop's file systems understand: local,
``hdfs://``, ``s3a://``, ``abfss://``), from the workspace's ``engine:`` settings:

- ``tables``: the input tables, one folder per warehouse table (``gp_registrations/``,
  ``hes_apc/``...), in Parquet or Delta;
- ``outputs``: the tables the steps write (Parquet), one folder each; a table written month by
  month or date by date keeps one sub-folder per value (``scores/month=2025-03/``,
  ``feature_snapshots/as_of=2025-03-31/``), so a month is replaced without rewriting the
  others. Both default to ``<workspace>/lake``.

A table in ``outputs`` hides one of the same name in ``tables``.

:meth:`Lake.commit` writes a step's tables all or nothing: every table is first written in full
under ``outputs/_staging/<token>/``; only then is each moved into place (the one it replaces set
aside), and if any move fails the moves already made are undone. A failed run leaves the
previous tables as they were. (On object stores a "move" is a copy: the window in which a
reader could see a mix is longer there, the outcome is the same.)

:func:`export_warehouse` copies a DuckDB warehouse's tables into a lake, for moving an embedded
workspace onto Spark (and for the tests and the benchmark that compare the two engines).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from risk_model.config import Engine, Workspace
from risk_model.errors import DataError

__all__ = ["PARTITIONED", "Lake", "Write", "export_warehouse", "lake_locations"]

log = logging.getLogger(__name__)

_STAGING = "_staging"

_PARTITION_TYPES = {"as_of": "date", "month": "string", "run_id": "string"}

#: The output tables written a partition at a time, and the column each is partitioned by.
PARTITIONED = {"feature_snapshots": "as_of", "outcome_labels": "as_of", "feature_runs": "run_id",
               "scores": "month", "lists": "month", "list_leavers": "month",
               "scoring_runs": "month", "resident_reasons": "month", "linkage_runs": "run_id"}


def lake_locations(workspace: Workspace, engine: Engine) -> tuple[str, str]:
    """Return the ``tables`` and ``outputs`` locations of a workspace (defaults filled in)."""
    tables = engine.tables or str(workspace.root / "lake")
    return tables, engine.outputs or tables


@dataclass(frozen=True)
class Write:
    """One table (or one partition of it) a step writes.

    Attributes
    ----------
    table : str
        The output table.
    frame : pyspark.sql.DataFrame
        Its rows.
    partition : (str, str), optional
        ``(column, value)``: replace only that partition (``("month", "2025-03")``); the
        column is not stored in the files (Spark reads it back from the folder name).
    """

    table: str
    frame: Any
    partition: tuple[str, str] | None = None


class Lake:
    """The input and output locations of the Spark engine.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session.
    tables, outputs : str
        The two locations (see the module docstring).
    fmt : {"parquet", "delta"}
        The format of the input tables (outputs are Parquet).
    """

    def __init__(self, spark: Any, tables: str, outputs: str, fmt: str = "parquet") -> None:
        self.spark = spark
        self.tables = tables.rstrip("/")
        self.outputs = outputs.rstrip("/")
        self.fmt = fmt
        jvm = spark.sparkContext._jvm
        self._hpath = jvm.org.apache.hadoop.fs.Path
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    # --- file system -----------------------------------------------------------------------

    def _fs(self, path: str) -> Any:
        return self._hpath(path).getFileSystem(self._conf)

    def exists(self, path: str) -> bool:
        """Whether a path exists."""
        return bool(self._fs(path).exists(self._hpath(path)))

    def _children(self, path: str) -> list[str]:
        if not self.exists(path):
            return []
        return [str(s.getPath().getName()) for s in self._fs(path).listStatus(self._hpath(path))
                if s.isDirectory()]

    def _has_files(self, path: str) -> bool:
        fs = self._fs(path)
        files = fs.listFiles(self._hpath(path), True)
        while files.hasNext():
            name = str(files.next().getPath().getName())
            if not name.startswith(("_", ".")):
                return True
        return False

    def _move(self, source: str, target: str) -> None:
        fs = self._fs(target)
        parent = self._hpath(target).getParent()
        if parent is not None and not fs.exists(parent):
            fs.mkdirs(parent)
        if not fs.rename(self._hpath(source), self._hpath(target)):
            raise DataError(f"could not move {source} to {target}",
                            hint="check the outputs location is writable")

    def delete(self, path: str) -> None:
        """Delete a folder and everything in it (nothing if it does not exist)."""
        if self.exists(path):
            self._fs(path).delete(self._hpath(path), True)

    # --- tables ----------------------------------------------------------------------------

    def locations(self) -> dict[str, tuple[str, str]]:
        """Each table's folder and format (``outputs`` first), tables without files left out."""
        found: dict[str, tuple[str, str]] = {}
        for base, fmt in ((self.outputs, "parquet"), (self.tables, self.fmt)):
            for name in self._children(base):
                if name.startswith(("_", ".")) or name in found:
                    continue
                path = f"{base}/{name}"
                if self._has_files(path):
                    found[name] = (path, fmt)
        return found

    def read(self, path: str, fmt: str = "parquet") -> Any:
        """Read a table folder (partition folders become columns, typed)."""
        frame = self.spark.read.format(fmt).load(path)
        column = PARTITIONED.get(path.rstrip("/").rsplit("/", 1)[-1])
        if column in frame.columns and column in _PARTITION_TYPES:
            frame = frame.withColumn(column, frame[column].cast(_PARTITION_TYPES[column]))
        return frame

    def commit(self, writes: Sequence[Write], *, drop: Sequence[str] = ()) -> None:
        """Write tables all or nothing (see the module docstring).

        Parameters
        ----------
        writes : sequence of Write
            The tables or partitions to replace.
        drop : sequence of str
            Output tables to remove entirely first (all their partitions).

        Raises
        ------
        DataError
            If a table cannot be written or moved into place; the outputs are then as before.
        """
        token = uuid.uuid4().hex[:12]
        stage = f"{self.outputs}/{_STAGING}/{token}"
        moved: list[tuple[str, str | None]] = []  # (target, where the old one was set aside)
        try:
            staged = []
            for i, write in enumerate(writes):
                path = f"{stage}/new-{i}"
                frame = write.frame.drop(write.partition[0]) if write.partition else write.frame
                frame.write.mode("error").parquet(path)
                staged.append(path)
            for i, name in enumerate(drop):
                target = f"{self.outputs}/{name}"
                if self.exists(target):
                    aside = f"{stage}/dropped-{i}"
                    self._move(target, aside)
                    moved.append((target, aside))
            for i, (write, path) in enumerate(zip(writes, staged, strict=True)):
                target = f"{self.outputs}/{write.table}"
                if write.partition:
                    target += f"/{write.partition[0]}={write.partition[1]}"
                aside = None
                if self.exists(target):
                    aside = f"{stage}/old-{i}"
                    self._move(target, aside)
                moved.append((target, aside))
                self._move(path, target)
        except BaseException:
            for target, aside in reversed(moved):
                self.delete(target)  # what was moved in (nothing, for a dropped table)
                if aside is not None:
                    self._move(aside, target)
            self.delete(stage)
            raise
        self.delete(stage)
        log.debug("lake: %d table(s) written to %s", len(writes), self.outputs)


def export_warehouse(warehouse: Path, location: str,
                     tables: Sequence[str] | None = None) -> list[str]:
    """Copy a DuckDB warehouse's tables into a lake folder, one Parquet folder per table.

    Parameters
    ----------
    warehouse : pathlib.Path
        The DuckDB file (opened read only).
    location : str
        A local folder (the lake's ``tables``); each table goes to
        ``<location>/<table>/``, replacing what was there, in one Parquet file or, for the
        tables in :data:`PARTITIONED`, one folder per value of its partition column.
    tables : sequence of str, optional
        Which tables (default all).

    Returns
    -------
    list of str
        The tables copied.
    """
    import shutil

    import duckdb

    root = Path(location)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        chosen = [n for n in names if tables is None or n in tables]
        for name in chosen:
            folder = root / name
            staged = root / f".{name}.{uuid.uuid4().hex[:6]}"
            staged.mkdir(parents=True)
            if name in PARTITIONED:
                target = str(staged).replace("'", "''")
                con.execute(f'COPY (SELECT * FROM "{name}") TO \'{target}\' '
                            f"(FORMAT PARQUET, PARTITION_BY ({PARTITIONED[name]}), "
                            "OVERWRITE_OR_IGNORE)")
            else:
                target = str(staged / "data.parquet").replace("'", "''")
                con.execute(f'COPY (SELECT * FROM "{name}") TO \'{target}\' (FORMAT PARQUET)')
            if folder.exists():
                shutil.rmtree(folder)
            staged.rename(folder)
    return chosen
