"""Benchmark ``risk-model synth``: wall time and peak memory at a given size.

Usage::

    .venv/bin/python benchmarks/bench_synth.py                      # 20k CSV and 700k Parquet
    .venv/bin/python benchmarks/bench_synth.py --residents 20000 --format csv

Each size runs in a fresh process (so peak memory is that run's own) writing into a temporary
workspace, and prints one line of figures per run plus a JSON summary on the last line.
Goals from the foundation issue: 20k residents within 5 s; 1M residents over 48 months as
Parquet within 120 s and 6 GB. The never-issued NHS number range holds 909,090 valid numbers,
so the largest area the generator accepts over 48 months is about 700k residents (arrivals
and births need numbers too). To measure the 1M goal anyway, runs above that size extend the
pool, in the benchmark's own process only, with 999-range numbers whose check digit is wrong:
they can never be a real patient's, the code path is the one a real run takes, and the files
are deleted with the temporary workspace. The product itself still refuses such a run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[6])
from _area import generate_area
result = generate_area(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4],
                       extend=sys.argv[5] == "extend")
wall = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rows = sum(result.landing.values())
print(json.dumps({"residents": int(sys.argv[1]), "months": int(sys.argv[2]), "format": sys.argv[3],
                  "seconds": round(wall, 1), "peak_rss_mb": round(peak_mb), "people": result.people,
                  "landing_rows": rows, "truth_risk_rows": result.truth["monthly_risk"]}))
"""


def run(residents: int, months: int, fmt: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(residents), str(months), fmt, tmp,
             "extend" if residents > 700_000 else "valid-only", str(Path(__file__).parent)],
            check=True, capture_output=True, text=True,
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        figures["process_seconds"] = round(time.perf_counter() - t0, 1)
        size = subprocess.run(["du", "-sm", tmp], capture_output=True, text=True, check=True)
        figures["workspace_mb"] = int(size.stdout.split()[0])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, action="append")
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--format", default=None, choices=["csv", "parquet"])
    args = parser.parse_args()
    plan = (
        [(n, args.format or "parquet") for n in args.residents]
        if args.residents
        else [(20_000, "csv"), (20_000, "parquet"), (700_000, "parquet"), (1_000_000, "parquet")]
    )
    results = []
    for residents, fmt in plan:
        figures = run(residents, args.months, fmt)
        results.append(figures)
        print(
            f"{residents:>9,} residents x {args.months} months ({fmt:7}): "
            f"{figures['process_seconds']:6.1f} s wall (generate {figures['seconds']} s), "
            f"peak RSS {figures['peak_rss_mb']:,} MB, {figures['landing_rows']:,} landing rows, "
            f"{figures['truth_risk_rows']:,} truth risk rows, {figures['workspace_mb']:,} MB",
            flush=True,
        )
    print(json.dumps({"benchmark": "synth", "runs": results}))


if __name__ == "__main__":
    main()
