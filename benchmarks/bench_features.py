"""Benchmark ``risk-model features``: one as-of snapshot at 1M residents.

Usage::

    .venv/bin/python benchmarks/bench_features.py                            # 1M residents
    .venv/bin/python benchmarks/bench_features.py --residents 20000
    .venv/bin/python benchmarks/bench_features.py --workspace-from /tmp/area1m  # linked already

Without ``--workspace-from`` the area is generated (``_area.py``), ingested and linked first,
each in its own process (about 7 minutes at 1M). The generated "1M" area holds fewer people on
a given date than 1M (deaths, moves, and the generator's padded NHS numbers that ingest
quarantines: about 724k on 2025-03-31), so ``--replicate 2`` copies every person and home of
the warehouse under new keys (pseudonyms suffixed, UPRNs offset) to measure a population of
well over a million. The measured steps run in a fresh process on a
copy of the warehouse: first one snapshot alone (:func:`build_snapshot`, the figure the goal is
about: within 60 s at 1M residents), then the whole ``features`` command for the same date
(outcome labels for every model, missingness and coverage, reports, MLflow run, writing the
tables). Prints one line of figures and a JSON summary on the last line.
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

REPLICATE = """
import sys
import duckdb
KEYS = {"nhs_pseudo", "person_id", "resident_id_pseudo", "patient_id_pseudo", "tenancy_ref",
        "tenancy_id", "survey_reference", "inspection_reference", "hazard_report_reference",
        "lmk_key", "investigation_reference", "work_order_reference", "adaptation_reference"}
IDS = {"uprn", "epikey", "ec_ident", "record_id", "death_record_id"}
SKIP = ("lsoa_imd", "ingest_", "linkage_runs", "address_matching_runs", "link_", "feature_",
        "outcome_labels")
copies = int(sys.argv[2])
with duckdb.connect(sys.argv[1]) as con:
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
              if not r[0].startswith(SKIP)]
    for table in tables:
        cols = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
            [table]).fetchall()}
        for k in range(1, copies):
            swaps = [f"{c} || '-{k}' AS {c}" for c in sorted(cols & KEYS)]
            swaps += [f"{c} + {k} * 1000000000000 AS {c}" for c in sorted(cols & IDS)]
            if swaps:
                con.execute(f"INSERT INTO {table} SELECT * REPLACE ({', '.join(swaps)}) "
                            f"FROM {table} WHERE true")
"""

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--as-of", default="2025-03-31")
    parser.add_argument("--workspace-from", type=Path, default=None,
                        help="an ingested and linked workspace whose warehouse to copy")
    parser.add_argument("--replicate", type=int, default=1,
                        help="copies of every person and home (2 doubles the population)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the linked workspace here for later runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-features-") as tmp:
        ws = Path(tmp) / "ws"
        prepare(ws, source=args.workspace_from, residents=args.residents, months=args.months,
                link=True, truth=False, keep=args.keep)
        if args.replicate > 1:
            subprocess.run([sys.executable, "-c", REPLICATE, str(ws / "warehouse.duckdb"),
                            str(args.replicate)], check=True, capture_output=True, text=True)
        out = subprocess.run([sys.executable, "-c", CHILD, str(ws), args.as_of],
                             capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"features failed:\n{out.stderr[-4000:]}")
        figures = json.loads(out.stdout.strip().splitlines()[-1])
    label = str(args.workspace_from) if args.workspace_from else f"{args.residents:,} residents"
    if args.replicate > 1:
        label += f" x {args.replicate}"
    print(f"features {label} as of {args.as_of}: snapshot {figures['snapshot_seconds']} s, "
          f"peak RSS {figures['snapshot_peak_rss_mb']:,} MB, {figures['rows']:,} people x "
          f"{figures['features']} features; whole command {figures['features_command_seconds']} "
          f"s, peak RSS {figures['peak_rss_mb']:,} MB", flush=True)
    print(json.dumps({"benchmark": "features", "as_of": args.as_of,
                      "replicate": args.replicate, **figures}))


if __name__ == "__main__":
    main()
