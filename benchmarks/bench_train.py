"""Benchmark ``risk-model train``: one tracked training run at 1M residents.

Usage::

    .venv/bin/python benchmarks/bench_train.py                              # 1M residents
    .venv/bin/python benchmarks/bench_train.py --residents 20000
    .venv/bin/python benchmarks/bench_train.py --workspace-from /tmp/area1m  # linked already
    .venv/bin/python benchmarks/bench_train.py --workspace-from /tmp/d5k --model NAME

Without ``--workspace-from`` the area is generated (``_area.py``), ingested and linked first,
each in its own process (about 7 minutes at 1M). With it, the workspace's warehouse and
``truth/`` are copied into a temporary workspace whose MLflow store starts empty (and
``MLFLOW_TRACKING_URI`` is unset for the measured process, so nothing reaches another store).
The measured step runs in a fresh process, so the peak RSS is its own: the whole of
:func:`risk_model.modelling.run.train` (snapshots for the spec's dates built if the warehouse
lacks them, fitting LightGBM and the baseline, evaluation with bootstrap intervals for
LightGBM, the baseline and the true risk, MLflow logging and registration). The goal: within
10 minutes at 1M residents. Prints one line of figures and a JSON summary on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _workspace import prepare

GOAL_SECONDS = 600

CHILD = """
import json, resource, sys, time
from risk_model.config import Workspace
from risk_model.modelling.run import train
ws = Workspace.at(sys.argv[1])
stages = []
t0 = time.perf_counter()
def progress(message):
    stages.append([round(time.perf_counter() - t0, 2), message])
result = train(ws, sys.argv[2], progress=progress).to_dict()
seconds = time.perf_counter() - t0
test = result["test"]
print(json.dumps({
    "seconds": round(seconds, 2),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "rows": result["rows"], "best_iteration": result["best_iteration"],
    "version": result["version"],
    "test": {scorer: {"auroc": m["auroc"], "calibration_slope": m["calibration_slope"],
                      "n": m["n"], "events": m["events"]} for scorer, m in test.items()},
    "stages": stages,
}))
"""

def _interval(m: dict[str, float]) -> str:
    return f"{m['point']:.3f} ({m['lower']:.3f}-{m['upper']:.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--model", default="emergency_admission_12m")
    parser.add_argument("--workspace-from", type=Path, default=None,
                        help="an ingested and linked workspace whose warehouse and truth to copy")
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the linked workspace here for later runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        ws = Path(tmp) / "ws"
        prepare(ws, source=args.workspace_from, residents=args.residents, months=args.months,
                link=True, truth=True, keep=args.keep)
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
        out = subprocess.run([sys.executable, "-c", CHILD, str(ws), args.model],
                             capture_output=True, text=True, env=env)
        if out.returncode:
            sys.exit(f"train failed:\n{out.stderr[-4000:]}")
        figures = json.loads(out.stdout.strip().splitlines()[-1])
    label = str(args.workspace_from) if args.workspace_from else f"{args.residents:,} residents"
    rows = ", ".join(f"{k} {v:,}" for k, v in figures["rows"].items())
    scores = "; ".join(f"{scorer} AUROC {_interval(m['auroc'])} slope "
                       f"{_interval(m['calibration_slope'])}"
                       for scorer, m in figures["test"].items())
    within = "within" if figures["seconds"] <= GOAL_SECONDS else "OVER"
    print(f"train {args.model} on {label}: {figures['seconds']} s ({within} the "
          f"{GOAL_SECONDS // 60}-minute goal at 1M), peak RSS {figures['peak_rss_mb']:,} MB; "
          f"rows {rows}; best iteration {figures['best_iteration']}; test {scores}",
          flush=True)
    print(json.dumps({"benchmark": "train", "model": args.model, "source": label,
                      "goal_seconds": GOAL_SECONDS, **figures}))


if __name__ == "__main__":
    main()
