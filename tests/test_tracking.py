"""Runs logged through risk_model.tracking land in the workspace's own MLflow store.

Creating a fresh SQLite store runs MLflow's migrations (a few seconds), so the tests share one
tracked workspace where they can.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import risk_model
from risk_model import tracking
from risk_model.config import Workspace
from risk_model.tracking import runs, start_run, tracking_uri

pytestmark = pytest.mark.slow


class Boom(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _no_env_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace.at(tmp_path_factory.mktemp("tracked"))


def _client(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def test_default_uri_is_sqlite_in_workspace(ws: Workspace) -> None:
    assert ws.mlflow == ws.root / "mlflow"
    assert tracking_uri(ws) == f"sqlite:///{ws.root.as_posix()}/mlflow/mlflow.db"


def test_logged_run_reads_back(ws: Workspace, tmp_path: Path) -> None:
    extra = tmp_path / "table.csv"
    extra.write_text("band,n\nhigh,12\n")
    with start_run(ws, "training", run_name="first", tags={"model": "cold_homes"}) as run:
        run.log_params({"lightgbm": {"num_leaves": 31, "lr": 0.05}, "note": "x" * 7000,
                        "features": ["epc_band", "damp_reports"]})
        run.log_metrics({"auc": {"test": 0.81, "valid": 0.79}, "brier": 0.1,
                         "empty_group": None, "undefined": float("nan"), "inf": float("inf")})
        run.log_metrics({"loss": 0.5}, step=3)
        run.log_dict({"a": 1}, "config/resolved.json")
        run.log_text("# card", "reports/model_card.md")
        run.log_artifact(extra, "tables")
        run.set_tags({"as_of": "2026-10-31"})

    got = _client(tracking_uri(ws)).get_run(run.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "first"
    assert got.info.experiment_id == run.experiment_id
    params = got.data.params
    assert params["lightgbm.num_leaves"] == "31"
    assert params["lightgbm.lr"] == "0.05"
    assert params["features"] == "['epc_band', 'damp_reports']"
    assert len(params["note"]) == 6000
    assert params["note"].endswith("...[truncated]")
    assert got.data.metrics == {"auc.test": 0.81, "auc.valid": 0.79, "brier": 0.1, "loss": 0.5}
    tags = got.data.tags
    assert tags["model"] == "cold_homes"
    assert tags["as_of"] == "2026-10-31"
    assert tags[tracking.VERSION_TAG] == risk_model.__version__

    artifacts = ws.mlflow / "artifacts"
    assert Path(got.info.artifact_uri.removeprefix("file://")).is_relative_to(artifacts)
    files = {p.relative_to(artifacts).as_posix() for p in artifacts.rglob("*") if p.is_file()}
    for name in ["config/resolved.json", "reports/model_card.md", "tables/table.csv",
                 "params.json"]:
        assert f"{run.run_id}/artifacts/{name}" in files
    full = (artifacts / run.run_id / "artifacts" / "params.json").read_text()
    assert "x" * 7000 in full


def test_git_commit_tag(ws: Workspace) -> None:
    import subprocess

    package = Path(risk_model.__file__).parent
    head = subprocess.run(["git", "-C", str(package), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=False)
    if head.returncode != 0:
        pytest.skip("risk_model is not running from a git checkout")
    with start_run(ws, "training") as run:
        pass
    tags = _client(tracking_uri(ws)).get_run(run.run_id).data.tags
    assert tags[tracking.GIT_COMMIT_TAG] == head.stdout.strip()
    assert tags[tracking.GIT_DIRTY_TAG] in {"true", "false"}


def test_git_tag_absent_outside_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracking, "_git_state", lambda: None)
    assert tracking._code_tags() == {tracking.VERSION_TAG: risk_model.__version__}


def test_failing_run_is_marked_failed(ws: Workspace) -> None:
    with pytest.raises(Boom, match="disk full"), start_run(ws, "audit") as run:
        run.log_metrics({"rows": 10})
        raise Boom("disk full")
    got = _client(tracking_uri(ws)).get_run(run.run_id)
    assert got.info.status == "FAILED"
    assert got.data.tags[tracking.ERROR_TAG] == "Boom"
    assert run.run_id not in {r["run_id"] for r in runs(ws, "audit")}
    failed = runs(ws, "audit", status="FAILED")
    assert [r["run_id"] for r in failed] == [run.run_id]
    assert failed[0]["metrics"] == {"rows": 10.0}


def test_metrics_refuse_text(ws: Workspace) -> None:
    with pytest.raises(TypeError, match="metric 'band' must be a number or None, got str"), \
            start_run(ws, "audit") as run:
        run.log_metrics({"band": "high"})


def test_runs_lists_finished_runs_oldest_first(ws: Workspace) -> None:
    for month in ["2026-09", "2026-10"]:
        with start_run(ws, "scoring", run_name=month) as run:
            run.log_params({"as_of": month})
            run.log_metrics({"listed": {"patch_a": 5}})
    found = runs(ws, "scoring")
    assert [r["run_name"] for r in found] == ["2026-09", "2026-10"]
    assert found[1]["params"] == {"as_of": "2026-10"}
    assert found[1]["metrics"] == {"listed.patch_a": 5.0}
    assert found[1]["tags"][tracking.VERSION_TAG] == risk_model.__version__
    assert runs(ws, "no-such-experiment") == []


def test_env_uri_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere" / "store.db"
    other.parent.mkdir()
    uri = f"sqlite:///{other.as_posix()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    ws = Workspace.at(tmp_path / "ws")
    assert tracking_uri(ws) == uri
    with start_run(ws, "linkage") as run:
        run.log_metrics({"match_rate": 0.97})
    assert other.exists()
    assert not (ws.mlflow / "mlflow.db").exists()
    assert _client(uri).get_run(run.run_id).data.metrics == {"match_rate": 0.97}
    assert [r["run_id"] for r in runs(ws, "linkage")] == [run.run_id]


def test_two_workspaces_do_not_mix(ws: Workspace, tmp_path: Path) -> None:
    other = Workspace.at(tmp_path / "other")
    with start_run(ws, "linkage", run_name="in-first") as first, \
            start_run(other, "linkage", run_name="in-second") as second:
        first.log_params({"where": "first"})
        second.log_params({"where": "second"})
    assert [r["run_name"] for r in runs(ws, "linkage")] == ["in-first"]
    assert [r["run_name"] for r in runs(other, "linkage")] == ["in-second"]
    assert runs(ws, "linkage")[0]["params"] == {"where": "first"}
    assert (other.mlflow / "mlflow.db").exists()
    assert (other.mlflow / "artifacts").is_dir()


def test_log_figure(ws: Workspace) -> None:
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with start_run(ws, "audit") as run:
        run.log_figure(fig, "figures/calibration.png")
    plt.close(fig)
    assert (ws.mlflow / "artifacts" / run.run_id / "artifacts" / "figures"
            / "calibration.png").stat().st_size > 0


def test_import_does_not_load_mlflow() -> None:
    import subprocess
    import sys

    code = "import sys, risk_model.tracking; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
