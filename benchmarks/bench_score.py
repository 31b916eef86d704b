r"""Benchmark monthly scoring at 1M residents against a naive pipeline; exact reasons for all.

Usage::

    .venv/bin/python benchmarks/bench_score.py --workspace-from /tmp/area1m --month 2025-03
    # develop on a small workspace; explain 5,000 rows in the naive pipeline and extrapolate
    .venv/bin/python benchmarks/bench_score.py --workspace-from /tmp/d20k --month 2025-03 \
        --naive-rows 5000

The source workspace must hold a registered model with the alias the workspace's settings
score with (``champion``). Its ``warehouse.duckdb``, ``mlflow/`` store (the absolute artifact
locations in its SQLite database are pointed at the copy, so nothing is written to the source),
``settings.yaml`` and ``review.db`` (if any) are copied into a temporary workspace;
``MLFLOW_TRACKING_URI`` and ``DATABASE_URL`` are ignored, so the copies are used. Each step runs
in a fresh process, one after the other, timed by stage, with its RSS sampled every 20 ms
while each stage runs (``peak_rss_mb``; ``process_peak_rss_mb`` is the process's own peak,
imports included).

1. **Ours, end to end**: :func:`risk_model.scoring.run.score` with ``overwrite=True``
   (features as of the month's end in DuckDB, predictions, attributable risk, the lists, exact
   SHAP reasons for everyone listed, drift, the warehouse tables, the patch files and the
   MLflow run). Its figure is the ``score()`` call; the process's wall time (interpreter start
   and imports too) is given as well.
2. **Naive**, with the same registered version (``models:/NAME/VERSION`` of step 1):

   - *pandas features*: the population (``population_sql``) and every catalogue view's rows
     (its SQL with ``$cutoff`` replaced) are loaded into pandas through DuckDB, as a pipeline
     would load its data; then each feature is computed on its own, the way straightforward
     pandas code would: filter the view's rows (before the cut-off, within the window, the
     feature's ``where``), aggregate per person or home with ``groupby``, merge onto the
     population one feature at a time, then the derived features after their inputs. Where a
     definition is a SQL expression (``where``, ``value``, ``expression``, coverage ``when``)
     that row-level expression is evaluated with DuckDB over the pandas frame rather than
     translated to pandas; everything else (filters, windows, aggregates, missing values,
     coverage, types) is pandas, following :mod:`risk_model.features.snapshot`. The frame is
     then compared with ours (:func:`~risk_model.features.snapshot.build_snapshot` and
     :func:`~risk_model.modelling.frame.read_model_frame`, not timed): every feature must be
     identical, or the step stops naming those that differ;
   - *predictions*: the booster's raw score, the calibration and the attributable risk, as in
     ours, compared with the month's ``scores`` table (largest absolute difference);
   - *SHAP*: ``shap.TreeExplainer(booster).shap_values`` on every resident (``--naive-rows N``
     explains the listed residents and others up to N rows and extrapolates the time spent
     explaining linearly to every row; the figures say so);
   - *reasons*: the top reasons of everyone on the month's lists from those values, for the
     housing officer and the analyst (:func:`~risk_model.modelling.explain.reasons`), compared
     with ``reasons_officer`` and ``reasons_analyst`` in the ``lists`` table.

   The naive figure is load, features, predictions, SHAP and reasons: it makes and writes no
   lists, checks no drift and logs no MLflow run, so the ratio naive / ours understates the gap.
3. **Exact reasons for all**: our frame for the month, exact path-dependent TreeSHAP values of
   every resident (:func:`~risk_model.modelling.explain.shap_values` with ``method="fast"``)
   and the analyst's reasons for every one; 2,000 rows are checked against LightGBM's
   ``pred_contrib`` (largest absolute difference, 1e-5 allowed), and the listed residents'
   reasons against the ``lists`` table.

Prints each step's figures, a summary with the issue's requirements (1 minute and 4 GB end to
end, at least 10 times faster than naive with identical risks and reasons, exact reasons for
everyone within 2 minutes) and writes the figures to ``benchmarks/results/bench_score.json``.
The load average before and after each step is recorded: figures from a busy machine mislead.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from _workspace import prepare

STEPS = ("ours", "naive", "exact")
RESULTS = Path(__file__).parent / "results" / "bench_score.json"
ROLES = {"housing_officer": "reasons_officer", "analyst": "reasons_analyst"}
CHECK_ROWS = 2_000
TOLERANCE = 1e-5
CHUNK = 100_000  # rows given to shap.TreeExplainer at a time
LIMITS = {"seconds": 60.0, "peak_rss_mb": 4096, "ratio": 10.0, "exact_seconds": 120.0}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class _Meter:
    """Time the stages of this process and sample its RSS every 20 ms while each runs."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}
        self._peak = _rss_mb()
        self._running = True
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while self._running:
            self._peak = max(self._peak, _rss_mb())
            time.sleep(0.02)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage; record its seconds and the peak RSS while it ran."""
        _log(f"{name} ...")
        self._peak = _rss_mb()
        t = time.perf_counter()
        yield
        seconds = time.perf_counter() - t
        self.stages[name] = {"seconds": round(seconds, 2),
                             "peak_rss_mb": round(max(self._peak, _rss_mb()))}
        _log(f"{name}: {seconds:.1f} s, peak RSS {self.stages[name]['peak_rss_mb']:,} MB")

    def figures(self) -> dict[str, Any]:
        """The stages, the peak over them and the process's own peak (imports included)."""
        self._running = False
        self._thread.join()
        return {"stages": self.stages,
                "peak_rss_mb": max((s["peak_rss_mb"] for s in self.stages.values()), default=0),
                "process_peak_rss_mb": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


# --- step 1: ours -------------------------------------------------------------------------

def _ours(ws_root: str, month: str) -> dict[str, Any]:
    """Score the month with the champion, end to end."""
    from risk_model.config import Workspace
    from risk_model.scoring.run import score

    meter = _Meter()
    with meter.stage("score"):
        result = score(Workspace.at(ws_root), month, overwrite=True, progress=_log)
    figures = meter.figures()
    return {"seconds": figures["stages"]["score"]["seconds"], "timings": result.timings,
            "peak_rss_mb": figures["peak_rss_mb"],
            "process_peak_rss_mb": figures["process_peak_rss_mb"],
            "scored": result.counts["scored"], "listed": result.counts["listed"],
            "patches": result.counts["patches"], "model": result.model,
            "version": result.version, "trusted": result.drift.get("trusted")}


# --- step 2: naive ------------------------------------------------------------------------

def _eval_sql(frame: Any, expression: str) -> Any:
    """A row-level SQL expression over a pandas frame, through DuckDB (one value per row)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("rows", frame)
        return con.execute(f"SELECT ({expression}) AS v FROM rows").df()["v"]
    finally:
        con.close()


def _sql_cast(raw: Any, kind: str) -> Any:
    """``CAST(raw AS <the feature type's SQL type>)``, as pandas nullable types."""
    import numpy as np
    import pandas as pd

    if kind == "category":
        return raw.astype(object).where(raw.notna(), None)
    if kind == "flag":
        if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            number = raw.astype("Float64")
            return (number != 0).astype("boolean").where(number.notna(), pd.NA)
        return raw.astype("boolean")
    number = raw.astype("Float64")
    if kind == "number":
        return number
    # DuckDB rounds a double to the nearest integer, halves away from zero
    values = number.to_numpy(dtype=float, na_value=np.nan)
    whole = np.sign(values) * np.floor(np.abs(values) + 0.5)
    return pd.Series(whole, index=raw.index).astype("Int32")


def _finish(feature: Any, raw: Any, covered: Any) -> Any:
    """Missing-value treatment, coverage and type, as ``snapshot._finish`` does in SQL."""
    import pandas as pd

    from risk_model.features.catalogue import NOT_KNOWN

    value = _sql_cast(raw, feature.type)
    if feature.missing == "zero":
        value = value.fillna(False if feature.type == "flag" else 0)
    elif feature.type == "category":
        value = value.where(value.notna(), NOT_KNOWN)
    if covered is not None:
        absent = NOT_KNOWN if feature.type == "category" else pd.NA
        value = value.where(covered, absent)
    return value


def _load(con: Any, catalogue: Any, chosen: list[Any], cutoff: date) -> tuple[Any, dict[str, Any]]:
    """The population and the rows of every view the features read, as pandas frames."""
    from risk_model.features.population import POPULATION_TABLE, population_sql
    from risk_model.features.snapshot import DUCKDB

    literal = DUCKDB.date(cutoff)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {POPULATION_TABLE} AS {population_sql(literal)}")
    population = con.execute(f"SELECT * FROM {POPULATION_TABLE}").df()
    names = {f.view for f in chosen if f.view not in (None, POPULATION_TABLE)}
    names |= {catalogue.coverage[f.coverage].view for f in chosen if f.coverage} - {None}
    views = {name: con.execute(catalogue.views[name].sql.replace("$cutoff", literal)).df()
             for name in sorted(names)}
    return population, views


def _window_start(cutoff: Any, window: Any) -> Any:
    """``cutoff - INTERVAL n unit`` (a month back from the 31st is the month's last day)."""
    import pandas as pd

    return cutoff - pd.DateOffset(**{f"{window.unit}s": window.n})


def _in_population(rows: Any, view: Any, population: Any, cutoff: Any) -> Any:
    """The view's rows the snapshot reads: keyed to someone in it, dated before the cut-off."""
    import pandas as pd

    keep = rows[view.key].isin(population[view.key].dropna())
    if view.date is not None:
        keep &= pd.to_datetime(rows[view.date]) < cutoff
    return rows[keep]


def _aggregate(feature: Any, view: Any, rows: Any, cutoff: Any) -> Any:
    """One feature of a view per key (a person or a home) that has rows, with pandas."""
    import numpy as np
    import pandas as pd

    key = view.key
    keys = pd.Index(rows[key].unique())
    take = np.ones(len(rows), dtype=bool)
    if feature.where:
        where = feature.where.replace("$cutoff", f"DATE '{cutoff.date().isoformat()}'")
        take &= _eval_sql(rows, f"coalesce(({where}), false)").to_numpy(dtype=bool)
    if feature.window is not None and not feature.window.is_all:
        take &= (pd.to_datetime(rows[view.date]) >= _window_start(cutoff, feature.window)
                 ).to_numpy()
    value = None
    if feature.value is not None:
        value = rows[feature.value] if feature.value in rows.columns \
            else _eval_sql(rows, feature.value).set_axis(rows.index)
    if feature.aggregate == "latest":
        take &= value.notna().to_numpy()
    chosen = rows[take]
    match feature.aggregate:
        case "count":
            return chosen.groupby(key).size().reindex(keys, fill_value=0)
        case "exists":
            return chosen.groupby(key).size().reindex(keys, fill_value=0) > 0
        case "days_since_last":
            last = pd.to_datetime(chosen[view.date]).dt.normalize().groupby(chosen[key]).max()
            return (cutoff - last.reindex(keys)).dt.days
        case "latest":
            order = [view.date, *([view.id] if view.id else [])]
            ranked = chosen.assign(__value=value[take]).sort_values([key, *order])
            return ranked.drop_duplicates(key, keep="last").set_index(key)["__value"]
        case "max" | "min" | "sum" | "value":
            picked = value[take]
            picked = picked[picked.notna()]
            grouped = picked.groupby(chosen.loc[picked.index, key])
            if feature.aggregate == "sum":
                return grouped.sum(min_count=1).reindex(keys)
            return (grouped.min() if feature.aggregate == "min" else grouped.max()).reindex(keys)
    raise ValueError(f"unknown aggregate {feature.aggregate!r}")


def _pandas_features(catalogue: Any, chosen: list[Any], population: Any,
                     views: dict[str, Any], cutoff: date) -> Any:
    """The snapshot of ``chosen`` computed feature by feature in pandas (see the docstring)."""
    import numpy as np
    import pandas as pd

    from risk_model.features.population import POPULATION_TABLE

    at = pd.Timestamp(cutoff)
    people = population.sort_values("person_id", ignore_index=True)
    out = pd.DataFrame({"person_id": people["person_id"]})
    covered: dict[str, np.ndarray] = {}
    for name in sorted({f.coverage for f in chosen if f.coverage}):
        cov = catalogue.coverage[name]
        if cov.when is not None:
            flag = _eval_sql(people, f"coalesce(({cov.when}), false)")
        else:
            view = catalogue.views[cov.view]
            rows = _in_population(views[cov.view], view, people, at)
            flag = people[view.key].isin(rows[view.key])
        covered[name] = flag.to_numpy(dtype=bool)
    for feature in chosen:
        if feature.view is None:
            continue
        if feature.view == POPULATION_TABLE:
            raw = people[feature.value] if feature.value in people.columns \
                else _eval_sql(people, feature.value).set_axis(people.index)
        else:
            view = catalogue.views[feature.view]
            rows = _in_population(views[feature.view], view, people, at)
            per_key = _aggregate(feature, view, rows, at).rename("__raw")
            merged = people[[view.key]].merge(per_key, left_on=view.key, right_index=True,
                                              how="left")
            raw = pd.Series(merged["__raw"].to_numpy(), index=people.index)
        out[feature.name] = _finish(feature, raw, covered.get(feature.coverage or ""))
    names = {f.name for f in chosen}
    for layer in catalogue.order[1:]:
        for name in layer:
            if name not in names:
                continue
            feature = catalogue.features[name]
            raw = _eval_sql(out[list(feature.inputs)], feature.expression)
            out[name] = _finish(feature, raw.set_axis(out.index),
                                covered.get(feature.coverage or ""))
    return out


def _compare(naive: Any, ours: Any) -> dict[str, int]:
    """Rows that differ, by feature (NaN equals NaN; numbers must be exactly equal)."""
    import numpy as np

    differ = {}
    for name in ours.columns:
        a, b = naive[name].to_numpy(), ours[name].to_numpy()
        if a.dtype.kind == "f" and b.dtype.kind == "f":
            same = (a == b) | (np.isnan(a) & np.isnan(b))
        else:
            same = a.astype(str) == b.astype(str)
        if not same.all():
            differ[name] = int((~same).sum())
    return differ


def _listed(con: Any, month: str) -> Any:
    return con.execute("SELECT person_id, reasons_officer, reasons_analyst FROM lists "
                       "WHERE month = ? ORDER BY patch, position", [month]).df()


def _as_lists(column: Any) -> list[list[str]]:
    return [[str(x) for x in (r if r is not None else [])] for r in column]


def _naive(ws_root: str, month: str, model_uri: str, naive_rows: int | None) -> dict[str, Any]:
    """The naive pipeline (see the module docstring), checked against ours."""
    import duckdb
    import numpy as np
    import pandas as pd
    import shap

    from risk_model.config import Workspace
    from risk_model.features.catalogue import load_catalogue
    from risk_model.features.snapshot import build_snapshot, cutoff_of, needed_features
    from risk_model.modelling.explain import Explanation, attributable_risk, reasons
    from risk_model.modelling.frame import lightgbm_frame, model_frame, read_model_frame
    from risk_model.scoring.run import month_end
    from risk_model.tracking import load_pyfunc

    ws = Workspace.at(ws_root)
    as_of = month_end(month)
    cutoff = cutoff_of(as_of)  # scoring applies no recording lag
    top = ws.settings().scoring.reasons
    meter = _Meter()
    out: dict[str, Any] = {"model_uri": model_uri}
    with meter.stage("load_model"):
        py = load_pyfunc(ws, model_uri).unwrap_python_model()
    booster, calibration, schema = py.booster, py.calibration, py.schema
    catalogue = load_catalogue()
    chosen = needed_features(catalogue, schema.names)
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        with meter.stage("load_data"):
            population, views = _load(con, catalogue, chosen, cutoff)
        with meter.stage("pandas_features"):
            built = _pandas_features(catalogue, chosen, population, views, cutoff)
            person_id = built["person_id"]
            frame = model_frame(built, schema)
        del population, views, built
        t = time.perf_counter()  # the check, not part of the naive pipeline
        build_snapshot(con, catalogue, as_of, features=schema.names, table="bench_snapshot")
        ours_id, ours = read_model_frame(con, as_of, schema, table="bench_snapshot")
        scores = con.execute("SELECT person_id, risk, attributable_risk FROM scores "
                             "WHERE month = ? ORDER BY person_id", [month]).df()
        listed = _listed(con, month)
    out["residents"] = len(frame)
    out["features"] = len(schema.names)
    if not person_id.equals(ours_id):
        if set(person_id) != set(ours_id):
            out["frames_identical"] = False
            out["error"] = (f"the naive population has {len(person_id):,} residents, ours "
                            f"{len(ours_id):,}: {len(set(person_id) ^ set(ours_id)):,} differ")
            return {**out, **meter.figures()}
        where = pd.Series(np.arange(len(person_id)), index=person_id.to_numpy())
        at = where.reindex(ours_id.to_numpy()).to_numpy()
        frame, person_id = frame.iloc[at].reset_index(drop=True), ours_id
    differ = _compare(frame, ours)
    out["frames_identical"] = not differ
    out["features_differing"] = differ
    out["check_seconds"] = round(time.perf_counter() - t, 2)
    del ours
    if differ:
        out["error"] = "the pandas features differ from ours: " + ", ".join(
            f"{n} ({k:,} rows)" for n, k in differ.items())
        return {**out, **meter.figures()}
    _log(f"pandas features identical to ours for {len(frame):,} residents, "
         f"{len(schema.names)} features")

    with meter.stage("predict"):
        raw = booster.predict(lightgbm_frame(frame, schema), raw_score=True)
        risk = np.clip(calibration(raw), 0.0, 1.0)
        gain = attributable_risk(
            lambda f: np.clip(calibration(booster.predict(lightgbm_frame(f, schema),
                                                          raw_score=True)), 0.0, 1.0),
            frame, schema.entries)
    if not person_id.reset_index(drop=True).equals(scores["person_id"]):
        out["risks_identical"] = False
        out["error"] = (f"the month's scores table has {len(scores):,} residents, "
                        f"the naive frame {len(frame):,}")
        return {**out, **meter.figures()}
    out["risk_max_abs_diff"] = float(np.max(np.abs(risk - scores["risk"].to_numpy()),
                                            initial=0.0))
    out["attributable_max_abs_diff"] = float(np.max(
        np.abs(gain - scores["attributable_risk"].to_numpy()), initial=0.0))
    out["risks_identical"] = out["risk_max_abs_diff"] < 1e-12
    position = pd.Series(np.arange(len(person_id)), index=person_id.to_numpy())
    on_list = position.reindex(listed["person_id"].to_numpy()).to_numpy()
    if np.isnan(on_list.astype(float)).any():
        out["error"] = "someone on the month's lists is not in the naive frame"
        return {**out, **meter.figures()}
    on_list = on_list.astype(int)

    n = len(frame)
    if naive_rows is None or naive_rows >= n:
        explain = np.arange(n)
    else:  # the listed residents, then others by pseudonym hash, up to naive_rows
        hashed = pd.util.hash_pandas_object(person_id, index=False).to_numpy()
        order = np.argsort(hashed, kind="stable")
        others = order[~np.isin(order, on_list)]
        extra = others[:max(0, naive_rows - len(on_list))]
        explain = np.sort(np.concatenate([on_list, extra]))
    with meter.stage("shap"):
        data = lightgbm_frame(frame, schema)
        explainer = shap.TreeExplainer(booster)
        values = np.full((n, len(schema.names)), np.nan)
        t = time.perf_counter()
        for start in range(0, len(explain), CHUNK):
            rows = explain[start:start + CHUNK]
            with warnings.catch_warnings():  # its note that binary output is now a list
                warnings.filterwarnings("ignore", "LightGBM binary classifier", UserWarning)
                got = explainer.shap_values(data.iloc[rows], check_additivity=False)
            values[rows] = got[1] if isinstance(got, list) else got
            _log(f"shap.TreeExplainer: {start + len(rows):,} of {len(explain):,} rows")
        per_row = (time.perf_counter() - t) / max(len(explain), 1)
        base = float(np.ravel(explainer.expected_value)[-1])
    shap_seconds = meter.stages["shap"]["seconds"]
    out["shap_rows_explained"] = len(explain)
    out["shap_extrapolated"] = len(explain) < n
    out["shap_seconds_measured"] = shap_seconds
    # the frame's conversion and the explainer are made once; the explaining scales with rows
    out["shap_seconds_all_rows"] = round(shap_seconds + per_row * (n - len(explain)), 2)

    with meter.stage("reasons"):
        sub = frame.iloc[on_list].reset_index(drop=True)
        explanation = Explanation(pd.DataFrame(values[on_list], columns=schema.names),
                                  base, raw[on_list])
        said = {role: reasons(explanation, sub, schema.entries, role=role, top=top)
                for role in ROLES}
    same = np.ones(len(on_list), dtype=bool)
    for role, column in ROLES.items():
        match = np.array([a == b for a, b in zip(said[role], _as_lists(listed[column]),
                                                 strict=True)], dtype=bool)
        out[f"reasons_identical_{role}"] = int(match.sum())
        same &= match
    out["listed"] = len(on_list)
    out["reasons_identical"] = int(same.sum())
    figures = meter.figures()
    stages = {k: v["seconds"] for k, v in figures["stages"].items()}
    stages["shap"] = out["shap_seconds_all_rows"]
    out["stage_seconds"] = stages
    out["seconds"] = round(sum(stages.values()), 2)
    return {**out, **figures}


# --- step 3: exact reasons for everyone ---------------------------------------------------

def _exact(ws_root: str, month: str, model_uri: str) -> dict[str, Any]:
    """Exact SHAP values (fast path) and analyst reasons for every resident of the month."""
    import duckdb
    import numpy as np

    from risk_model.config import Workspace
    from risk_model.features.catalogue import load_catalogue
    from risk_model.features.snapshot import build_snapshot
    from risk_model.modelling.explain import reasons, shap_values
    from risk_model.modelling.frame import lightgbm_frame, read_model_frame
    from risk_model.scoring.run import month_end
    from risk_model.tracking import load_pyfunc

    ws = Workspace.at(ws_root)
    as_of = month_end(month)
    top = ws.settings().scoring.reasons
    meter = _Meter()
    with meter.stage("load_model"):
        py = load_pyfunc(ws, model_uri).unwrap_python_model()
    booster, schema = py.booster, py.schema
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        with meter.stage("features"):
            build_snapshot(con, load_catalogue(), as_of, features=schema.names,
                           table="bench_snapshot")
            person_id, frame = read_model_frame(con, as_of, schema, table="bench_snapshot")
        listed = _listed(con, month)
    with meter.stage("shap_fast"):
        explanation = shap_values(booster, frame, schema, method="fast")
    with meter.stage("reasons_analyst"):
        said = reasons(explanation, frame, schema.entries, role="analyst", top=top)
    figures = meter.figures()
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(frame), size=min(CHECK_ROWS, len(frame)), replace=False))
    contrib = np.asarray(booster.predict(lightgbm_frame(frame.iloc[rows], schema),
                                         pred_contrib=True))
    diff = float(np.max(np.abs(explanation.values.to_numpy()[rows] - contrib[:, :-1]),
                        initial=0.0))
    base_diff = float(np.max(np.abs(explanation.base - contrib[:, -1]), initial=0.0))
    at = {p: i for i, p in enumerate(person_id)}
    same = sum(said[at[p]] == r for p, r in zip(listed["person_id"],
                                                _as_lists(listed["reasons_analyst"]),
                                                strict=True) if p in at)
    stages = {k: v["seconds"] for k, v in figures["stages"].items()}
    return {"residents": len(frame), "with_reasons": sum(1 for r in said if r),
            "stage_seconds": stages, "seconds": round(sum(stages.values()), 2),
            "explain_seconds": round(stages["shap_fast"] + stages["reasons_analyst"], 2),
            "checked_rows": len(rows), "max_abs_diff": diff, "base_abs_diff": base_diff,
            "within_tolerance": max(diff, base_diff) <= TOLERANCE,
            "listed": len(listed), "listed_reasons_identical": int(same), **figures}


