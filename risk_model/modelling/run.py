"""``risk-model train`` and ``risk-model promote``: tracked training and gated promotion.

:func:`train` builds any missing snapshots, fits the model and its baseline
(:mod:`~risk_model.modelling.train`), measures both on the test date with bootstrap intervals
(and the true risk on synthetic data, :mod:`~risk_model.modelling.truth`), and logs everything
to MLflow in the experiment named after the model: the resolved spec, the datasets (digests,
never rows), parameters, metrics, figures, and the pyfunc model bundled with its catalogue
entries, registered as a new version.

:func:`promote` moves the registry alias ``champion`` to a version only if it passes every gate
of its spec (and keeps the old champion as ``previous``); otherwise it refuses and lists each
failed gate. ``force`` with a reason overrides, and the reason is recorded on the version.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from risk_model.config import Workspace
from risk_model.errors import ConfigError, DataError, PromotionRefused
from risk_model.features.catalogue import Catalogue, load_catalogue
from risk_model.features.run import RUNS_TABLE, build_features
from risk_model.modelling.audit import PASSED_TAG
from risk_model.modelling.frame import FeatureSchema, input_example
from risk_model.modelling.metrics import curves, evaluate
from risk_model.modelling.spec import ModelSpec, spec_named
from risk_model.modelling.train import Split, fit, load_splits
from risk_model.modelling.truth import true_risk

__all__ = ["ALIAS", "PREVIOUS", "GateResult", "PromoteResult", "TrainResult", "promote",
           "train"]

log = logging.getLogger(__name__)

ALIAS = "champion"
PREVIOUS = "previous"


@dataclass(frozen=True)
class TrainResult:
    """What a training run did."""

    model: str
    run_id: str
    mlflow_run_id: str
    version: str | None
    model_uri: str
    rows: dict[str, int]
    metrics: dict[str, Any]
    best_iteration: int
    seconds: float
    explanations: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (what ``--json`` prints)."""
        return {"model": self.model, "run_id": self.run_id, "mlflow_run_id": self.mlflow_run_id,
                "version": self.version, "model_uri": self.model_uri, "rows": self.rows,
                "best_iteration": self.best_iteration, "test": self.metrics,
                "explanations": self.explanations, "seconds": self.seconds}


def _features(spec: ModelSpec, catalogue: Catalogue) -> FeatureSchema:
    chosen = [f for f in catalogue.select(spec.features) if f.model_input]
    if not chosen:
        raise ConfigError(f"model {spec.name!r} selects no model inputs from the catalogue")
    return FeatureSchema.from_features(chosen)


def _ensure_snapshots(workspace: Workspace, spec: ModelSpec, catalogue: Catalogue,
                      note: Callable[[str], None]) -> None:
    needed = spec.training_dates()
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        built = set()
        if RUNS_TABLE in tables:
            built = {d for (d,) in con.execute(
                f"SELECT DISTINCT CAST(as_of AS DATE) FROM {RUNS_TABLE} "
                "WHERE catalogue_digest = ?", [catalogue.digest]).fetchall()}
    missing = [d for d in needed if d not in built]
    if missing:
        note(f"building snapshots as of {', '.join(map(str, missing))}")
        build_features(workspace, missing, catalogue=catalogue)


