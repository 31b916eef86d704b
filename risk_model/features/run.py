"""``risk-model features``: build as-of snapshots and outcome labels into the warehouse.

For each as-of date: the snapshot (:mod:`risk_model.features.snapshot`) and the labels of every
model spec's outcome (:mod:`risk_model.features.outcomes`) are built on temporary tables, then
all dates are written in one transaction to ``feature_snapshots`` (one row per person per
as-of date), ``outcome_labels`` and ``feature_runs``. A failure leaves the warehouse as it was.

Each run reports, per date, the rows, the share of missing ("not known") values per feature and
the coverage of every housing feature by tenure (missing housing data is itself unequal), and
the label counts per model, with small numbers suppressed under the workspace's rule
(:func:`risk_model.disclosure.rule_for`; recorded as ``suppression``). The reports go to
``reports/features.json`` and ``reports/features/<as_of>.json``, the data dictionary to
``reports/data_dictionary.{md,html}``, and everything to an MLflow run (experiment
``features``).

With the Spark engine (``engine="spark"``, ``--engine spark``) the same SQL runs on Spark
(:class:`risk_model.spark.SparkConnection`) and the tables go to the lake's outputs instead,
all or nothing: ``feature_snapshots/as_of=<date>/``, ``outcome_labels/as_of=<date>/`` and
``feature_runs/run_id=<run>/``; the reports and the MLflow run are the same.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from risk_model.config import Workspace
from risk_model.disclosure import SuppressionRule, rule_for, suppress_count, suppressed_rate
from risk_model.engine import SQL_ERRORS, connect, engine_name, is_spark, table_names
from risk_model.errors import ConfigError, DataError, OutputExistsError
from risk_model.features.catalogue import NOT_KNOWN, Catalogue, load_catalogue
from risk_model.features.outcomes import LABELS_TABLE, STATUSES, label_sql
from risk_model.features.population import POPULATION_TABLE
from risk_model.features.snapshot import Snapshot, build_snapshot
from risk_model.modelling.spec import ModelSpec, load_specs

__all__ = ["EXPERIMENT", "RUNS_TABLE", "SNAPSHOTS_TABLE", "FeatureResult", "build_features"]

log = logging.getLogger(__name__)

SNAPSHOTS_TABLE = "feature_snapshots"
RUNS_TABLE = "feature_runs"
EXPERIMENT = "features"
#: Decimal places of the shares in the reports.
_SHARE_DIGITS = 4
_NEEDED = ("gp_registrations", "person_homes", "gazetteer", "lsoa_imd")


@dataclass(frozen=True)
class FeatureResult:
    """What a ``features`` run did.

    Attributes
    ----------
    run_id : str
        The run's id (also in ``feature_runs``).
    snapshots : list of dict
        Per as-of date: rows, features, missingness, coverage by tenure, labels.
    catalogue_digest : str
        The catalogue's SHA-256.
    reports : dict of str to str
        Report files written.
    mlflow_run_id : str
        The MLflow run.
    seconds : float
        Wall time.
    """

    run_id: str
    snapshots: list[dict[str, Any]]
    catalogue_digest: str
    reports: dict[str, str]
    mlflow_run_id: str
    seconds: float
    lag_days: int = 0
    features: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (what ``--json`` prints)."""
        return {"run_id": self.run_id, "catalogue_digest": self.catalogue_digest,
                "lag_days": self.lag_days, "features": len(self.features),
                "snapshots": self.snapshots, "reports": self.reports,
                "mlflow_run_id": self.mlflow_run_id, "seconds": self.seconds}


def _missing_expr(name: str, kind: str, table: str = "") -> str:
    col = f'{table}"{name}"'
    if kind == "category":
        return f"count(*) FILTER (WHERE {col} IS NULL OR {col} = '{NOT_KNOWN}')"
    return f"count(*) FILTER (WHERE {col} IS NULL)"


