"""Benchmark the Spark engine against DuckDB: link, features and score on the same workspace.

Usage::

    .venv/bin/python benchmarks/bench_spark.py --residents 100000         # generates the area
    .venv/bin/python benchmarks/bench_spark.py --workspace-from /tmp/area1m
    .venv/bin/python benchmarks/bench_spark.py --residents 100000 --keep /tmp/area100k

The workspace needs a champion model: ``--workspace-from`` takes one that was linked, featured
(the shipped specs' dates) and had ``emergency_admission_12m`` trained and promoted (as
``bench_score.py`` needs); without it the area is generated (``_area.py``), ingested, linked,
featured, trained and promoted first (about 6 minutes at 100k residents). Its warehouse is
exported to a lake (Parquet folders) for Spark.

Each step then runs in a fresh process, on DuckDB and on Spark in local mode (``local[2]``,
``--master`` for another), so the Spark figures include starting the JVM and the session (also
measured alone, as ``spark_session``):

- ``link``: with the model the workspace's linkage estimated (``--model``), so both engines
  apply the same parameters and give the same links;
- ``features``: one as-of snapshot (2025-03-31) with its labels and reports;
- ``score``: the month 2025-03 end to end.

Prints one line per measurement and a JSON summary on the last line (seconds, peak RSS of the
Python process and, for Spark, of its JVM, read from ``/proc`` before the session ends).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _workspace import prepare

PREPARE = """
import datetime, shutil, sys
from risk_model.config import Workspace
from risk_model.features.run import build_features
from risk_model.modelling.run import promote, train
ws = Workspace.at(sys.argv[1])
build_features(ws, [datetime.date(2022, 3, 31), datetime.date(2023, 3, 31),
                    datetime.date(2024, 3, 31)])
result = train(ws, "emergency_admission_12m")
promote(ws, "emergency_admission_12m", result.version, force=True,
        reason="bench_spark: scoring speed, not a deployment")
"""

CHILD = """
import datetime, json, resource, sys, time, warnings
warnings.simplefilter("ignore", FutureWarning)
from pathlib import Path
from risk_model.config import Workspace
ws = Workspace.at(sys.argv[1])
engine, step = sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
if step == "spark_session":
    from risk_model.engine import connect
    with connect(ws, "spark") as con:
        con.execute("SELECT count(*) FROM gp_registrations").fetchone()
    rows = None
elif step == "link":
    from risk_model.linkage.run import link
    result = link(ws, engine=engine, overwrite=True, model=Path(sys.argv[4]))
    rows = result.to_dict()["counts"]["linked"]
elif step == "features":
    from risk_model.features.run import build_features
    result = build_features(ws, [datetime.date(2025, 3, 31)], engine=engine, overwrite=True)
    rows = result.snapshots[0]["rows"]
else:
    from risk_model.scoring.run import score
    result = score(ws, "2025-03", engine=engine, overwrite=True)
    rows = result.counts["scored"]
seconds = time.perf_counter() - t0
jvm_kb = 0  # the JVM is a child of this process while the session lives: its peak resident set
for children in Path("/proc/self/task").glob("*/children"):
    for pid in children.read_text().split():
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    jvm_kb = max(jvm_kb, int(line.split()[1]))
print(json.dumps({
    "engine": engine, "step": step, "seconds": round(seconds, 1), "rows": rows,
    "python_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "jvm_peak_rss_mb": round(jvm_kb / 1024),
}))
"""


def _run(ws: Path, engine: str, step: str, *extra: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(ws), engine, step, *extra],
                          check=True, capture_output=True, text=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{engine:6s} {step:14s} {figures['seconds']:8.1f} s  rows {figures['rows']}  "
          f"python {figures['python_peak_rss_mb']} MB  jvm {figures['jvm_peak_rss_mb']} MB",
          flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--workspace-from", type=Path)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--steps", default="link,features,score")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_spark-") as tmp:
        ws = Path(tmp) / "ws"
        if args.workspace_from is None:
            prepare(ws, source=None, residents=args.residents, months=48, link=True,
                    truth=False)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", PREPARE, str(ws)], check=True,
                           capture_output=True, text=True)
            print(f"(features, training and promotion took {time.perf_counter() - t0:.0f} s)",
                  flush=True)
            if args.keep:
                shutil.copytree(ws, args.keep, dirs_exist_ok=True)
        else:
            shutil.copytree(args.workspace_from, ws, ignore=shutil.ignore_patterns("lake"))
        from risk_model.spark.lake import export_warehouse

        t0 = time.perf_counter()
        export_warehouse(ws / "warehouse.duckdb", str(ws / "lake"))
        print(f"(exporting the warehouse to the lake took {time.perf_counter() - t0:.1f} s)")
        settings = {"engine": {"master": args.master,
                               "conf": {"spark.driver.memory": "6g",
                                        "spark.sql.shuffle.partitions": "8"}}}
        (ws / "settings.yaml").write_text(json.dumps(settings))
        import duckdb

        with duckdb.connect(str(ws / "warehouse.duckdb"), read_only=True) as con:
            model = con.execute("SELECT model FROM linkage_runs ORDER BY linked_at DESC "
                                "LIMIT 1").fetchone()[0]
        model_file = Path(tmp) / "linkage-model.json"
        model_file.write_text(model)

        results = [_run(ws, "spark", "spark_session")]
        for step in args.steps.split(","):
            extra = (str(model_file),) if step == "link" else ()
            for engine in ("duckdb", "spark"):
                results.append(_run(ws, engine, step, *extra))
        print(json.dumps({"residents": args.residents if args.workspace_from is None
                          else str(args.workspace_from), "master": args.master,
                          "results": results}))


if __name__ == "__main__":
    main()