def _metrics(splits: dict[str, Split], scores: dict[str, np.ndarray], spec: ModelSpec,
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    test = splits["test"]
    metrics: dict[str, Any] = {}
    plots: dict[str, Any] = {}
    for name, p in scores.items():
        known = np.isfinite(p)
        metrics[name] = evaluate(test.y[known], p[known], capacity=spec.capacity,
                                 replicates=spec.bootstrap.replicates, seed=spec.bootstrap.seed)
        plots[name] = curves(test.y[known], p[known])
    return metrics, plots


def train(workspace: Workspace, name: str, *,
          progress: Callable[[str], None] | None = None,
          explain_rows: int = 20_000) -> TrainResult:
    """Train, evaluate, log and register one model.

    Parameters
    ----------
    workspace : Workspace
        An ingested and linked workspace; missing snapshots are built.
    name : str
        The model (``models/<name>.yaml``).
    progress : callable, optional
        Called with a short message at each stage.
    explain_rows : int, optional
        At most this many test people are explained with SHAP values (the same people on every
        run: those whose pseudonym hashes lowest). The global importance (by feature and by
        family), a beeswarm and a bar chart by family are logged with the run.

    Returns
    -------
    TrainResult
        Run ids, the registered version and the test metrics.
    """
    t0 = time.perf_counter()
    note = progress or (lambda message: log.debug("train: %s", message))
    spec = spec_named(name)
    spec.training_dates()
    if not workspace.warehouse.exists():
        raise DataError(f"no warehouse at {workspace.warehouse}",
                        hint="run `risk-model ingest`, `risk-model link` first")
    catalogue = load_catalogue()
    schema = _features(spec, catalogue)
    _ensure_snapshots(workspace, spec, catalogue, note)

    note("reading the splits")
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        splits = load_splits(con, spec, schema)
        assert spec.dates is not None
        truth = true_risk(con, workspace.truth, splits["test"].person_id, spec.dates.test, spec)
    rows = {k: len(v) for k, v in splits.items()}
    note(f"fitting LightGBM and the baseline on {rows['train']:,} people")
    fitted = fit(splits, spec, schema)

    note("measuring on the test date")
    test = splits["test"]
    scores = {"lightgbm": fitted.predict(test.x, schema),
              "baseline": fitted.predict_baseline(test.x)}
    if truth is not None:
        scores["true_risk"] = truth.to_numpy(dtype=float)
    metrics, plot_data = _metrics(splits, scores, spec)
    importance = dict(zip(fitted.booster.feature_name(),
                          fitted.booster.feature_importance("gain").round(2).tolist(),
                          strict=True))
    if explain_rows < 1:
        raise ConfigError(f"explain_rows must be at least 1, got {explain_rows}")
    note(f"SHAP values of up to {explain_rows:,} test people")
    from risk_model.modelling.explain import shap_values

    hashed = pd.util.hash_pandas_object(test.person_id, index=False).to_numpy()
    explained = test.x.iloc[np.sort(np.argsort(hashed, kind="stable")[:explain_rows])]
    explanation = shap_values(fitted.booster, explained, schema)

    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    note("logging the run and registering the model in MLflow")
    tracked = _track(workspace, spec, catalogue, schema, splits, fitted, metrics, plot_data,
                     importance, run_id, explanation, explained)
    return TrainResult(model=spec.name, run_id=run_id, mlflow_run_id=tracked["run_id"],
                       version=tracked["version"], model_uri=tracked["model_uri"], rows=rows,
                       metrics=_headline(metrics), best_iteration=fitted.best_iteration,
                       seconds=round(time.perf_counter() - t0, 2),
                       explanations={"rows": len(explained),
                                     "top": explanation.importance().index[:10].tolist()})


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    keys = ("auroc", "auprc", "brier", "calibration_intercept", "calibration_slope")
    out = {}
    for scorer, m in metrics.items():
        out[scorer] = {k: m[k] for k in keys}
        out[scorer].update({k: v for k, v in m.items() if k.startswith("top_")})
        out[scorer]["n"], out[scorer]["events"] = m["n"], m["events"]
    return out


def _track(workspace: Workspace, spec: ModelSpec, catalogue: Catalogue, schema: FeatureSchema,
           splits: dict[str, Split], fitted: Any, metrics: dict[str, Any],
           plot_data: dict[str, Any], importance: dict[str, float],
           run_id: str, explanation: Any, explained: pd.DataFrame) -> dict[str, Any]:
    from mlflow.models import infer_signature

    from risk_model.modelling.plots import explanation_figures, training_figures
    from risk_model.modelling.pyfunc import RiskPyfunc
    from risk_model.tracking import start_run

    entries = catalogue.as_dict()["features"]
    bundle = {"catalogue_digest": catalogue.digest, "features": schema.entries,
              "catalogue_entries": {n: entries[n] for n in schema.names}}
    example = input_example(schema)
    signature = infer_signature(example, pd.Series([0.1, 0.1], name="probability"))
    figures = training_figures(plot_data, importance)
    by_feature = explanation.importance()
    family = {e["name"]: e["family"] for e in schema.entries}
    by_family = by_feature.groupby(by_feature.index.map(family)).sum().sort_values(
        ascending=False)
    shap_summary = {
        "rows": len(explained), "test_rows": len(splits["test"]),
        "sample": "the test people whose pseudonym hashes lowest (the same on every run)",
        "units": "mean absolute SHAP value (log-odds)", "base_log_odds": explanation.base,
        "features": by_feature.round(6).to_dict(), "families": by_family.round(6).to_dict(),
        "top": by_feature.index[:10].tolist()}
    figures.update(explanation_figures(explanation, explained, schema, shap_summary["families"]))
    with workspace.staging("train") as stage, \
            start_run(workspace, spec.name, run_name=run_id,
                      tags={"risk_model.step": "train", "risk_model.model": spec.name}) as run:
        run.log_params({"spec": spec.model_dump(mode="json"),
                        "catalogue_digest": catalogue.digest, "features": len(schema.names),
                        "rows": {k: len(v) for k, v in splits.items()},
                        "best_iteration": fitted.best_iteration,
                        "validation_rows": {"early_stopping": fitted.early_rows,
                                            "calibration": fitted.calibration_rows},
                        "explanations": {"rows": len(explained)}})
        run.log_metrics({"test": metrics})
        run.log_dict(spec.model_dump(mode="json"), "spec.json")
        run.log_dict({"metrics": metrics, "curves": plot_data, "importance": importance},
                     "evaluation.json")
        run.log_dict(shap_summary, "explanations/importance.json")
        run.log_datasets({name: split.x.assign(label=split.y)
                          for name, split in splits.items()}, targets="label")
        for file, fig in figures.items():
            run.log_figure(fig, f"plots/{file}")
        _close(figures)
        paths = {"booster": stage / "booster.txt", "calibration": stage / "calibration.json",
                 "features": stage / "features.json", "drift_reference": stage / "drift.json"}
        fitted.booster.save_model(str(paths["booster"]))
        paths["calibration"].write_text(json.dumps(fitted.calibration.to_dict()))
        paths["features"].write_text(json.dumps(bundle, indent=1, default=str))
        # the training population's feature and score distributions, for scoring's drift checks
        from risk_model.scoring.drift import reference_profile

        train = splits["train"]
        profile = reference_profile(train.x, schema, fitted.predict(train.x, schema))
        paths["drift_reference"].write_text(json.dumps(profile))
        run.log_dict(profile, "drift/reference.json")
        logged = run.log_pyfunc_model(
            RiskPyfunc(), artifacts={k: str(v) for k, v in paths.items()}, signature=signature,
            input_example=example, registered_model_name=spec.name)
        if logged["version"] is not None:
            from risk_model.tracking import set_version_tags

            set_version_tags(workspace, spec.name, logged["version"], {
                "risk_model.run_id": run_id, "risk_model.test_date": str(spec.dates.test
                                                                         if spec.dates else ""),
                "risk_model.catalogue_digest": catalogue.digest})
        return {"run_id": run.run_id, **logged}


def _close(figures: dict[str, Any]) -> None:
    import matplotlib.pyplot as plt

    for fig in figures.values():
        plt.close(fig)


# ---- promotion -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict."""

    gate: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class PromoteResult:
    """What ``promote`` did."""

    model: str
    version: str
    gates: list[GateResult]
    forced: bool
    reason: str | None
    previous: str | None
    aliases: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """As plain data."""
        return {"model": self.model, "version": self.version, "forced": self.forced,
                "reason": self.reason, "previous": self.previous, "aliases": self.aliases,
                "gates": [g.__dict__ for g in self.gates]}


def _gates(workspace: Workspace, spec: ModelSpec, version: dict[str, Any],
           champion: dict[str, Any] | None) -> list[GateResult]:
    from risk_model.tracking import run_metrics

    m = run_metrics(workspace, version["run_id"])
    g = spec.gates
    out = []
    lower = m.get("test.lightgbm.auroc.lower")
    out.append(GateResult(
        "auroc_lower", lower is not None and lower >= g.auroc_lower_min,
        f"test AUROC 95% lower bound {lower} must be at least {g.auroc_lower_min}"))
    slope = m.get("test.lightgbm.calibration_slope.point")
    low, high = g.calibration_slope
    out.append(GateResult(
        "calibration_slope", slope is not None and low <= slope <= high,
        f"test calibration slope {slope} must be within {low}-{high}"))
    if champion is not None:
        mine = m.get("test.lightgbm.auroc.point")
        theirs = run_metrics(workspace, champion["run_id"]).get("test.lightgbm.auroc.point")
        ok = mine is not None and theirs is not None and \
            mine >= theirs - g.max_auroc_drop_vs_champion
        out.append(GateResult(
            "no_worse_than_champion", ok,
            f"test AUROC {mine} vs champion version {champion['version']}'s {theirs} "
            f"(tolerance {g.max_auroc_drop_vs_champion})"))
    audit = version["tags"].get(PASSED_TAG)
    out.append(GateResult(
        "fairness", audit == "true",
        "fairness audit: " + {"true": "passed", "false": "failed (see the audit report)"}.get(
            str(audit), f"not run yet: run `risk-model audit {spec.name} "
                        f"{version['version']}`")))
    return out


def promote(workspace: Workspace, name: str, version: str, *, force: bool = False,
            reason: str | None = None) -> PromoteResult:
    """Make a registered version the champion if it passes its gates.

    Parameters
    ----------
    workspace : Workspace
        The workspace whose MLflow registry (or ``MLFLOW_TRACKING_URI``) holds the model.
    name : str
        The model.
    version : str
        The version to promote.
    force : bool, optional
        Promote even if gates fail; needs ``reason``.
    reason : str, optional
        Why it is forced; recorded on the version.

    Returns
    -------
    PromoteResult
        Every gate's verdict and the aliases now set.

    Raises
    ------
    PromotionRefused
        Listing every failed gate, when not forced.
    ConfigError
        If the model or version does not exist, or ``force`` is given without a reason.
    """
    from risk_model.tracking import model_versions, set_alias, set_version_tags

    spec = spec_named(name)
    versions = {v["version"]: v for v in model_versions(workspace, name)}
    if str(version) not in versions:
        raise ConfigError(f"model {name!r} has no version {version!r}",
                          hint=f"registered versions: {', '.join(versions) or 'none'}; "
                          f"train one with `risk-model train {name}`")
    if force and not (reason or "").strip():
        raise ConfigError("--force needs --reason TEXT", hint="say why the gates are overridden")
    chosen = versions[str(version)]
    champion = next((v for v in versions.values() if ALIAS in v["aliases"]), None)
    if champion is not None and champion["version"] == chosen["version"]:
        raise ConfigError(f"version {version} of {name!r} is already the champion")
    gates = _gates(workspace, spec, chosen, champion)
    failed = [g for g in gates if not g.passed]
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    set_version_tags(workspace, name, chosen["version"], {
        f"risk_model.gate.{g.gate}": ("passed: " if g.passed else "failed: ") + g.detail
        for g in gates})
    if failed and not force:
        unaudited = chosen["tags"].get(PASSED_TAG) is None
        first = (f"run `risk-model audit {name} {chosen['version']}` first"
                 if unaudited and len(failed) == 1 else "train a better version")
        raise PromotionRefused(
            f"version {version} of {name!r} failed {len(failed)} gate(s): "
            + "; ".join(f"{g.gate}: {g.detail}" for g in failed),
            hint=f"{first}, or pass --force --reason TEXT to override")
    if force:
        set_version_tags(workspace, name, chosen["version"], {
            "risk_model.promotion.forced_reason": reason,
            "risk_model.promotion.forced_gates": ",".join(g.gate for g in failed) or "none"})
    if champion is not None:
        set_alias(workspace, name, PREVIOUS, champion["version"])
    set_alias(workspace, name, ALIAS, chosen["version"])
    set_version_tags(workspace, name, chosen["version"], {"risk_model.promoted_at": stamp})
    aliases = {ALIAS: chosen["version"]}
    if champion is not None:
        aliases[PREVIOUS] = champion["version"]
    return PromoteResult(model=name, version=chosen["version"], gates=gates, forced=force,
                         reason=reason if force else None,
                         previous=None if champion is None else champion["version"],
                         aliases=aliases)
