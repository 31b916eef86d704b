"""Benchmark explanations: SHAP values, reasons by role and attributable risk for 100,000 people.

Usage::

    .venv/bin/python benchmarks/bench_explain.py --workspace-from /tmp/area1m  # linked already
    .venv/bin/python benchmarks/bench_explain.py --residents 20000
    MLFLOW_TRACKING_URI=URI .venv/bin/python benchmarks/bench_explain.py
        --workspace-from /tmp/area1m --model-uri models:/respiratory_admission_12m/1

The workspace comes from ``--workspace-from`` (its warehouse and ``truth/`` are copied into a
temporary workspace whose MLflow store starts empty) or is generated, ingested and linked first
(``_workspace.prepare``). Without ``--model-uri`` the model (respiratory by default) is trained
first in its own process with :func:`risk_model.modelling.run.train` (about 4 minutes at 1M,
plus the snapshots if the warehouse lacks them); with it, that registered model is used (the
store is then whatever ``MLFLOW_TRACKING_URI`` points at) and the test date's snapshot is built
if missing.

The measured steps run in a fresh process, on ``--rows`` residents of the test date (those
whose pseudonym hashes lowest, the same people on every run): the exact SHAP values
(:func:`~risk_model.modelling.explain.shap_values`, LightGBM's ``pred_contrib``), the reasons
for a housing officer and for an analyst (:func:`~risk_model.modelling.explain.reasons`) and the
housing-attributable risk (:func:`~risk_model.modelling.explain.attributable_risk`, which
predicts twice through the registered pyfunc model). Each is timed on its own; the peak RSS is
the measuring process's. Then the fairness audit of the version
(:func:`risk_model.modelling.audit.audit`: scoring the whole test cohort, metrics by group with
bootstrap intervals, data availability, the report and its logging) runs in a fresh process of
its own, timed with its peak RSS. Prints one line of figures and a JSON summary on the last
line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _workspace import prepare

ROLES = ("housing_officer", "analyst")

TRAIN = """
import json, sys, time
from risk_model.config import Workspace
from risk_model.modelling.run import train
t0 = time.perf_counter()
result = train(Workspace.at(sys.argv[1]), sys.argv[2]).to_dict()
print(json.dumps({"seconds": round(time.perf_counter() - t0, 2), "version": result["version"],
                  "model_uri": f"models:/{result['model']}/{result['version']}",
                  "rows": result["rows"]}))
