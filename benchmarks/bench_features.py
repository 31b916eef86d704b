"""Benchmark ``risk-model features``: one as-of snapshot at 1M residents.

Usage::

    .venv/bin/python benchmarks/bench_features.py                            # 1M residents
    .venv/bin/python benchmarks/bench_features.py --residents 20000
    .venv/bin/python benchmarks/bench_features.py --workspace-from /tmp/area1m  # linked already

Without ``--workspace-from`` the area is generated (``_area.py``), ingested and linked first,
each in its own process (about 7 minutes at 1M). The measured steps run in a fresh process on a
copy of the warehouse: first one snapshot alone (:func:`build_snapshot`, the figure the goal is
about: within 60 s at 1M residents), then the whole ``features`` command for the same date
(outcome labels for every model, missingness and coverage, reports, MLflow run, writing the
tables). Prints one line of figures and a JSON summary on the last line.
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

CHILD = """
import datetime, json, resource, sys, time
import duckdb
from risk_model.config import Workspace
from risk_model.features import build_snapshot, load_catalogue
from risk_model.features.run import build_features
ws = Workspace.at(sys.argv[1])
as_of = datetime.date.fromisoformat(sys.argv[2])
catalogue = load_catalogue()
t0 = time.perf_counter()
with duckdb.connect(str(ws.warehouse), read_only=True) as con:
    snap = build_snapshot(con, catalogue, as_of)
snapshot_s = time.perf_counter() - t0
snapshot_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
result = build_features(ws, [as_of], overwrite=True).to_dict()
s = result["snapshots"][0]
print(json.dumps({
    "snapshot_seconds": round(snapshot_s, 2), "snapshot_peak_rss_mb": round(snapshot_rss),
    "rows": snap.rows, "features": len(snap.features),
    "features_command_seconds": round(time.perf_counter() - t0, 2),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "labels": s["labels"],
    "most_missing": dict(sorted(s["missing_share"].items(), key=lambda kv: -kv[1])[:5]),
}))
"""

PREPARE = """
import sys
from risk_model.config import Workspace
from risk_model.ingest import KEY_ENV, ingest, load_key
from risk_model.linkage.run import link
ws = Workspace.at(sys.argv[1])
ingest(ws, key=load_key(environ={KEY_ENV: "benchmark-key-" + "0" * 40}))
link(ws)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--as-of", default="2025-03-31")
    parser.add_argument("--workspace-from", type=Path, default=None,
                        help="an ingested and linked workspace whose warehouse to copy")
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the linked workspace here for later runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-features-") as tmp:
        ws = Path(tmp) / "ws"
        if args.workspace_from:
            ws.mkdir()
            shutil.copy2(args.workspace_from / "warehouse.duckdb", ws / "warehouse.duckdb")
        else:
            subprocess.run(
                [sys.executable, str(Path(__file__).parent / "_area.py"), str(args.residents),
                 str(args.months), "parquet", str(ws)],
                check=True, capture_output=True, text=True)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", PREPARE, str(ws)], check=True,
                           capture_output=True, text=True)
            print(f"(ingest and link took {time.perf_counter() - t0:.0f} s)", flush=True)
            if args.keep:
                shutil.copytree(ws, args.keep, dirs_exist_ok=True)
        out = subprocess.run([sys.executable, "-c", CHILD, str(ws), args.as_of],
                             capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"features failed:\n{out.stderr[-4000:]}")
        figures = json.loads(out.stdout.strip().splitlines()[-1])
    label = str(args.workspace_from) if args.workspace_from else f"{args.residents:,} residents"
    print(f"features {label} as of {args.as_of}: snapshot {figures['snapshot_seconds']} s, "
          f"peak RSS {figures['snapshot_peak_rss_mb']:,} MB, {figures['rows']:,} people x "
          f"{figures['features']} features; whole command {figures['features_command_seconds']} "
          f"s, peak RSS {figures['peak_rss_mb']:,} MB", flush=True)
    print(json.dumps({"benchmark": "features", "as_of": args.as_of, **figures}))


if __name__ == "__main__":
    main()
