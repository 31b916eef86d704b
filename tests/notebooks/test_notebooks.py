"""The notebooks in ``notebooks/`` run from top to bottom on small synthetic workspaces.

Each notebook's ``.ipynb`` is executed in a fresh Python kernel of this environment (nbclient
and ipykernel) with ``RISK_MODEL_WORKSPACE`` pointing at a copy of a shared fixture, so a
notebook can neither change a fixture nor see the developer's own ``./workspace``. An error in
any cell fails the test with that cell's traceback. The pairs (percent-format script and
``.ipynb``) must be in sync, and the ``.ipynb`` must be committed without outputs.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import jupytext
import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from risk_model.config import WORKSPACE_ENV, Workspace
from risk_model.ingest import KEY_ENV, ingest, load_key
from risk_model.scoring.run import score
from risk_model.tracking import TRACKING_URI_ENV
from tests.conftest import MODEL_TEST_KEY
from tests.scoring.conftest import scoring_copy

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PAIRED = sorted(p.stem for p in NOTEBOOKS.glob("*.py"))
#: The months the lists notebook reviews: the second has a previous month to move against.
MONTHS = ("2025-02", "2025-03")
#: A cell may take this long (training and the audit are the slowest, about 10 s each here).
CELL_TIMEOUT = 600


def run_notebook(path: Path, workspace: Workspace, cwd: Path,
                 monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Execute the notebook at ``path`` against ``workspace``; return it with its outputs.

    The kernel inherits this process's environment, so ``RISK_MODEL_WORKSPACE`` names the
    workspace (as it would for a user) and ``MLFLOW_TRACKING_URI`` is cleared, so the runs go
    to the workspace's own store.
    """
    monkeypatch.setenv(WORKSPACE_ENV, str(workspace.root))
    monkeypatch.delenv(TRACKING_URI_ENV, raising=False)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return notebook


def output_text(notebook: nbformat.NotebookNode) -> str:
    """Everything the notebook showed as text (streams, plain and HTML representations)."""
    parts = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            data = out.get("data", {})
            parts.extend(str(data.get(kind, "")) for kind in ("text/plain", "text/html",
                                                               "text/markdown"))
    return "\n".join(parts)


def identifiers(workspace: Workspace) -> set[str]:
    """Pseudonyms, tenancy references and UPRNs in the warehouse, to look for in outputs."""
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        found: set[str] = set()
        for table, column in (("feature_snapshots", "person_id"), ("person_homes", "uprn"),
                              ("person_homes", "tenancy_ref"),
                              ("housing_residents", "resident_id_pseudo"),
                              ("scores", "person_id"), ("scores", "uprn")):
            if table in tables:
                found |= {str(v) for (v,) in con.execute(
                    f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL"
                ).fetchall()}
    return {v for v in found if len(v) >= 8}  # shorter values could be any number shown


def assert_no_identifier(notebook: nbformat.NotebookNode, workspace: Workspace) -> None:
    text = output_text(notebook)
    assert text.strip(), "the notebook showed nothing"
    shown = sorted(v for v in identifiers(workspace) if v in text)
    assert not shown, f"{len(shown)} identifier(s) shown in the outputs, e.g. {shown[0]!r}"


