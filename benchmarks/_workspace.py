"""Give a benchmark its workspace: a copy of a prepared one, or a generated area made ready.

Every benchmark measures one step in a fresh process on a temporary workspace. The steps before
it come either from ``--workspace-from`` (its warehouse, and ``truth/`` when asked, are copied)
or from generating the area (``_area.py``) and running ingest (and linkage) in a subprocess,
optionally kept with ``--keep`` for later runs. The MLflow store always starts empty.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

_PREPARE = """
import sys
from risk_model.config import Workspace
from risk_model.ingest import KEY_ENV, ingest, load_key
ws = Workspace.at(sys.argv[1])
ingest(ws, key=load_key(environ={KEY_ENV: "benchmark-key-" + "0" * 40}))
if sys.argv[2] == "link":
    from risk_model.linkage.run import link
    link(ws)
"""


def prepare(ws: Path, *, source: Path | None, residents: int, months: int, link: bool,
            truth: bool, keep: Path | None = None) -> None:
    """Fill the empty workspace folder ``ws`` for a benchmark.

    Parameters
    ----------
    ws : pathlib.Path
        The temporary workspace (not yet existing).
    source : pathlib.Path, optional
        A prepared workspace to copy; ``None`` generates, ingests (and links) an area.
    residents, months : int
        The generated area's size.
    link : bool
        Link after ingest (for steps that need the linkage tables).
    truth : bool
        Copy ``truth/`` from ``source`` (for steps measured against it).
    keep : pathlib.Path, optional
        Copy the generated workspace here for later ``--workspace-from`` runs.
    """
    if source is not None:
        ws.mkdir(parents=True)
        shutil.copy2(source / "warehouse.duckdb", ws / "warehouse.duckdb")
        if truth and (source / "truth").is_dir():
            shutil.copytree(source / "truth", ws / "truth")
        return
    subprocess.run([sys.executable, str(Path(__file__).parent / "_area.py"), str(residents),
                    str(months), "parquet", str(ws)], check=True, capture_output=True, text=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", _PREPARE, str(ws), "link" if link else "ingest"],
                   check=True, capture_output=True, text=True)
    steps = "ingest and link" if link else "ingest"
    print(f"({steps} took {time.perf_counter() - t0:.0f} s)", flush=True)
    if keep:
        shutil.copytree(ws, keep, dirs_exist_ok=True)
    shutil.rmtree(ws / "mlflow", ignore_errors=True)  # the measured run starts with an empty store