def _describe(con: duckdb.DuckDBPyConnection, snap: Snapshot,
              rule: SuppressionRule) -> dict[str, Any]:
    """Missingness per feature and coverage of housing features by tenure."""
    feats = snap.features
    exprs = ", ".join(f"{_missing_expr(f.name, f.type)} AS \"{f.name}\"" for f in feats)
    row = con.execute(f"SELECT {exprs} FROM {snap.table}").fetchone()
    missing = {f.name: round(int(n) / snap.rows, 4) if snap.rows else 0.0
               for f, n in zip(feats, row or (), strict=True)}
    housing = [f for f in feats if f.family == "housing" or f.coverage is not None]
    known = "".join(f", count(*) - {_missing_expr(f.name, f.type, 's.')}" for f in housing)
    rows = con.execute(f"""
        SELECT coalesce(lower(p.tenure), '{NOT_KNOWN}'), count(*){known}
        FROM {snap.table} s JOIN {POPULATION_TABLE} p USING (person_id)
        GROUP BY 1 ORDER BY 1""").fetchall()
    coverage: dict[str, dict[str, Any]] = {}
    for tenure, n, *counts in rows:
        for f, k in zip(housing, counts, strict=True):
            coverage.setdefault(f.name, {})[tenure] = suppressed_rate(
                int(k), int(n), rule, digits=_SHARE_DIGITS)
    return {"missing_share": missing, "known_share_by_tenure": coverage,
            "residents_by_tenure": {t: suppress_count(int(n), rule) for t, n, *_ in rows}}


def _labels(con: duckdb.DuckDBPyConnection, catalogue: Catalogue,
            specs: dict[str, ModelSpec], as_of: date, table: str,
            rule: SuppressionRule) -> dict[str, Any]:
    sql = " UNION ALL ".join(f"({label_sql(s, catalogue, as_of)})" for s in specs.values())
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}")
    except SQL_ERRORS as exc:
        raise DataError(f"outcome labels as of {as_of} failed: {exc}",
                        hint="check the outcome `view` and `where` in models/*.yaml") from exc
    rows = con.execute(f"SELECT model, status, count(*) FROM {table} GROUP BY 1, 2").fetchall()
    summary: dict[str, Any] = {}
    for name in specs:
        counts = {s: 0 for s in STATUSES}
        for model, status, n in rows:
            if model == name:
                counts[status] = int(n)
        labelled = counts["event"] + counts["no_event"]
        summary[name] = {
            "cohort": suppress_count(sum(counts.values()), rule),
            "by_status": {s: suppress_count(n, rule) for s, n in counts.items()},
            "event_rate": suppressed_rate(counts["event"], labelled, rule,
                                          digits=_SHARE_DIGITS),
        }
    return summary


def _check_ready(con: duckdb.DuckDBPyConnection, workspace: Workspace, dates: list[date],
                 digest: str, *, overwrite: bool) -> bool:
    """Refuse to overwrite; return True when existing snapshots must be dropped first."""
    tables = table_names(con)
    missing = [t for t in _NEEDED if t not in tables]
    if missing:
        hint = ("run `risk-model link` first" if "person_homes" in missing
                else "run `risk-model ingest` and `risk-model link` first")
        where = con.lake.tables if is_spark(con) else workspace.warehouse
        raise DataError(f"the warehouse {where} has no {', '.join(missing)}", hint=hint)
    if RUNS_TABLE not in tables:
        return False
    built = con.execute(f"SELECT CAST(as_of AS DATE), catalogue_digest FROM {RUNS_TABLE} "
                        f"QUALIFY row_number() OVER (PARTITION BY as_of ORDER BY built_at DESC) "
                        f"= 1").fetchall()
    stale = sorted(str(d) for d, dg in built if dg != digest)
    if stale and not overwrite:
        raise OutputExistsError(
            f"the feature catalogue changed since the snapshots as of {', '.join(stale)} were "
            "built, so they no longer fit one table",
            hint="pass --overwrite to rebuild: the old snapshots are dropped")
    again = sorted(str(d) for d, _ in built if d in set(dates))
    if again and not overwrite:
        raise OutputExistsError(f"snapshots as of {', '.join(again)} already exist",
                                hint="pass --overwrite to replace them")
    return bool(stale)


