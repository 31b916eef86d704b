"""What the model reports say, gathered from what is tracked and suppressed before rendering.

:func:`collect_facts` reads, for one registered model version, only what earlier steps
recorded:

- the version in the MLflow registry (aliases, gate verdicts, a forced promotion's reason) and
  its training run (parameters, ``spec.json``, ``evaluation.json``,
  ``explanations/importance.json``, and ``audit/audit.json`` written by ``risk-model audit``);
- the catalogue entries bundled with the model (``features.json``), the current catalogue in
  ``features/`` and the current spec in ``models/`` (to say when either changed since training);
- the warehouse's ingest reconciliation, data-quality profiles, address matching and person
  linkage figures;
- the latest monthly scoring run of the version (its drift verdict), if any.

It returns plain JSON-ready data in which every count of people or records has gone through
:func:`risk_model.disclosure.suppress_count` and every rate built on such counts through
:func:`risk_model.disclosure.suppressed_rate`, under the workspace's rule
(:func:`risk_model.disclosure.rule_for`). Metrics resting on a hidden count are withheld with
their intervals. No identifier is read: the warehouse tables used hold counts, not people.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from risk_model import __version__
from risk_model.config import Reports, Workspace
from risk_model.disclosure import (
    SUPPRESSED,
    SuppressionRule,
    rule_for,
    suppress_count,
    suppressed_rate,
)
from risk_model.errors import ConfigError, DataError

__all__ = ["SCORERS", "collect_facts", "resolve_version"]

log = logging.getLogger(__name__)

#: The scorers a training run measures, in plain words.
SCORERS = {"lightgbm": "the model (LightGBM)",
           "baseline": "the baseline (logistic regression)",
           "true_risk": "the true risk (synthetic data only: the ceiling)"}
_HEADLINE = ("auroc", "auprc", "brier", "calibration_intercept", "calibration_slope")
_ALIAS = "champion"


def resolve_version(workspace: Workspace, name: str,
                    version: str | None = None) -> dict[str, Any]:
    """Return the registered version a report is for: the one given, else champion, else latest.

    Parameters
    ----------
    workspace : Workspace
        The workspace whose MLflow registry holds the model.
    name : str
        The registered model.
    version : str, optional
        The version; without it the one holding the alias ``champion``, else the latest.

    Returns
    -------
    dict
        ``version``, ``run_id``, ``aliases``, ``tags`` and ``source``, as
        :func:`risk_model.tracking.model_versions` gives them.

    Raises
    ------
    ConfigError
        If the model has no registered version, or not the one asked for.
    """
    from risk_model.tracking import model_versions

    versions = model_versions(workspace, name)
    if not versions:
        raise ConfigError(f"model {name!r} has no registered version in this workspace",
                          hint=f"train one with `risk-model train {name}`, audit it with "
                          f"`risk-model audit {name}`, then run `risk-model report {name}`")
    if version is None:
        return next((v for v in versions if _ALIAS in v["aliases"]), versions[0])
    chosen = next((v for v in versions if v["version"] == str(version)), None)
    if chosen is None:
        raise ConfigError(f"model {name!r} has no version {version!r}",
                          hint="registered versions: "
                          + ", ".join(v["version"] for v in versions))
    return chosen


def _json(raw: bytes | None) -> Any:
    return None if raw is None else json.loads(raw.decode("utf-8"))


def _day(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def _month(text: Any) -> str | None:
    return None if not text else str(text)[:7]


class _Suppressor:
    """The workspace's rule applied to counts, rates and metrics resting on counts."""

    def __init__(self, rule: SuppressionRule) -> None:
        self.rule = rule

    def count(self, n: Any) -> int | str | None:
        if n is None:
            return None
        return suppress_count(round(float(n)), self.rule)

    def rate(self, numerator: Any, denominator: Any, digits: int = 3) -> float | str | None:
        if numerator is None or denominator is None:
            return None
        num, den = round(float(numerator)), round(float(denominator))
        return suppressed_rate(min(num, den), den, self.rule, digits)

    def hidden(self, n: int) -> bool:
        return self.count(n) == SUPPRESSED