def assert_no_error_output(notebook: nbformat.NotebookNode) -> None:
    errors = [out for cell in notebook.cells for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    assert not errors, errors


# ---- the pairs, as committed ------------------------------------------------------------


def test_every_notebook_is_a_pair_in_order() -> None:
    assert PAIRED == ["01_linked_population_and_data_quality", "02_train_audit_compare",
                      "03_monthly_lists_and_drift"]
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == PAIRED


@pytest.mark.parametrize("name", PAIRED)
def test_the_script_and_the_notebook_are_in_sync(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    script = (NOTEBOOKS / f"{name}.py").read_text(encoding="utf-8")
    assert jupytext.writes(notebook, fmt="py:percent") == script, (
        f"notebooks/{name}.py and .ipynb differ: run `jupytext --sync notebooks/{name}.py` "
        "(see docs/notebooks.md)")


@pytest.mark.parametrize("name", PAIRED)
def test_the_notebook_is_committed_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    dirty = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, (f"notebooks/{name}.ipynb holds outputs in cells {dirty}: outputs can "
                       f"hold data; clear them (see docs/notebooks.md)")


# ---- the harness fails when a cell does -------------------------------------------------


@pytest.mark.slow
def test_an_error_in_a_cell_fails_the_run(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os\nworkspace = os.environ['RISK_MODEL_WORKSPACE']"),
        nbformat.v4.new_code_cell("raise RuntimeError('a broken cell')"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    nbformat.write(notebook, tmp_path / "broken.ipynb")
    with pytest.raises(CellExecutionError, match="a broken cell"):
        run_notebook(tmp_path / "broken.ipynb", Workspace.at(tmp_path / "ws"), tmp_path,
                     monkeypatch)


@pytest.mark.slow
def test_the_identifier_check_finds_a_pseudonym_shown(featured: Workspace) -> None:
    pseudonym = sorted(identifiers(featured))[0]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "person", outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/plain": f"0    {pseudonym}"}, execution_count=1)])])
    with pytest.raises(AssertionError, match="identifier"):
        assert_no_identifier(notebook, featured)


# ---- each notebook, run on a small workspace ------------------------------------------------


@pytest.mark.slow
def test_01_linked_population_and_data_quality(featured: Workspace, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace.at(tmp_path / "ws")
    shutil.copytree(featured.root, ws.root, dirs_exist_ok=True)  # reports, quarantine too
    # a later EPC extract with bad rows, so ingest has something to quarantine
    later = pd.read_parquet(ws.landing / "epc_certificates.parquet").head(20)
    later.loc[:8, "CURRENT_ENERGY_RATING"] = "Z"
    later.loc[9:10, "LODGEMENT_DATE"] = pd.Timestamp("1850-01-01")
    later.to_parquet(ws.landing / "epc_certificates__later.parquet", index=False)
    ingest(ws, key=load_key(environ={KEY_ENV: MODEL_TEST_KEY}), today=date(2026, 11, 24))
    before = ws.warehouse.read_bytes()
    done = run_notebook(NOTEBOOKS / "01_linked_population_and_data_quality.ipynb", ws,
                        tmp_path, monkeypatch)
    assert_no_error_output(done)
    assert_no_identifier(done, ws)
    text = output_text(done)
    for section in ("rows_quarantined", "code_not_allowed", "date_too_early", "Link rate",
                    "Precision", "not known"):
        assert section in text
    assert ws.warehouse.read_bytes() == before  # it only reads


@pytest.mark.slow
def test_02_train_audit_compare(champion: Workspace, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    from risk_model.tracking import model_versions

    ws = scoring_copy(champion, tmp_path / "ws")
    before = {v["version"]: v["aliases"] for v in model_versions(ws, "emergency_admission_12m")}
    done = run_notebook(NOTEBOOKS / "02_train_audit_compare.ipynb", ws, tmp_path, monkeypatch)
    assert_no_error_output(done)
    assert_no_identifier(done, ws)
    after = {v["version"]: v for v in model_versions(ws, "emergency_admission_12m")}
    new = sorted(set(after) - set(before))
    assert len(new) == 1, "the notebook registers one challenger"
    challenger = after[new[0]]
    assert challenger["tags"]["risk_model.fairness.passed"] in ("true", "false")  # audited
    assert {v: after[v]["aliases"] for v in before} == before  # not promoted
    assert challenger["aliases"] == []
    assert "champion" in output_text(done)


@pytest.fixture
def scored(champion: Workspace, tmp_path: Path) -> Workspace:
    """A copy of the champion workspace with two months scored."""
    ws = scoring_copy(champion, tmp_path / "ws")
    for month in MONTHS:
        score(ws, month)
    return ws


@pytest.mark.slow
def test_03_monthly_lists_and_drift(scored: Workspace, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    before = scored.warehouse.read_bytes()
    done = run_notebook(NOTEBOOKS / "03_monthly_lists_and_drift.ipynb", scored, tmp_path,
                        monkeypatch)
    assert_no_error_output(done)
    assert_no_identifier(done, scored)
    text = output_text(done)
    assert MONTHS[-1] in text and MONTHS[0] in text  # the latest month, against the one before
    for section in ("risk_band", "movement", "Score PSI"):
        assert section in text
    assert scored.warehouse.read_bytes() == before  # it only reads
