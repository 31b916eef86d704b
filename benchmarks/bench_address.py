"""Benchmark address matching alone: wall time, peak memory and quality on a synthetic area.

Usage::

    .venv/bin/python benchmarks/bench_address.py                        # 1M residents, Parquet
    .venv/bin/python benchmarks/bench_address.py --residents 20000
    .venv/bin/python benchmarks/bench_address.py --area-from /tmp/area1m   # reuse an area

The area is generated first (see ``_area.py``). Matching then runs in a fresh process, so its
peak RSS is its own: it reads the GP registrations' address columns and the gazetteer from
landing and calls :func:`risk_model.linkage.address.match_addresses` with the default
settings (DuckDB memory limit 4 GB). Goal from the issue: 1M residents (about 1.2M GP rows)
within 5 minutes and 6 GB peak. Quality (match rate, precision, overall and by tenure) is
measured against the area's truth afterwards, outside the timed process. Prints one line of
figures and a JSON summary on the last line. No address is printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

CHILD = """
import json, logging, resource, sys, time
import pandas as pd
from risk_model.linkage.address import ADDRESS_COLUMNS, GAZETTEER_COLUMNS, match_addresses
logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s %(name)s %(message)s")
logging.getLogger("sqlglot").setLevel(logging.WARNING)
landing, out = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
gp = pd.read_parquet(f"{landing}/gp_registrations.parquet", columns=list(ADDRESS_COLUMNS))
gazetteer = pd.read_parquet(f"{landing}/gazetteer.parquet", columns=list(GAZETTEER_COLUMNS))
t1 = time.perf_counter()
matched = match_addresses(gp, gazetteer)
t2 = time.perf_counter()
matched.drop(columns=["uprn_match_score"]).to_parquet(out)
print(json.dumps({
    "seconds": round(t2 - t0, 1), "read_seconds": round(t1 - t0, 1),
    "match_seconds": round(t2 - t1, 1),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "gp_rows": len(gp), "homes": len(gazetteer),
}))
"""


def _quality(matched: pd.DataFrame, truth: Path) -> dict[str, object]:
    ident = pd.read_parquet(truth / "record_identity.parquet")
    ident = ident[ident["source"] == "gp_registrations"].set_index("row_number")["uprn"]
    homes = pd.read_parquet(truth / "homes.parquet", columns=["uprn", "tenure"])
    matched["truth"] = ident.reindex(range(1, len(matched) + 1)).to_numpy()
    matched["tenure"] = matched["truth"].map(homes.set_index("uprn")["tenure"])
    matched["correct"] = (matched["uprn"] == matched["truth"]).fillna(False)

    def figures(g: pd.DataFrame) -> dict[str, object]:
        accepted = g["uprn_match_accepted"].astype(bool)
        return {"rows": len(g), "match_rate": round(accepted.mean(), 4),
                "precision": round(g.loc[accepted, "correct"].mean(), 4)}

    return {"overall": figures(matched),
            "by_tenure": {str(k): figures(g) for k, g in matched.groupby("tenure")},
            "by_method": matched["uprn_match_method"].value_counts().to_dict()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--area-from", type=Path, default=None,
                        help="a generated Parquet area (with landing/ and truth/) to reuse")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-address-") as tmp:
        area = args.area_from
        if area is None:
            area = Path(tmp) / "ws"
            subprocess.run(
                [sys.executable, str(Path(__file__).parent / "_area.py"), str(args.residents),
                 str(args.months), "parquet", str(area)],
                check=True, capture_output=True, text=True)
        result = Path(tmp) / "matched.parquet"
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, str(area / "landing"), str(result)],
                             check=True, capture_output=True, text=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        figures["process_seconds"] = round(time.perf_counter() - t0, 1)
        timings = [line.split(" ", 2)[-1] for line in out.stderr.splitlines()
                   if "completed" in line or "Predict time" in line or "Stage '" in line
                   or "risk_model.linkage.address" in line]
        figures["quality"] = _quality(pd.read_parquet(result), area / "truth")
    label = str(args.area_from) if args.area_from else f"{args.residents:,} residents"
    q = figures["quality"]["overall"]
    print("\n".join(timings), flush=True)
    print(f"address matching {label}: {figures['process_seconds']} s wall (matching "
          f"{figures['match_seconds']} s), peak RSS {figures['peak_rss_mb']:,} MB, "
          f"{figures['gp_rows']:,} GP rows to {figures['homes']:,} homes; match rate "
          f"{q['match_rate']}, precision {q['precision']}", flush=True)
    print(json.dumps({"benchmark": "address_matching", **figures}))


if __name__ == "__main__":
    main()