# --- the parent ---------------------------------------------------------------------------

def _copy_stores(source: Path, ws: Path) -> None:
    """Copy what scoring needs besides the warehouse; point the MLflow store at the copy."""
    wal = source / "warehouse.duckdb.wal"
    if wal.exists():
        shutil.copy2(wal, ws / wal.name)
    if not (source / "mlflow" / "mlflow.db").exists():
        sys.exit(f"{source} has no MLflow store (mlflow/mlflow.db): scoring needs its "
                 "registered champion; train, audit and promote a model there first")
    shutil.copytree(source / "mlflow", ws / "mlflow")
    for name in ("settings.yaml", "review.db", "review.db-wal", "review.db-shm"):
        if (source / name).exists():
            shutil.copy2(source / name, ws / name)
    old, new = str((source / "mlflow").resolve()), str((ws / "mlflow").resolve())
    con = sqlite3.connect(ws / "mlflow" / "mlflow.db")
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for _, column, kind, *_ in con.execute(f'PRAGMA table_info("{table}")'):
                if kind.upper() in ("", "TEXT") or "CHAR" in kind.upper():
                    con.execute(f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '
                                f'WHERE instr("{column}", ?) > 0', [old, new, old])
        con.commit()
    finally:
        con.close()


def _run(step: str, params: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run a step in a fresh process; its figures, with the wall time and the load around it."""
    load = os.getloadavg()
    t = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", step, json.dumps(params)],
                         stdout=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - t
    if out.returncode:
        return {"error": f"the {step} step failed (exit {out.returncode}); see its output above",
                "load_before": [round(x, 2) for x in load]}
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    return {**figures, "process_wall_seconds": round(wall, 2),
            "load_before": [round(x, 2) for x in load],
            "load_after": [round(x, 2) for x in os.getloadavg()]}


def _verdicts(result: dict[str, Any]) -> dict[str, bool | None]:
    ours, naive, exact = (result.get(k, {}) for k in STEPS)
    ok: dict[str, bool | None] = {
        "ours_within_1_minute": ours.get("seconds", 1e9) <= LIMITS["seconds"] if ours else None,
        "ours_within_4_gb": ours.get("process_peak_rss_mb", 1e9) <= LIMITS["peak_rss_mb"]
        if ours else None,
        "at_least_10x_faster": result["ratio"] >= LIMITS["ratio"]
        if result.get("ratio") else None,
        "identical_risks": naive.get("risks_identical") if naive else None,
        "identical_reasons_for_everyone_listed":
            naive.get("reasons_identical") == naive.get("listed")
            if naive and "reasons_identical" in naive else None,
        "exact_reasons_for_all_within_2_minutes":
            exact.get("seconds", 1e9) <= LIMITS["exact_seconds"] if exact else None,
        "exact_values_within_1e-5": exact.get("within_tolerance") if exact else None,
    }
    return ok


def _stages(stages: dict[str, float]) -> str:
    return ", ".join(f"{k} {v}" for k, v in stages.items())


def _print(result: dict[str, Any]) -> None:
    ours, naive, exact = (result.get(k) for k in STEPS)
    lines = [f"bench_score {result['source']} {result['month']}, {result['cpus']} cores, "
             f"load average at start {result['load_at_start']}"]
    if ours and "error" in ours:
        lines.append(f"ours: {ours['error']}")
    elif ours:
        lines.append(f"ours: {ours['seconds']} s (process {ours['process_wall_seconds']} s), "
                     f"peak RSS {ours['process_peak_rss_mb']:,} MB; {ours['scored']:,} scored, "
                     f"{ours['listed']:,} listed in {ours['patches']} patches; stages "
                     f"{_stages(ours['timings'])}")
    if naive and "stage_seconds" in naive:
        shap = (f"extrapolated from {naive['shap_rows_explained']:,} rows "
                f"({naive['shap_seconds_measured']} s)" if naive["shap_extrapolated"]
                else f"all {naive['shap_rows_explained']:,} rows")
        lines.append(f"naive: {naive['seconds']} s ({_stages(naive['stage_seconds'])}; SHAP "
                     f"{shap}), peak RSS {naive['process_peak_rss_mb']:,} MB")
        lines.append(f"naive vs ours: features identical {naive['frames_identical']}; risk max "
                     f"|diff| {naive['risk_max_abs_diff']:.1e}, attributable risk "
                     f"{naive['attributable_max_abs_diff']:.1e}; identical reasons for "
                     f"{naive['reasons_identical']:,} of {naive['listed']:,} listed")
    if naive and "error" in naive:
        lines.append(f"naive: {naive['error']}")
    if result.get("ratio"):
        lines.append(f"ratio naive / ours: {result['ratio']}x")
    if exact and "error" in exact:
        lines.append(f"exact reasons for all: {exact['error']}")
    elif exact:
        lines.append(f"exact reasons for all: {exact['seconds']} s "
                     f"({_stages(exact['stage_seconds'])}), peak RSS "
                     f"{exact['process_peak_rss_mb']:,} MB, {exact['residents']:,} residents; "
                     f"max |diff| vs pred_contrib {exact['max_abs_diff']:.1e} on "
                     f"{exact['checked_rows']:,} rows; listed analyst reasons identical "
                     f"{exact['listed_reasons_identical']:,} of {exact['listed']:,}")
    lines.append("requirements: " + ", ".join(f"{k} {v}" for k, v in result["verdicts"].items()))
    print("\n".join(lines), flush=True)


def main() -> None:
    """Copy the workspace, run the steps in fresh processes, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace-from", type=Path, required=False,
                        help="a workspace with a warehouse and a registered champion")
    parser.add_argument("--month", help="YYYY-MM")
    parser.add_argument("--naive-rows", type=int, default=None,
                        help="explain only the listed and up to N rows with shap.TreeExplainer "
                             "and extrapolate (default: every row)")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help="comma-separated, of ours, naive, exact (naive and exact compare "
                             "with the month's lists in the copied warehouse)")
    parser.add_argument("--child", nargs=2, metavar=("STEP", "PARAMS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, params = args.child[0], json.loads(args.child[1])
        run = {"ours": _ours, "naive": _naive, "exact": _exact}[step]
        print(json.dumps(run(**params), default=str))
        return
    if args.workspace_from is None or args.month is None:
        parser.error("--workspace-from and --month are required")
    steps = [s for s in args.steps.split(",") if s]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"--steps takes {', '.join(STEPS)}, got {', '.join(unknown)}")
    source = args.workspace_from.expanduser().resolve()
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI",
                                                             "DATABASE_URL")}
    result: dict[str, Any] = {"benchmark": "score", "source": str(source), "month": args.month,
                              "cpus": os.cpu_count(),
                              "load_at_start": [round(x, 2) for x in os.getloadavg()],
                              "naive_rows": args.naive_rows}
    with tempfile.TemporaryDirectory(prefix="bench-score-") as tmp:
        ws = Path(tmp) / "ws"
        t = time.perf_counter()
        prepare(ws, source=source, residents=0, months=0, link=True, truth=False)
        _copy_stores(source, ws)
        _log(f"copied {source} in {time.perf_counter() - t:.0f} s")
        base = {"ws_root": str(ws), "month": args.month}
        if "ours" in steps:
            result["ours"] = _run("ours", base, env)
        model = _scored_model(ws, args.month)
        if model is None:
            sys.exit(f"{args.month} has not been scored in the copy: run the ours step")
        if "naive" in steps:
            result["naive"] = _run("naive", {**base, "model_uri": model,
                                             "naive_rows": args.naive_rows}, env)
        if "exact" in steps:
            result["exact"] = _run("exact", {**base, "model_uri": model}, env)
    ours, naive = result.get("ours", {}), result.get("naive", {})
    if ours.get("seconds") and naive.get("seconds"):
        result["ratio"] = round(naive["seconds"] / ours["seconds"], 1)
    result["verdicts"] = _verdicts(result)
    _print(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1, default=str))
    print(f"figures written to {RESULTS}")


def _scored_model(ws: Path, month: str) -> str | None:
    """``models:/NAME/VERSION`` the month was scored with in the copy (``None`` if not)."""
    import duckdb

    with duckdb.connect(str(ws / "warehouse.duckdb"), read_only=True) as con:
        row = con.execute("SELECT model, model_version FROM scoring_runs WHERE month = ? "
                          "ORDER BY scored_at DESC LIMIT 1", [month]).fetchone()
    return None if row is None else f"models:/{row[0]}/{row[1]}"


if __name__ == "__main__":
    main()
