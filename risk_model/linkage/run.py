"""``risk-model link``: link the pseudonymised warehouse, measure the links, record the run.

Reads only warehouse tables (pseudonyms, coarsened dates, UPRNs); never the landing zone. Writes,
in one DuckDB transaction, so a failure leaves the previous linkage in place:

- :data:`LINKS_TABLE`: resident pseudonym, health person (NHS-number pseudonym), method, match
  probability and weight, and the model version (this run's id);
- :data:`QUEUE_TABLE`: the clerical-review queue (pairs and the evidence, no identifiers);
- :data:`CANDIDATES_TABLE`: every candidate pair from the review probability up;
- :data:`OUTCOMES_TABLE`: what happened to each housing resident;
- :data:`~risk_model.linkage.residence.HOMES_TABLE`: each person's homes over time;
- :data:`RUNS_TABLE`: the run, its settings and the Splink model (settings and estimated
  parameters), so the same linkage can be repeated with ``--model``.

Then the linkage report (``reports/linkage.json`` and ``.html``, plus a copy per run under
``reports/linkage/``) and an MLflow run in the ``linkage`` experiment. Its group tables are
suppressed under the workspace's small-number rule (:func:`risk_model.disclosure.rule_for`).

On the Spark engine (``engine="spark"``) the same steps read the lake's tables, Splink scores
the pairs on Spark, and the same tables are written to the lake's outputs, all or nothing
(:meth:`risk_model.spark.SparkConnection.commit`; ``linkage_runs`` one folder per run).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from risk_model.config import Workspace
from risk_model.disclosure import SuppressionRule, rule_for
from risk_model.engine import connect, engine_name, is_spark, table_names
from risk_model.errors import DataError, OutputExistsError
from risk_model.linkage.person import LinkageSettings, link_persons, model_json
from risk_model.linkage.quality import link_rates, quality_against_truth
from risk_model.linkage.report import charts, render_html, render_json
from risk_model.linkage.residence import HOMES_TABLE, build_homes, homes_sql

__all__ = ["CANDIDATES_TABLE", "LINKS_TABLE", "OUTCOMES_TABLE", "QUEUE_TABLE", "RUNS_TABLE",
           "LinkResult", "link"]

log = logging.getLogger(__name__)

LINKS_TABLE = "person_links"
QUEUE_TABLE = "link_review_queue"
CANDIDATES_TABLE = "link_candidates"
OUTCOMES_TABLE = "link_resident_outcomes"
RUNS_TABLE = "linkage_runs"
EXPERIMENT = "linkage"
_NEEDED = ("housing_residents", "tenancies", "gazetteer", "gp_registrations")


@dataclass
class LinkResult:
    """What a linkage run did (the ``--json`` summary is :meth:`to_dict`)."""

    run_id: str
    summary: dict[str, Any]
    reports: dict[str, str]
    mlflow_run_id: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Return the summary for ``--json``."""
        person = self.summary["person_linkage"]
        return {
            "run_id": self.run_id,
            "counts_by_method": person["counts_by_method"],
            "counts": person["counts"],
            "person_linkage": self.summary.get("person_quality_vs_truth"),
            "nhs_agreement": person["nhs_agreement"],
            "link_rates": {k: v for k, v in self.summary["link_rates"].items()
                           if k != "by_group"},
            "address_matching": self.summary.get("address_matching"),
            "address_matching_vs_truth": self.summary.get("address_matching_vs_truth"),
            "reports": self.reports,
            "mlflow_run_id": self.mlflow_run_id,
            "seconds": self.seconds,
        }