def _write(con: duckdb.DuckDBPyConnection, built: list[tuple[Snapshot, str]],
           runs: list[dict[str, Any]], *, drop_old: bool) -> None:
    if is_spark(con):
        _write_lake(con, built, runs, drop_old=drop_old)
        return
    con.execute("BEGIN TRANSACTION")
    try:
        if drop_old:
            for table in (SNAPSHOTS_TABLE, LABELS_TABLE, RUNS_TABLE):
                con.execute(f"DROP TABLE IF EXISTS {table}")
        first, first_labels = built[0]
        con.execute(f"CREATE TABLE IF NOT EXISTS {SNAPSHOTS_TABLE} AS "
                    f"SELECT * FROM {first.table} WHERE false")
        con.execute(f"CREATE TABLE IF NOT EXISTS {LABELS_TABLE} AS "
                    f"SELECT * FROM {first_labels} WHERE false")
        con.execute(f"""CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
            run_id VARCHAR, as_of DATE, cutoff DATE, lag_days INTEGER, rows BIGINT,
            features INTEGER, catalogue_digest VARCHAR, built_at TIMESTAMP, summary VARCHAR)""")
        for snap, labels in built:
            con.execute(f"DELETE FROM {SNAPSHOTS_TABLE} WHERE as_of = ?", [snap.as_of])
            con.execute(f"INSERT INTO {SNAPSHOTS_TABLE} BY NAME SELECT * FROM {snap.table}")
            con.execute(f"DELETE FROM {LABELS_TABLE} WHERE as_of = ?", [snap.as_of])
            con.execute(f"INSERT INTO {LABELS_TABLE} BY NAME SELECT * FROM {labels}")
        for run in runs:
            con.execute(f"INSERT INTO {RUNS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [run["run_id"], run["as_of"], run["cutoff"], run["lag_days"],
                         run["rows"], run["features"], run["catalogue_digest"],
                         run["built_at"], json.dumps(run["summary"])])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _write_lake(con: Any, built: list[tuple[Snapshot, str]], runs: list[dict[str, Any]], *,
                drop_old: bool) -> None:
    """The Spark engine's :func:`_write`: each date's partitions and the run, all or nothing."""
    import pandas as pd

    from risk_model.spark import Write

    writes = []
    for snap, labels in built:
        day = snap.as_of.isoformat()
        writes.append(Write(SNAPSHOTS_TABLE, con.table(snap.table), ("as_of", day)))
        writes.append(Write(LABELS_TABLE, con.table(labels), ("as_of", day)))
    frame = pd.DataFrame([{**run, "summary": json.dumps(run["summary"])} for run in runs])
    schema = ("run_id string, as_of date, cutoff date, lag_days int, rows bigint, features int, "
              "catalogue_digest string, built_at timestamp, summary string")
    writes.append(Write(RUNS_TABLE, con.frame(frame, schema), ("run_id", runs[0]["run_id"])))
    con.commit(writes, drop=(SNAPSHOTS_TABLE, LABELS_TABLE, RUNS_TABLE) if drop_old else ())


def build_features(workspace: Workspace, as_of: Sequence[date], *, lag_days: int = 0,
                   overwrite: bool = False, catalogue: Catalogue | None = None,
                   specs: dict[str, ModelSpec] | None = None,
                   progress: Callable[[str], None] | None = None,
                   engine: str | None = None) -> FeatureResult:
    """Build snapshots and outcome labels for as-of dates and write them to the warehouse.

    Parameters
    ----------
    workspace : Workspace
        The workspace; its warehouse must have been ingested and linked.
    as_of : sequence of datetime.date
        The as-of dates (at least one).
    lag_days : int, optional
        Recording lag: events in the last ``lag_days`` days before each date are not used.
    overwrite : bool, optional
        Replace snapshots of the same dates (and drop all snapshots if the catalogue changed).
    catalogue : Catalogue, optional
        Default: :func:`load_catalogue` (``features/``).
    specs : dict of str to ModelSpec, optional
        Default: :func:`load_specs` (``models/``).
    progress : callable, optional
        Called with a short message at each stage.
    engine : {"duckdb", "spark"}, optional
        Where the SQL runs and the tables go (default: the workspace's ``engine`` setting).

    Returns
    -------
    FeatureResult
        What was built.

    Raises
    ------
    OutputExistsError
        If a date was built before, or the catalogue changed, and ``overwrite`` is false.
    DataError
        If the warehouse is not ready or a definition fails on it.
    ConfigError
        If no date is given, the workspace's ``settings.yaml`` is not valid, or Spark is
        asked for and not installed.
    """
    t0 = time.perf_counter()
    note = progress or (lambda message: log.debug("features: %s", message))
    dates = sorted(set(as_of))
    if not dates:
        raise ConfigError("give at least one as-of date", hint="--as-of YYYY-MM-DD")
    engine = engine_name(workspace, engine)
    if engine == "duckdb" and not workspace.warehouse.exists():
        raise DataError(f"no warehouse at {workspace.warehouse}",
                        hint="run `risk-model ingest` and `risk-model link` first")
    rule = rule_for(workspace)
    catalogue = catalogue or load_catalogue()
    specs = specs if specs is not None else load_specs()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    built_at = datetime.now(UTC).replace(tzinfo=None)

    summaries: list[dict[str, Any]] = []
    with connect(workspace, engine) as con:
        drop_old = _check_ready(con, workspace, dates, catalogue.digest, overwrite=overwrite)
        built: list[tuple[Snapshot, str]] = []
        runs: list[dict[str, Any]] = []
        for i, day in enumerate(dates):
            note(f"snapshot as of {day}")
            started = time.perf_counter()
            snap = build_snapshot(con, catalogue, day, lag_days=lag_days,
                                  table=f"snapshot_{i}")
            note(f"outcome labels as of {day}")
            labels = _labels(con, catalogue, specs, day, f"labels_{i}", rule)
            summary = {"as_of": day.isoformat(), "cutoff": snap.cutoff.isoformat(),
                       "rows": snap.rows, "features": len(snap.features),
                       **_describe(con, snap, rule), "labels": labels,
                       "seconds": round(time.perf_counter() - started, 2)}
            summaries.append(summary)
            built.append((snap, f"labels_{i}"))
            runs.append({"run_id": run_id, "as_of": day, "cutoff": snap.cutoff,
                         "lag_days": lag_days, "rows": snap.rows,
                         "features": len(snap.features), "catalogue_digest": catalogue.digest,
                         "built_at": built_at, "summary": summary})
        feature_names = [f.name for f in built[0][0].features]

        with workspace.staging("features") as stage:
            note("writing reports")
            reports = _reports(workspace, stage, run_id, catalogue, summaries, lag_days, rule)
            note("logging the run to MLflow")
            mlflow_run_id = _track(workspace, run_id, catalogue, specs, summaries, lag_days,
                                   stage)
            note("writing the snapshots")
            _write(con, built, runs, drop_old=drop_old)
            for staged, target in reports.values():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, target)

    return FeatureResult(run_id=run_id, snapshots=summaries, catalogue_digest=catalogue.digest,
                         reports={k: str(t) for k, (_, t) in reports.items()},
                         mlflow_run_id=mlflow_run_id, seconds=round(time.perf_counter() - t0, 2),
                         lag_days=lag_days, features=feature_names)