"""


AUDIT = """
import json, resource, sys, time
from risk_model.config import Workspace
from risk_model.modelling.audit import audit
t0 = time.perf_counter()
result = audit(Workspace.at(sys.argv[1]), sys.argv[2], sys.argv[3]).to_dict()
print(json.dumps({"seconds": round(time.perf_counter() - t0, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "passed": result["passed"], "gates": len(result["gates"]),
                  "failed": {g["gate"]: g["detail"] for g in result["gates"] if not g["passed"]},
                  "availability_flags": len(result["availability_flags"])}))
"""


def _measure(ws_root: Path, name: str, model_uri: str, version: str | None,
             rows: int) -> dict[str, Any]:
    """The measured steps (run in a fresh process by :func:`main`)."""
    import resource

    import duckdb
    import lightgbm as lgb
    import mlflow
    import mlflow.artifacts
    import numpy as np
    import pandas as pd

    from risk_model.config import Workspace
    from risk_model.features.run import build_features
    from risk_model.modelling.explain import attributable_risk, reasons, shap_values
    from risk_model.modelling.frame import FeatureSchema, read_model_frame
    from risk_model.modelling.spec import load_specs

    ws = Workspace.at(ws_root)
    path = Path(mlflow.artifacts.download_artifacts(model_uri))
    bundle = json.loads((path / "artifacts" / "features.json").read_text())
    schema = FeatureSchema(bundle["features"])
    booster = lgb.Booster(model_file=str(path / "artifacts" / "booster.txt"))
    model = mlflow.pyfunc.load_model(model_uri)
    spec = load_specs()[name]
    assert spec.dates is not None
    test_date = spec.dates.test
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        try:
            built = {d for (d,) in con.execute(
                "SELECT DISTINCT CAST(as_of AS DATE) FROM feature_snapshots").fetchall()}
        except duckdb.CatalogException:
            built = set()
    if test_date not in built:
        build_features(ws, [test_date])
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        people, frame = read_model_frame(con, test_date, schema)
    hashed = pd.util.hash_pandas_object(people, index=False).to_numpy()
    chosen = np.sort(np.argsort(hashed, kind="stable")[:rows])
    frame = frame.iloc[chosen].reset_index(drop=True)

    figures: dict[str, Any] = {"rows": len(frame), "residents_on_date": len(people),
                               "test_date": str(test_date), "features": len(schema.names)}
    t = time.perf_counter()
    explanation = shap_values(booster, frame, schema)
    figures["shap_seconds"] = round(time.perf_counter() - t, 2)
    for role in ROLES:
        t = time.perf_counter()
        said = reasons(explanation, frame, schema.entries, role=role)
        figures[f"reasons_{role}_seconds"] = round(time.perf_counter() - t, 2)
        figures[f"reasons_{role}_with_any"] = sum(1 for r in said if r)
    t = time.perf_counter()
    gain = attributable_risk(model.predict, frame, schema.entries)
    figures["attributable_seconds"] = round(time.perf_counter() - t, 2)
    figures["attributable_mean"] = round(float(np.mean(gain)), 6)
    importance = explanation.importance()
    figures["importance"] = importance.round(5).to_dict()
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return figures


def main() -> None:
    """Prepare the workspace and model, then measure in a fresh process and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--model", default="respiratory_admission_12m")
    parser.add_argument("--model-uri", default=None,
                        help="a registered model of --model to explain instead of training one "
                             "(its store: MLFLOW_TRACKING_URI)")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workspace-from", type=Path, default=None,
                        help="an ingested and linked workspace whose warehouse and truth to copy")
    parser.add_argument("--measure", nargs=5, metavar=("WS", "MODEL", "URI", "VERSION", "ROWS"),
                        help=argparse.SUPPRESS)  # the measuring child process
    args = parser.parse_args()
    if args.measure:
        ws, name, uri, version, rows = args.measure
        print(json.dumps(_measure(Path(ws), name, uri, None if version == "-" else version,
                                  int(rows))))
        return
    with tempfile.TemporaryDirectory(prefix="bench-explain-") as tmp:
        ws = Path(tmp) / "ws"
        prepare(ws, source=args.workspace_from, residents=args.residents, months=args.months,
                link=True, truth=True)
        env = dict(os.environ)
        trained = None
        if args.model_uri is None:
            env.pop("MLFLOW_TRACKING_URI", None)
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", TRAIN, str(ws), args.model],
                                 capture_output=True, text=True, env=env)
            if out.returncode:
                sys.exit(f"train failed:\n{out.stderr[-4000:]}")
            trained = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"(training {args.model} took {time.perf_counter() - t0:.0f} s)", flush=True)
            from risk_model.config import Workspace
            from risk_model.tracking import tracking_uri

            env["MLFLOW_TRACKING_URI"] = tracking_uri(Workspace.at(ws))
        uri = args.model_uri or trained["model_uri"]
        version = trained["version"] if trained else None
        out = subprocess.run([sys.executable, __file__, "--measure", str(ws), args.model, uri,
                              str(version or "-"), str(args.rows)],
                             capture_output=True, text=True, env=env)
        if out.returncode:
            sys.exit(f"measuring failed:\n{out.stderr[-4000:]}")
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        if version is None and uri.startswith("models:/") and uri.count("/") == 2:
            version = uri.rsplit("/", 1)[1]
        if version is not None:  # the audit, in a fresh process of its own
            out = subprocess.run([sys.executable, "-c", AUDIT, str(ws), args.model, version],
                                 capture_output=True, text=True, env=env)
            if out.returncode:
                sys.exit(f"audit failed:\n{out.stderr[-4000:]}")
            figures["audit"] = json.loads(out.stdout.strip().splitlines()[-1])
    label = str(args.workspace_from) if args.workspace_from else f"{args.residents:,} residents"
    top = ", ".join(list(figures["importance"])[:5])
    audit = (f"; fairness audit {figures['audit']['seconds']} s, peak RSS "
             f"{figures['audit']['peak_rss_mb']:,} MB" if "audit" in figures
             else "; no audit (give --model-uri models:/NAME/VERSION)")
    print(f"explain {uri} on {label}, {figures['rows']:,} of {figures['residents_on_date']:,} "
          f"residents on {figures['test_date']}: SHAP values {figures['shap_seconds']} s, "
          f"reasons (housing officer) {figures['reasons_housing_officer_seconds']} s, "
          f"reasons (analyst) {figures['reasons_analyst_seconds']} s, attributable risk "
          f"{figures['attributable_seconds']} s{audit}; peak RSS {figures['peak_rss_mb']:,} MB; "
          f"top features {top}", flush=True)
    print(json.dumps({"benchmark": "explain", "model_uri": uri, "source": label,
                      "train": trained, **figures}))


if __name__ == "__main__":
    main()