def link(workspace: Workspace, *, settings: LinkageSettings | None = None,
         model: Path | None = None, overwrite: bool = False,
         progress: Callable[[str], None] | None = None,
         engine: str | None = None) -> LinkResult:
    """Link housing residents to health persons and record everything about the run.

    Parameters
    ----------
    workspace : Workspace
        The workspace; its warehouse must hold the ingested tables.
    settings : LinkageSettings, optional
        Thresholds and resources.
    model : pathlib.Path, optional
        A Splink model JSON saved by an earlier run (``reports/linkage/<run>-model.json``):
        reused as it is instead of estimating the parameters again.
    overwrite : bool
        Replace an earlier linkage (without it, a second run is refused).
    progress : callable, optional
        Called with a short message as each stage starts.
    engine : {"duckdb", "spark"}, optional
        Where the linkage runs and the tables go (default: the workspace's ``engine``
        setting).

    Returns
    -------
    LinkResult
        The run id, summary, report paths and MLflow run.

    Raises
    ------
    DataError
        If the warehouse is missing or lacks a table the linkage needs, or ``model`` is not a
        readable Splink model.
    ConfigError
        If the workspace's ``settings.yaml`` is not valid, or Spark is asked for and not
        installed.
    OutputExistsError
        If a linkage exists and ``overwrite`` is false.
    """
    t0 = time.perf_counter()
    note = progress or (lambda _m: None)
    settings = settings or LinkageSettings()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    engine = engine_name(workspace, engine)
    rule = rule_for(workspace)
    saved = _read_model(model) if model else None

    with connect(workspace, engine, read_only=True) as con:
        _check_ready(con, workspace, overwrite=overwrite)
        people = link_persons(con, settings=settings, model=saved, note=note)
        note("measuring the links")
        summary = _summary(con, workspace, run_id, settings, people, rule)
        if is_spark(con):
            targets, mlflow_run_id = _record(
                workspace, run_id, settings, summary, people, note,
                write=lambda: _write_lake(con, run_id, settings, people))
    if engine == "duckdb":
        targets, mlflow_run_id = _record(
            workspace, run_id, settings, summary, people, note,
            write=lambda: _write(workspace, run_id, settings, people))
    return LinkResult(run_id=run_id, summary=summary,
                      reports={k: str(v) for k, v in targets.items()},
                      mlflow_run_id=mlflow_run_id,
                      seconds=round(time.perf_counter() - t0, 2))


def _record(workspace: Workspace, run_id: str, settings: LinkageSettings,
            summary: dict[str, Any], people: Any, note: Callable[[str], None], *,
            write: Callable[[], None]) -> tuple[dict[str, Path], str]:
    """Write the reports, log the MLflow run and the tables; return the reports and the run."""
    with workspace.staging("link") as stage:
        targets = {
            "json": workspace.reports / "linkage.json",
            "html": workspace.reports / "linkage.html",
            "run_json": workspace.reports / "linkage" / f"{run_id}.json",
            "model": workspace.reports / "linkage" / f"{run_id}-model.json",
        }
        figures = charts(summary)
        staged = {name: stage / target.name for name, target in targets.items()}
        text = render_json(summary)
        staged["json"].write_text(text, encoding="utf-8")
        staged["run_json"].write_text(text, encoding="utf-8")
        staged["html"].write_text(render_html(summary, figures), encoding="utf-8")
        staged["model"].write_text(model_json(people.model), encoding="utf-8")

        note("logging the run to MLflow")
        mlflow_run_id = _track(workspace, run_id, settings, summary, staged, figures)

        note("writing the links")
        write()
        for name, target in targets.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged[name], target)
    return targets, mlflow_run_id


def _check_ready(con: Any, workspace: Workspace, *, overwrite: bool) -> None:
    tables = table_names(con)
    where = con.lake.tables if is_spark(con) else workspace.warehouse
    missing = [t for t in _NEEDED if t not in tables]
    if missing:
        raise DataError(f"the warehouse has no {', '.join(missing)} table(s) to link",
                        hint="put those extracts in landing/ and run `risk-model ingest`")
    if LINKS_TABLE in tables and not overwrite:
        raise OutputExistsError(
            f"link would overwrite the existing linkage in {where}",
            hint="pass --overwrite to replace it")


def _read_model(path: Path) -> dict[str, Any]:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read a Splink model: {exc}",
                        hint="pass the -model.json a previous `risk-model link` wrote under "
                        "reports/linkage/") from exc
    if not isinstance(saved, dict) or "comparisons" not in saved:
        raise DataError(f"{path}: not a Splink model (no 'comparisons')",
                        hint="pass the -model.json a previous `risk-model link` wrote")
    return saved


def _summary(con: duckdb.DuckDBPyConnection, workspace: Workspace, run_id: str,
             settings: LinkageSettings, people: Any, rule: SuppressionRule) -> dict[str, Any]:
    from risk_model.linkage.address import (
        address_matching_quality,
        summarise_address_matching,
    )

    by_method = people.links["method"].value_counts().to_dict()
    prior = float(people.model.get("probability_two_random_records_match", 0) or 0)
    return {
        "run_id": run_id,
        "settings": settings.to_dict(),
        "suppression": rule.to_dict(),
        "person_linkage": {
            "counts": people.counts,
            "counts_by_method": {str(k): int(v) for k, v in by_method.items()},
            "nhs_agreement": people.nhs_agreement,
            "probability_two_random_records_match": prior,
            "match_weight_histogram": people.weight_histogram.to_dict("records"),
            "review_queue_by_reason": {str(k): int(v) for k, v in
                                       people.queue["reason"].value_counts().items()},
        },
        "link_rates": link_rates(con, people.residents, people.links, rule=rule),
        "person_quality_vs_truth": quality_against_truth(con, people.links, workspace.truth,
                                                         rule=rule),
        "address_matching": summarise_address_matching(con, rule=rule),
        "address_matching_vs_truth": address_matching_quality(con, workspace.truth),
    }