def _interval(m: Any, digits: int = 3) -> dict[str, float] | None:
    if not isinstance(m, dict) or m.get("point") is None:
        return None
    out = {"point": round(float(m["point"]), digits)}
    if m.get("lower") is not None and m.get("upper") is not None:
        out["lower"] = round(float(m["lower"]), digits)
        out["upper"] = round(float(m["upper"]), digits)
    return out


def _performance(metrics: dict[str, Any], capacity: list[float],
                 s: _Suppressor) -> dict[str, Any]:
    """Test metrics with intervals; any resting on a hidden count is withheld (``"*"``)."""
    out: dict[str, Any] = {}
    for scorer, m in metrics.items():
        n, events = int(m["n"]), int(m["events"])
        withheld = s.hidden(events) or s.hidden(n - events)
        row: dict[str, Any] = {
            "label": SCORERS.get(scorer, scorer), "n": s.count(n), "events": s.count(events),
            "prevalence": s.rate(events, n, 4),
        }
        for key in _HEADLINE:
            row[key] = SUPPRESSED if withheld else _interval(m.get(key))
        levels = []
        for share in capacity:
            key = f"top_{share * 100:g}pct"
            selected = max(1, math.ceil(share * n - 1e-9))
            recall = m.get(f"{key}.recall", {}).get("point")
            hits = 0 if recall is None else round(recall * events)
            precision_shown = s.rate(hits, selected)
            recall_shown = s.rate(hits, events)
            level: dict[str, Any] = {"share": share, "selected": s.count(selected)}
            for metric, shown in (("precision", precision_shown), ("recall", recall_shown),
                                  ("lift", precision_shown)):
                level[metric] = SUPPRESSED if shown == SUPPRESSED or withheld else \
                    _interval(m.get(f"{key}.{metric}"))
            levels.append(level)
        row["capacity"] = levels
        out[scorer] = row
    return out


def _calibration(curve: dict[str, Any] | None, s: _Suppressor) -> list[dict[str, Any]]:
    """Observed against predicted by decile of predicted risk (lowest first), suppressed."""
    if not curve:
        return []
    rows = []
    for i, (predicted, observed, n) in enumerate(
            zip(curve["predicted"], curve["observed"], curve["n"], strict=True), start=1):
        events = round(float(observed) * int(n))
        rows.append({"decile": i, "people": s.count(n),
                     "predicted": round(float(predicted), 4),
                     "observed": s.rate(events, n, 4)})
    return rows


def _features(bundle: dict[str, Any], importance: dict[str, Any] | None,
              catalogue: Any) -> dict[str, Any]:
    """The model's inputs as the catalogue defined them at training, by SHAP importance."""
    entries = bundle.get("catalogue_entries", {})
    weights = (importance or {}).get("features", {})
    total = sum(weights.values()) or 1.0
    rows = []
    for name, e in entries.items():
        window = e.get("window")
        rows.append({
            "name": name, "label": e.get("label"), "description": " ".join(
                str(e.get("description") or "").split()),
            "family": e.get("family"), "type": e.get("type"),
            "window": "on the date" if window is None else
            ("any time before the date" if window == "all" else f"the last {window}"),
            "sensitivity": e.get("sensitivity"), "roles": e.get("roles", []),
            "broad_category": e.get("broad_category"),
            "modifiable": bool(e.get("modifiable")),
            "missing": e.get("missing"),
            "importance": round(weights[name] / total, 4) if name in weights else None,
        })
    rows.sort(key=lambda r: (r["importance"] is None, -(r["importance"] or 0), r["name"]))
    families = {name: 0 for name in catalogue.families}
    for r in rows:
        families[r["family"]] = families.get(r["family"], 0) + 1
    families = {name: k for name, k in families.items() if k}
    not_inputs = [{"name": f.name, "label": f.label, "why": "kept only for fairness audits"}
                  for f in catalogue.features.values()
                  if not f.model_input and f.family in families]
    titles = {name: fam.title for name, fam in catalogue.families.items()}
    return {"count": len(rows), "rows": rows,
            "families": [{"family": f, "title": titles.get(f, f), "features": k,
                          "importance": round(sum(weights.get(r["name"], 0) for r in rows
                                                  if r["family"] == f) / total, 4)}
                         for f, k in families.items()],
            "not_model_inputs": not_inputs,
            "importance_units": (importance or {}).get("units"),
            "catalogue_digest": bundle.get("catalogue_digest")}


