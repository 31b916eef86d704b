"""Benchmark ``risk-model link``: wall time and peak memory of person linkage.

Usage::

    .venv/bin/python benchmarks/bench_link.py                          # 1M residents
    .venv/bin/python benchmarks/bench_link.py --residents 20000
    .venv/bin/python benchmarks/bench_link.py --workspace-from /tmp/area1m  # ingested already

Without ``--workspace-from`` the area is generated (``_area.py``) and ingested first (address
matching included), each in its own process. Linkage then runs in a fresh process so its peak
RSS is its own: first the person linkage alone (:func:`link_persons`, the figure the goal is
about), then the whole ``link`` (quality, report, MLflow, writing the tables). Goal from the
linkage issue: person linkage within 2 minutes and 6 GB peak at 1M residents. Prints one line of
figures and a JSON summary on the last line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _workspace import prepare

CHILD = """
import json, resource, sys, time
import duckdb
from risk_model.config import Workspace
from risk_model.linkage.person import link_persons
from risk_model.linkage.run import link
ws = Workspace.at(sys.argv[1])
t0 = time.perf_counter()
with duckdb.connect(str(ws.warehouse), read_only=True) as con:
    people = link_persons(con)
persons_s = time.perf_counter() - t0
persons_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
result = link(ws, overwrite=True).to_dict()
print(json.dumps({
    "person_linkage_seconds": round(persons_s, 1),
    "person_linkage_peak_rss_mb": round(persons_rss),
    "link_seconds": round(time.perf_counter() - t0, 1),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "counts": result["counts"], "counts_by_method": result["counts_by_method"],
    "quality": {k: (result["person_linkage"] or {}).get(k)
                for k in ("precision", "recall", "linkable_residents", "false_links",
                          "groups_more_than_3_points_below")},
    "recall_by_group": {d: {r["group"]: r["recall"] for r in rows} for d, rows in
                        (result["person_linkage"] or {}).get("by_group", {}).items()},
    "nhs_agreement": result["nhs_agreement"],
    "address_matching_vs_truth": (result["address_matching_vs_truth"] or {}).get("overall"),
}))
"""

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--workspace-from", type=Path, default=None,
                        help="an ingested workspace whose warehouse and truth to copy")
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the ingested workspace here for later runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-link-") as tmp:
        ws = Path(tmp) / "ws"
        prepare(ws, source=args.workspace_from, residents=args.residents, months=args.months,
                link=False, truth=True, keep=args.keep)
        out = subprocess.run([sys.executable, "-c", CHILD, str(ws)],
                             capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"link failed:\n{out.stderr[-4000:]}")
        figures = json.loads(out.stdout.strip().splitlines()[-1])
    label = str(args.workspace_from) if args.workspace_from else f"{args.residents:,} residents"
    counts = figures["counts"]
    print(f"link {label}: person linkage {figures['person_linkage_seconds']} s, peak RSS "
          f"{figures['person_linkage_peak_rss_mb']:,} MB; whole link {figures['link_seconds']} s, "
          f"peak RSS {figures['peak_rss_mb']:,} MB; {counts['housing_residents']:,} residents, "
          f"{counts['health_persons']:,} health persons, {counts['linked']:,} linked "
          f"{figures['counts_by_method']}; vs truth {figures['quality']}", flush=True)
    print(f"recall by group: {figures['recall_by_group']}", flush=True)
    print(json.dumps({"benchmark": "link", **figures}))


if __name__ == "__main__":
    main()
