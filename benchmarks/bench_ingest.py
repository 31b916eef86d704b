"""Benchmark ``risk-model ingest``: wall time and peak memory on a synthetic landing zone.

Usage::

    .venv/bin/python benchmarks/bench_ingest.py                       # 1M residents, Parquet
    .venv/bin/python benchmarks/bench_ingest.py --residents 20000
    .venv/bin/python benchmarks/bench_ingest.py --landing-from /tmp/area1m   # reuse an area

The area is generated first (see ``_area.py``: above 700k residents the NHS number pool is
padded with numbers whose check digit is wrong, and ingest quarantines their rows, as it would
a real extract's). Ingest then runs in a fresh process, so its peak RSS is its own, into an
empty warehouse. Goal from the ingest issue: 1M residents within 3 minutes and 8 GB peak.
Prints one line of figures and a JSON summary on the last line.
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

import pandas as pd

CHILD = """
import json, resource, sys, time
from risk_model.config import Workspace
from risk_model.ingest import KEY_ENV, ingest, load_key
t0 = time.perf_counter()
key = load_key(environ={KEY_ENV: "benchmark-key-" + "0" * 40})
result = ingest(Workspace.at(sys.argv[1]), key=key)
wall = time.perf_counter() - t0
summary = result.to_dict()
print(json.dumps({
    "seconds": round(wall, 1),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "rows_read": summary["rows_read"], "rows_accepted": summary["rows_accepted"],
    "rows_quarantined": summary["rows_quarantined"], "rows_opted_out": summary["rows_opted_out"],
    "reconciled": summary["reconciled"],
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--format", default="parquet", choices=["csv", "parquet"])
    parser.add_argument("--landing-from", type=Path, default=None,
                        help="workspace whose landing/ to copy instead of generating one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        ws = Path(tmp) / "ws"
        if args.landing_from:
            shutil.copytree(args.landing_from / "landing", ws / "landing")
        else:
            subprocess.run(
                [sys.executable, str(Path(__file__).parent / "_area.py"), str(args.residents),
                 str(args.months), args.format, str(ws)],
                check=True, capture_output=True, text=True)
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, str(ws)], check=True,
                             capture_output=True, text=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        figures["process_seconds"] = round(time.perf_counter() - t0, 1)
        figures["warehouse_mb"] = round((ws / "warehouse.duckdb").stat().st_size / 2**20)
        rules: dict[str, int] = {}
        for path in (ws / "quarantine").glob("*.csv"):
            for rule, n in pd.read_csv(path, usecols=["rule"])["rule"].value_counts().items():
                rules[str(rule)] = rules.get(str(rule), 0) + int(n)
        figures["problems_by_rule"] = rules
        landing = ws / "landing"
        figures["landing_mb"] = round(sum(p.stat().st_size for p in landing.iterdir()) / 2**20)
    label = str(args.landing_from) if args.landing_from else f"{args.residents:,} residents"
    print(f"ingest {label}: {figures['process_seconds']} s wall (ingest {figures['seconds']} s), "
          f"peak RSS {figures['peak_rss_mb']:,} MB, {figures['rows_read']:,} rows read, "
          f"{figures['rows_accepted']:,} accepted, {figures['rows_quarantined']:,} quarantined, "
          f"{figures['rows_opted_out']:,} opted out, reconciled {figures['reconciled']}, "
          f"landing {figures['landing_mb']:,} MB, warehouse {figures['warehouse_mb']:,} MB",
          flush=True)
    print(f"problems by rule: {figures['problems_by_rule']}", flush=True)
    print(json.dumps({"benchmark": "ingest", **figures}))


if __name__ == "__main__":
    main()