def _reports(workspace: Workspace, stage: Path, run_id: str, catalogue: Catalogue,
             summaries: list[dict[str, Any]], lag_days: int,
             rule: SuppressionRule) -> dict[str, tuple[Path, Path]]:
    from risk_model.features.dictionary import dictionary_html, dictionary_markdown

    suppression = rule.to_dict()
    run = {"run_id": run_id, "catalogue_digest": catalogue.digest, "lag_days": lag_days,
           "suppression": suppression, "snapshots": summaries}
    out: dict[str, tuple[Path, Path]] = {}

    def put(name: str, target: Path, text: str) -> None:
        staged = stage / f"{name}{target.suffix}"
        staged.write_text(text, encoding="utf-8")
        out[name] = (staged, target)

    put("summary", workspace.reports / "features.json", json.dumps(run, indent=2))
    for s in summaries:
        put(f"as_of_{s['as_of']}", workspace.reports / "features" / f"{s['as_of']}.json",
            json.dumps({"run_id": run_id, "catalogue_digest": catalogue.digest,
                        "suppression": suppression, **s}, indent=2))
    put("dictionary_md", workspace.reports / "data_dictionary.md",
        dictionary_markdown(catalogue))
    put("dictionary_html", workspace.reports / "data_dictionary.html",
        dictionary_html(catalogue))
    return out


def _track(workspace: Workspace, run_id: str, catalogue: Catalogue,
           specs: dict[str, ModelSpec], summaries: list[dict[str, Any]], lag_days: int,
           stage: Path) -> str:
    from risk_model.tracking import start_run

    with start_run(workspace, EXPERIMENT, run_name=run_id,
                   tags={"risk_model.step": "features"}) as run:
        run.log_params({"as_of": ",".join(s["as_of"] for s in summaries),
                        "lag_days": lag_days, "catalogue_digest": catalogue.digest,
                        "features": len(catalogue.features), "models": ",".join(specs)})
        for s in summaries:
            key = s["as_of"]
            run.log_metrics({f"rows.{key}": s["rows"], f"seconds.{key}": s["seconds"],
                             f"missing_share.{key}": s["missing_share"]})
        run.log_dict({"run_id": run_id, "snapshots": summaries}, "features/summary.json")
        run.log_dict(catalogue.as_dict(), "features/catalogue.json")
        run.log_artifact(stage / "dictionary_html.html", "features")
        return run.run_id