def _tags_with(prefix: str, tags: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for key, value in sorted(tags.items()):
        if key.startswith(prefix):
            verdict, _, detail = value.partition(": ")
            out.append({"gate": key.removeprefix(prefix), "passed": verdict == "passed",
                        "detail": detail})
    return out


def _fairness(audit: dict[str, Any], rule: SuppressionRule) -> dict[str, Any]:
    """The audit's verdict, gates and headline ratios by group (already suppressed by it)."""
    recorded = {k: v for k, v in audit.get("suppression", {}).items() if k != "description"}
    if recorded != rule.to_dict():
        raise DataError(
            f"the fairness audit of {audit['model']} version {audit['version']} followed "
            f"another small-number rule ({recorded}) than the one settings.yaml sets now "
            f"({rule.to_dict()})",
            hint=f"run `risk-model audit {audit['model']} {audit['version']}` again so it "
            "follows settings.yaml, then the report")
    gate_key = f"tpr@{audit['gate_capacity'] * 100:g}%"
    dimensions = []
    for name, d in audit["fairness"]["dimensions"].items():
        verdicts: dict[str, str] = {}
        for gate in d["gates"].values():
            for f in gate["failed"]:
                verdicts[f["group"]] = "fails a gate"
            for f in gate["warnings"]:
                verdicts.setdefault(f["group"], "outside, interval reaching in")
            for g in gate["too_few_to_judge"]:
                verdicts.setdefault(g, "too few events to judge")
        groups = []
        for group, e in d["groups"].items():
            metrics = e.get("metrics", {})
            groups.append({
                "group": group, "reference": group == d["reference"], "n": e.get("n"),
                "events": e.get("events"), "tpr": _ratio(metrics.get(gate_key)),
                "observed_to_expected": _ratio(metrics.get("observed_to_expected")),
                "verdict": "reference" if group == d["reference"]
                else verdicts.get(group, "within the tolerance"),
            })
        dimensions.append({"dimension": name, "reference": d["reference"],
                           "passed": all(g["passed"] for g in d["gates"].values()),
                           "groups": groups})
    return {
        "passed": bool(audit["passed"]), "audited_at": audit.get("audited_at"),
        "test_date": audit.get("test_date"), "tolerance": audit["tolerance"],
        "gate_capacity": audit["gate_capacity"], "gate_metric": gate_key,
        "min_events": audit.get("min_events"), "replicates": audit.get("replicates"),
        "overall": audit["fairness"].get("overall", {}),
        "gates": [{"gate": g["gate"], "passed": g["passed"], "detail": g["detail"]}
                  for g in audit["gates"]],
        "dimensions": dimensions,
        "availability_flags": audit.get("availability", {}).get("flags", []),
    }


def _ratio(m: Any) -> dict[str, Any] | str | None:
    """A group's metric and its ratio to the reference, each with its interval."""
    if m == SUPPRESSED:
        return SUPPRESSED
    if not isinstance(m, dict) or m.get("point") is None:
        return None
    out: dict[str, Any] = {"point": round(float(m["point"]), 3)}
    if m.get("ratio") is not None:
        out["ratio"] = round(float(m["ratio"]), 2)
        if m.get("ratio_lower") is not None:
            out["ratio_lower"] = round(float(m["ratio_lower"]), 2)
            out["ratio_upper"] = round(float(m["ratio_upper"]), 2)
    return out


# ---- the warehouse ------------------------------------------------------------------------


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _sources(con: duckdb.DuckDBPyConnection, tables: set[str], s: _Suppressor,
             rule: SuppressionRule) -> dict[str, Any]:
    """Per source: who holds it, its rows reconciled, its dates and data-quality figures."""
    from risk_model.ingest.contracts import CONTRACTS
    from risk_model.ingest.run import QUALITY_TABLE, RECONCILIATION_TABLE, RUNS_TABLE

    if RECONCILIATION_TABLE not in tables:
        return {"recorded": False, "sources": []}
    recon = con.execute(f"""
        SELECT source, count(*) AS files, sum(rows_read) AS rows_read,
               sum(rows_accepted) AS rows_accepted, sum(rows_quarantined) AS rows_quarantined,
               sum(rows_opted_out) AS rows_opted_out, bool_and(reconciled) AS reconciled,
               max(ingested_at) AS ingested_at
        FROM {RECONCILIATION_TABLE} GROUP BY source""").df()
    profiles: dict[str, list[dict[str, Any]]] = {}
    if QUALITY_TABLE in tables:
        for (profile,) in con.execute(f"SELECT profile FROM {QUALITY_TABLE}").fetchall():
            p = json.loads(profile)
            profiles.setdefault(p.get("source"), []).append(p)
    stale = False
    rows = []
    by_source = {r["source"]: r for r in recon.to_dict("records")}
    for source in [*(c for c in CONTRACTS if c in by_source),
                   *(c for c in by_source if c not in CONTRACTS)]:
        r = by_source[source]
        contract = CONTRACTS.get(source)
        mine = profiles.get(source, [])
        months = [m for p in mine for cov in p.get("date_coverage", {}).values()
                  for m in (_month(cov.get("min")), _month(cov.get("max"))) if m]
        row: dict[str, Any] = {
            "source": source,
            "description": contract.description if contract else "",
            "held_by": contract.owner if contract else "",
            "arrives": contract.frequency if contract else "",
            "purpose": contract.purpose if contract else "",
            "legal_basis": contract.legal_basis if contract else "",
            "health": bool(contract.health) if contract else False,
            "files": int(r["files"]),
            "rows_read": s.count(r["rows_read"]), "rows_accepted": s.count(r["rows_accepted"]),
            "rows_quarantined": s.count(r["rows_quarantined"]),
            "rows_opted_out": s.count(r["rows_opted_out"]),
            "accepted_share": s.rate(r["rows_accepted"], r["rows_read"]),
            "reconciled": bool(r["reconciled"]),
            "dates_from": min(months) if months else None,
            "dates_to": max(months) if months else None,
            "completeness": None, "validity": None,
        }
        same_rule = all({k: v for k, v in p.get("suppression", {}).items()
                         if k != "description"} == rule.to_dict() for p in mine)
        if mine and same_rule:
            shares = [f["completeness"] for p in mine for f in p.get("fields", [])
                      if isinstance(f.get("completeness"), int | float)]
            row["completeness"] = round(sum(shares) / len(shares), 3) if shares else None
            valid = [p.get("validity_share") for p in mine]
            row["validity"] = (SUPPRESSED if any(v == SUPPRESSED for v in valid) else
                               round(min(float(v) for v in valid if v is not None), 3)
                               if any(v is not None for v in valid) else None)
        elif mine:
            stale = True
        rows.append(row)
    run = None
    if RUNS_TABLE in tables:
        got = con.execute(f"SELECT max(ingested_at), count(*) FROM {RUNS_TABLE}").fetchone()
        if got is not None and got[0] is not None:
            run = {"last_ingested": str(got[0])[:10], "runs": int(got[1])}
    return {"recorded": True, "sources": rows, "ingest": run,
            "profiles_follow_another_rule": stale,
            "opted_out_rows": s.count(int(recon["rows_opted_out"].sum())),
            "quarantined_rows": s.count(int(recon["rows_quarantined"].sum()))}


def _linkage(con: duckdb.DuckDBPyConnection, tables: set[str],
             s: _Suppressor) -> dict[str, Any]:
    """The latest person linkage run and address matching run: counts and rates, suppressed."""
    from risk_model.linkage.address import MATCHING_RUNS_TABLE, METHODS
    from risk_model.linkage.run import RUNS_TABLE

    out: dict[str, Any] = {"person": None, "address": None}
    if RUNS_TABLE in tables:
        got = con.execute(f"SELECT run_id, linked_at, counts FROM {RUNS_TABLE} "
                          "ORDER BY linked_at DESC LIMIT 1").fetchone()
        if got is not None:
            counts = json.loads(got[2]) if isinstance(got[2], str) else dict(got[2])
            residents = int(counts.get("housing_residents", 0))
            linked = int(counts.get("linked", 0))
            outcomes = {k.removeprefix("outcome_"): s.count(v)
                        for k, v in counts.items() if k.startswith("outcome_")}
            out["person"] = {
                "run_id": got[0], "linked_on": str(got[1])[:10],
                "housing_residents": s.count(residents),
                "health_persons": s.count(counts.get("health_persons")),
                "linked": s.count(linked), "link_rate": s.rate(linked, residents),
                "by_outcome": outcomes,
                "review_queue_pairs": s.count(counts.get("review_queue_pairs", 0)),
            }
    if MATCHING_RUNS_TABLE in tables:
        frame = con.execute(f"""
            SELECT method, sum(rows) AS rows FROM {MATCHING_RUNS_TABLE}
            WHERE run_id = (SELECT max(run_id) FROM {MATCHING_RUNS_TABLE})
            GROUP BY method""").df()
        if not frame.empty:
            total = int(frame["rows"].sum())
            accepted = [m for m, meaning in METHODS.items() if meaning.endswith("(accepted)")]
            matched = int(frame.loc[frame["method"].isin(accepted), "rows"].sum())
            out["address"] = {
                "addresses": s.count(total), "matched": s.count(matched),
                "match_rate": s.rate(matched, total),
                "by_method": [{"method": m, "meaning": METHODS.get(m, ""), "addresses":
                               s.count(int(frame.loc[frame["method"] == m, "rows"].sum()))}
                              for m in [*METHODS, *sorted(set(frame["method"]) - set(METHODS))]
                              if m in set(frame["method"])],
            }
    return out


def _monitoring(workspace: Workspace, name: str, version: str) -> dict[str, Any] | None:
    """The latest monthly scoring run of this version: its month and drift verdict."""
    from risk_model.tracking import read_artifact, runs

    mine = [r for r in runs(workspace, "scoring")
            if r["tags"].get("risk_model.model") == name
            and r["tags"].get("risk_model.model_version") == str(version)]
    if not mine:
        return None
    last = max(mine, key=lambda r: (r["tags"].get("risk_model.month", ""), r["start_time"]))
    summary = _json(read_artifact(workspace, last["run_id"], "scoring/summary.json")) or {}
    drift = summary.get("drift", {})
    return {"month": last["tags"].get("risk_model.month"), "months_scored": len(mine),
            "trusted": drift.get("trusted"), "summary": drift.get("summary"),
            "alerts": [a.get("name") for a in drift.get("alerts", []) if a.get("name")]}


# ---- all of it ----------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def collect_facts(workspace: Workspace, name: str, version: str | None = None, *,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Gather what the reports of a model version say, from what is tracked, suppressed.

    Parameters
    ----------
    workspace : Workspace
        The workspace holding the warehouse and the MLflow store.
    name : str
        The registered model (``models/<name>.yaml``).
    version : str, optional
        The version; the champion, else the latest, without it.
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    dict
        JSON-ready facts: ``model``, ``spec``, ``design``, ``performance``, ``calibration``,
        ``features``, ``fairness``, ``data``, ``linkage``, ``monitoring``, ``retraining``,
        ``owner``, ``suppression``, ``limitations`` and ``generated_at``. Every count of people
        or records follows the workspace's small-number rule.

    Raises
    ------
    ConfigError
        If the model or version does not exist, or the settings are not valid.
    DataError
        If the version was never audited, its audit followed another small-number rule, its
        training run lacks what ``risk-model train`` logs, or there is no warehouse.
    """
    from risk_model.features.catalogue import load_catalogue
    from risk_model.modelling.spec import spec_named
    from risk_model.tracking import read_artifact, read_model_artifact, run_record

    note = progress or (lambda message: log.debug("report: %s", message))
    chosen = resolve_version(workspace, name, version)
    number = chosen["version"]
    settings: Reports = workspace.settings().reports
    rule = rule_for(workspace)
    s = _Suppressor(rule)

    note(f"reading {name} version {number}'s training run from MLflow")
    run = run_record(workspace, chosen["run_id"])
    evaluation = _json(read_artifact(workspace, chosen["run_id"], "evaluation.json"))
    trained_spec = _json(read_artifact(workspace, chosen["run_id"], "spec.json"))
    if evaluation is None or trained_spec is None:
        raise DataError(f"MLflow run {chosen['run_id']} of {name} version {number} has no "
                        "evaluation.json or spec.json, so it was not made by `risk-model train`",
                        hint=f"train the model with `risk-model train {name}` and report on "
                        "that version")
    audit = _json(read_artifact(workspace, chosen["run_id"], "audit/audit.json"))
    if audit is None:
        raise DataError(f"{name} version {number} has no fairness audit yet",
                        hint=f"run `risk-model audit {name} {number}`, then "
                        f"`risk-model report {name} {number}`")
    importance = _json(read_artifact(workspace, chosen["run_id"],
                                     "explanations/importance.json"))
    bundle = _json(read_model_artifact(workspace, name, number, "artifacts/features.json"))
    if bundle is None:
        raise DataError(f"{name} version {number} has no features.json bundled with it",
                        hint=f"train the model again with `risk-model train {name}`")

    catalogue = load_catalogue()
    try:
        current_spec: dict[str, Any] | None = spec_named(name).model_dump(mode="json")
    except ConfigError:
        current_spec = None

    if not workspace.warehouse.exists():
        raise DataError(f"no warehouse at {workspace.warehouse}",
                        hint="run `risk-model ingest` and `risk-model link` in this workspace")
    note("reading the warehouse's data-quality and linkage figures")
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        tables = _tables(con)
        data = _sources(con, tables, s, rule)
        linkage = _linkage(con, tables, s)

    note("reading the monthly scoring runs")
    monitoring = _monitoring(workspace, name, number)

    metrics = evaluation["metrics"]
    capacity = [float(c) for c in trained_spec.get("capacity", [])]
    params = run["params"]
    trained_on = _day(run["start_time"])
    tags = chosen["tags"]
    synthetic = "true_risk" in metrics
    fairness = _fairness(audit, rule)
    features = _features(bundle, importance, catalogue)
    performance = _performance(metrics, capacity, s)
    dates = trained_spec.get("dates") or {}
    outcome = trained_spec["outcome"]
    retrain_by = _add_months(date.fromisoformat(trained_on), settings.retrain_months) \
        if trained_on else None

    def rows(key: str) -> int | str | None:
        return s.count(params[key]) if key in params else None

    facts: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "risk_model_version": __version__,
        "suppression": {**rule.to_dict(), "description": rule.describe()},
        "synthetic": synthetic,
        "model": {
            "name": name, "title": trained_spec.get("title") or name,
            "description": " ".join(str(trained_spec.get("description") or "").split()),
            "version": number, "aliases": chosen["aliases"],
            "mlflow_run_id": chosen["run_id"], "experiment": run["experiment"],
            "run_name": run["run_name"], "trained_on": trained_on,
            "git_commit": run["tags"].get("risk_model.git_commit"),
            "code_version": run["tags"].get("risk_model.version"),
            "promoted_at": tags.get("risk_model.promoted_at"),
            "forced_reason": tags.get("risk_model.promotion.forced_reason"),
            "forced_gates": tags.get("risk_model.promotion.forced_gates"),
            "gates": _tags_with("risk_model.gate.", tags),
            "spec_changed": current_spec is not None and current_spec != trained_spec,
            "spec_in_models": current_spec is not None,
            "catalogue_changed": features["catalogue_digest"] != catalogue.digest,
        },
        "spec": trained_spec,
        "cohort": trained_spec["cohort"],
        "outcome": {"label": outcome["label"], "window": outcome["window"],
                    "view": outcome["view"], "where": outcome.get("where"),
                    "source_tables": list(catalogue.views[outcome["view"]].tables)
                    if outcome["view"] in catalogue.views else []},
        "design": {
            "train_dates": dates.get("train", []), "validation_date": dates.get("validation"),
            "test_date": dates.get("test"),
            "rows": {"train": rows("rows.train"), "validation": rows("rows.validation"),
                     "test": rows("rows.test"),
                     "early_stopping": rows("validation_rows.early_stopping"),
                     "calibration": rows("validation_rows.calibration")},
            "best_iteration": int(params["best_iteration"]) if "best_iteration" in params
            else None,
            "lightgbm": trained_spec.get("lightgbm", {}),
            "baseline": trained_spec.get("baseline", {}),
            "calibration": trained_spec.get("calibration"),
            "bootstrap": trained_spec.get("bootstrap", {}),
            "capacity": capacity, "gates": trained_spec.get("gates", {}),
            "priority": trained_spec.get("priority", {}),
            "explained_rows": rows("explanations.rows"),
        },
        "performance": performance,
        "calibration": {
            "intercept": performance.get("lightgbm", {}).get("calibration_intercept"),
            "slope": performance.get("lightgbm", {}).get("calibration_slope"),
            "deciles": _calibration(evaluation.get("curves", {}).get("lightgbm", {})
                                    .get("calibration"), s),
        },
        "features": features,
        "fairness": fairness,
        "data": data,
        "linkage": linkage,
        "monitoring": monitoring,
        "owner": {**settings.model_dump(), "to_be_completed": settings.to_be_completed()},
        "retraining": {
            "every_months": settings.retrain_months,
            "by": retrain_by.isoformat() if retrain_by else None,
            "overdue": bool(retrain_by and retrain_by < datetime.now(UTC).date()),
            "outcomes_up_to": _add_months(date.fromisoformat(dates["test"]),
                                          _window_months(outcome["window"])).isoformat()
            if dates.get("test") else None,
        },
    }
    facts["limitations"] = _limitations(facts)
    return facts


def _window_months(window: str) -> int:
    n, unit = window.split()
    return int(n) * (12 if unit.startswith("year") else 1)


def _limitations(f: dict[str, Any]) -> list[str]:
    """What a reader must know before trusting the scores, from the facts themselves."""
    out = []
    if f["synthetic"]:
        out.append("These figures come from synthetic data made by the project's generator, "
                   "not from real residents: they show how the method works, not how well it "
                   "would work in a real area.")
    lgbm = f["performance"].get("lightgbm", {})
    truth = f["performance"].get("true_risk", {})
    if isinstance(lgbm.get("auroc"), dict) and isinstance(truth.get("auroc"), dict):
        out.append(f"The model's AUROC ({lgbm['auroc']['point']}) is below that of the true "
                   f"risk ({truth['auroc']['point']}): much of what drives admissions (frailty, "
                   "unrecorded health) is in no source.")
    out.append("A score is a probability for a group of similar people, not a prediction for "
               "one person; most people with a high score will not be admitted, and some with "
               "a low score will.")
    out.append("The housing-attributable risk (the risk minus the risk with the home put "
               "right) is an association in the data, not a measured effect of any repair.")
    out.append("Housing records cover homes unevenly: social landlords record damp, repairs "
               "and surveys; owner-occupied and private rented homes are known only through "
               "EPCs and council inspections, so their features are more often \"not known\".")
    addr = (f["linkage"].get("address") or {})
    if addr.get("match_rate") not in (None, SUPPRESSED):
        out.append(f"{1 - float(addr['match_rate']):.1%} of GP addresses matched no home, so "
                   "those residents have no housing features and are on no patch's list.")
    fairness = f["fairness"]
    few = sorted({g["group"] for d in fairness["dimensions"] for g in d["groups"]
                  if g["verdict"] == "too few events to judge"})
    if few:
        out.append(f"{len(few)} groups had too few events to judge fairness "
                   f"(fewer than {fairness['min_events']}); the audit cannot say the model is "
                   "fair for them.")
    if not fairness["passed"]:
        out.append("The fairness audit failed at least one gate (see Fairness).")
    if fairness["availability_flags"]:
        out.append(f"{len(fairness['availability_flags'])} group(s) have thinner records than "
                   "their reference group (see Fairness), which can make the model worse for "
                   "them without anyone deciding so.")
    if f["model"]["forced_reason"]:
        out.append("This version was promoted although a gate failed; the reason recorded: "
                   f"\"{f['model']['forced_reason']}\".")
    if f["model"]["catalogue_changed"]:
        out.append("The feature catalogue has changed since this version was trained: the "
                   "features below are as trained, and the data dictionary is the current one.")
    if f["model"]["spec_changed"]:
        out.append("The model's spec in models/ has changed since this version was trained.")
    m = f.get("monitoring")
    if m and m.get("trusted") is False:
        out.append(f"The latest scoring run ({m['month']}) found drift: {m['summary']}")
    return out