def _track(workspace: Workspace, run_id: str, settings: LinkageSettings,
           summary: dict[str, Any], staged: dict[str, Path], figures: dict[str, Any]) -> str:
    from risk_model.tracking import start_run

    person = summary["person_linkage"]
    truth = summary.get("person_quality_vs_truth") or {}
    address_truth = summary.get("address_matching_vs_truth") or {}
    with start_run(workspace, EXPERIMENT, run_name=run_id,
                   tags={"risk_model.step": "link"}) as run:
        run.log_params(settings.to_dict())
        run.log_metrics({
            "counts": person["counts"],
            "by_method": person["counts_by_method"],
            "nhs_agreement": person["nhs_agreement"],
            "link_rate": summary["link_rates"]["link_rate"],
            "expected_false_links": summary["link_rates"]["expected_false_links"],
            "truth": {k: truth.get(k) for k in ("precision", "recall", "false_links",
                                                 "linkable_residents")},
            "address_truth": {k: v for k, v in address_truth.items()
                              if isinstance(v, int | float) and not isinstance(v, bool)},
        })
        for name in ("json", "html", "model"):
            run.log_artifact(staged[name], "linkage")
        for name, fig in figures.items():
            run.log_figure(fig, f"linkage/{name}")
        _close(figures)
        return run.run_id


def _close(figures: dict[str, Any]) -> None:
    import matplotlib.pyplot as plt

    for fig in figures.values():
        plt.close(fig)


def _rows(run_id: str, settings: LinkageSettings, people: Any) -> tuple[pd.DataFrame,
                                                                       pd.DataFrame]:
    """The links stamped with the run, and the run's row of :data:`RUNS_TABLE`."""
    now = datetime.now(UTC).replace(tzinfo=None)
    links = people.links.assign(model_version=run_id)
    runs = pd.DataFrame([{
        "run_id": run_id, "linked_at": now,
        "settings": json.dumps(settings.to_dict()), "model": model_json(people.model),
        "counts": json.dumps(people.counts)}])
    return links, runs


def _write(workspace: Workspace, run_id: str, settings: LinkageSettings, people: Any) -> None:
    """Write every linkage table in one transaction (all or nothing)."""
    links, runs = _rows(run_id, settings, people)
    with duckdb.connect(str(workspace.warehouse)) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            for table, frame in ((LINKS_TABLE, links), (QUEUE_TABLE, people.queue),
                                 (CANDIDATES_TABLE, people.candidates),
                                 (OUTCOMES_TABLE, people.residents)):
                con.register("frame_in", frame)
                con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM frame_in")
                con.unregister("frame_in")
            build_homes(con, LINKS_TABLE)
            con.register("runs_in", runs)
            con.execute(f"CREATE TABLE IF NOT EXISTS {RUNS_TABLE} AS "
                        f"SELECT * FROM runs_in WHERE false")
            con.execute(f"INSERT INTO {RUNS_TABLE} SELECT * FROM runs_in")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    log.info("linkage %s written: %d links, homes in %s", run_id, len(links), HOMES_TABLE)


def _write_lake(con: Any, run_id: str, settings: LinkageSettings, people: Any) -> None:
    """The Spark engine's :func:`_write`: the same tables in the lake, all or nothing."""
    from risk_model.spark import Write

    links, runs = _rows(run_id, settings, people)
    con.register("__new_links", links)
    try:
        writes = [Write(table, con.frame(frame)) for table, frame in (
            (LINKS_TABLE, links), (QUEUE_TABLE, people.queue),
            (CANDIDATES_TABLE, people.candidates), (OUTCOMES_TABLE, people.residents))]
        writes.append(Write(HOMES_TABLE, con.sql(homes_sql("__new_links"))))
        writes.append(Write(RUNS_TABLE, con.frame(
            runs, "run_id string, linked_at timestamp, settings string, model string, "
                  "counts string"), ("run_id", run_id)))
        con.commit(writes)
    finally:
        con.unregister("__new_links")
    log.info("linkage %s written to the lake: %d links", run_id, len(links))
