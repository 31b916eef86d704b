"""``risk-model train`` and ``promote`` as a user runs them, against a real MLflow store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from risk_model.cli import app
from risk_model.config import Workspace
from risk_model.modelling import default_models_path
from risk_model.modelling.spec import MODELS_ENV
from risk_model.tracking import model_versions, runs, tracking_uri
from tests.conftest import copy_workspace

pytestmark = pytest.mark.slow

MODEL = "emergency_admission_12m"


def _cli(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.stdout.strip(), result.stderr[-3000:]
    return result.exit_code, json.loads(result.stdout)


def _specs(folder: Path, **gates: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in default_models_path().glob("*.yaml"):
        shutil.copy2(path, folder / path.name)
    spec = yaml.safe_load((folder / f"{MODEL}.yaml").read_text())
    spec["gates"].update(gates)
    (folder / f"{MODEL}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def trained(featured: Workspace, tmp_path_factory: pytest.TempPathFactory,
            ) -> Iterator[tuple[Workspace, dict, Path]]:
    """A copy of the area with one trained version; lenient gates in its own models folder."""
    root = tmp_path_factory.mktemp("trained")
    ws = copy_workspace(featured, root / "ws")
    lenient = _specs(root / "lenient", auroc_lower_min=0.5, calibration_slope=[0.3, 3.0])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MODELS_ENV, str(lenient))
        code, out = _cli("train", MODEL, "--workspace", str(ws.root))
        assert code == 0, out
        yield ws, out, lenient


def test_train_reports_the_run_the_version_and_test_metrics(trained) -> None:
    ws, out, _ = trained
    assert out["ok"] and out["version"] == "1" and out["mlflow_run_id"]
    assert set(out["test"]) == {"lightgbm", "baseline", "true_risk"}
    for scorer in out["test"].values():
        for metric in ("auroc", "auprc", "brier", "calibration_intercept",
                       "calibration_slope", "top_1pct.precision", "top_5pct.lift"):
            m = scorer[metric]
            assert m["lower"] <= m["point"] <= m["upper"], metric
    assert out["test"]["true_risk"]["auroc"]["point"] > out["test"]["lightgbm"]["auroc"]["point"]
    assert out["rows"]["train"] > 3_000 and out["rows"]["test"] > 3_000

    [run] = runs(ws, MODEL)
    assert run["run_id"] == out["mlflow_run_id"]
    assert run["params"]["spec.dates.test"] == "2024-03-31"
    assert run["tags"]["risk_model.git_commit"]
    assert abs(run["metrics"]["test.lightgbm.auroc.point"]
               - out["test"]["lightgbm"]["auroc"]["point"]) < 1e-9

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri(ws))
    artifacts = {a.path for a in client.list_artifacts(run["run_id"], "plots")}
    assert {f"plots/{n}.png" for n in ("roc", "precision_recall", "calibration",
                                       "lift_by_decile", "decision_curve",
                                       "feature_importance", "shap_beeswarm",
                                       "shap_importance_by_family")} <= artifacts
    assert {a.path for a in client.list_artifacts(run["run_id"], "explanations")} == {
        "explanations/importance.json"}
    # the drift reference: the training rows' distributions, in the run and in the model
    profile = json.loads(Path(client.download_artifacts(
        run["run_id"], "drift/reference.json")).read_text())
    assert profile["rows"] == out["rows"]["train"]
    assert "damp_reports_12m" in profile["features"] and "ethnic_group" not in profile["features"]
    assert abs(sum(profile["score"]["proportions"]) - 1) < 1e-9
    shap = json.loads(Path(client.download_artifacts(
        run["run_id"], "explanations/importance.json")).read_text())
    assert shap["rows"] == out["rows"]["test"] == shap["test_rows"]  # under the 20,000 cap
    assert run["params"]["explanations.rows"] == str(shap["rows"])
    assert len(shap["top"]) == 10 and shap["top"][0] == next(iter(shap["features"]))
    assert out["explanations"] == {"rows": shap["rows"], "top": shap["top"]}
    assert {"housing", "health", "demographic"} <= set(shap["families"])
    assert abs(sum(shap["families"].values()) - sum(shap["features"].values())) < 1e-3
    inputs = client.get_run(run["run_id"]).inputs.dataset_inputs
    contexts = {t.value for d in inputs for t in d.tags if t.key == "mlflow.data.context"}
    assert contexts == {"train", "validation", "test"}
    assert all(d.dataset.digest for d in inputs)

    [version] = model_versions(ws, MODEL)
    assert version["run_id"] == run["run_id"]
    assert version["tags"]["risk_model.test_date"] == "2024-03-31"


def test_the_model_is_bundled_with_its_catalogue_entries(trained) -> None:
    ws, _, _ = trained
    import mlflow.artifacts

    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri(ws)
    try:
        path = Path(mlflow.artifacts.download_artifacts(f"models:/{MODEL}/1"))
    finally:
        del os.environ["MLFLOW_TRACKING_URI"]
    bundle = json.loads((path / "artifacts" / "features.json").read_text())
    drift = json.loads((path / "artifacts" / "drift.json").read_text())
    assert list(drift["features"]) == [f["name"] for f in bundle["features"]]
    names = [f["name"] for f in bundle["features"]]
    assert "ethnic_group" not in names  # audit-only
    assert {"damp_reports_12m", "emergency_admissions_12m", "age_years"} <= set(names)
    assert bundle["catalogue_entries"]["damp_reports_12m"]["label"]
    example = json.loads((path / "input_example.json").read_text())
    assert "person_id" not in json.dumps(example)


def test_promote_refuses_listing_every_failed_gate(trained, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ws, _, _ = trained
    monkeypatch.setenv(MODELS_ENV, str(_specs(tmp_path / "strict", auroc_lower_min=0.99,
                                              calibration_slope=[0.999, 1.001])))
    code, out = _cli("promote", MODEL, "1", "--workspace", str(ws.root))
    assert code == 1 and out["error"]["type"] == "PromotionRefused"
    assert "auroc_lower" in out["error"]["message"]
    assert "calibration_slope" in out["error"]["message"]
    # no audit yet: the fairness gate fails and says what to run
    assert f"fairness: fairness audit: not run yet: run `risk-model audit {MODEL} 1`" \
        in out["error"]["message"]
    assert "--force" in out["error"]["message"]
    assert not any(v["aliases"] for v in model_versions(ws, MODEL))
    code, out = _cli("promote", MODEL, "1", "--workspace", str(ws.root), "--force")
    assert code == 1 and "--reason" in out["error"]["message"]


def test_promotion_then_a_fresh_process_loads_the_champion(trained, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          ) -> None:
    ws, _, lenient = trained
    monkeypatch.setenv(MODELS_ENV, str(_specs(tmp_path / "strict", auroc_lower_min=0.99)))
    code, out = _cli("promote", MODEL, "1", "--workspace", str(ws.root), "--force",
                     "--reason", "test: small area")
    assert code == 0, out
    assert out["forced"] and out["aliases"] == {"champion": "1"}
    [version] = model_versions(ws, MODEL)
    assert version["aliases"] == ["champion"]
    assert version["tags"]["risk_model.promotion.forced_reason"] == "test: small area"
    assert version["tags"]["risk_model.gate.auroc_lower"].startswith("failed")

    script = f"""
import datetime, json, sys
import duckdb, mlflow, mlflow.artifacts
from risk_model.modelling.frame import FeatureSchema, read_model_frame
uri = "models:/{MODEL}@champion"
model = mlflow.pyfunc.load_model(uri)
path = mlflow.artifacts.download_artifacts(uri)
schema = FeatureSchema(json.load(open(path + "/artifacts/features.json"))["features"])
with duckdb.connect(sys.argv[1], read_only=True) as con:
    ids, frame = read_model_frame(con, datetime.date(2024, 3, 31), schema)
p = model.predict(frame)
print(json.dumps({{"n": len(p), "min": float(p.min()), "max": float(p.max()),
                  "distinct": int(p.nunique()), "mean": float(p.mean())}}))
"""
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri(ws)}
    done = subprocess.run([sys.executable, "-c", script, str(ws.warehouse)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["n"] > 3_000
    assert 0.0 <= figures["min"] and figures["max"] <= 1.0
    assert figures["distinct"] > 10  # probabilities, not class labels
    assert 0.01 < figures["mean"] < 0.3

    # a second version, as good, replaces it; the first becomes "previous"
    monkeypatch.setenv(MODELS_ENV, str(lenient))
    code, out = _cli("train", MODEL, "--workspace", str(ws.root))
    assert code == 0 and out["version"] == "2", out
    code, out = _cli("promote", MODEL, "2", "--workspace", str(ws.root))
    assert code == 1 and "fairness audit: not run yet" in out["error"]["message"]
    assert f"run `risk-model audit {MODEL} 2` first" in out["error"]["message"]
    code, out = _cli("audit", MODEL, "2", "--workspace", str(ws.root))
    assert code == 0 and out["passed"] is True, out
    code, out = _cli("promote", MODEL, "2", "--workspace", str(ws.root))
    assert code == 0, out
    assert out["aliases"] == {"champion": "2", "previous": "1"}
    gates = {g["gate"]: g["passed"] for g in out["gates"]}
    assert gates["no_worse_than_champion"] is True and gates["fairness"] is True
    code, out = _cli("promote", MODEL, "2", "--workspace", str(ws.root))
    assert code == 1 and "already the champion" in out["error"]["message"]


def test_unknown_models_and_versions_are_named(trained) -> None:
    ws, _, _ = trained
    code, out = _cli("train", "nope", "--workspace", str(ws.root))
    assert code == 1 and "emergency_admission_12m" in out["error"]["message"]
    code, out = _cli("promote", MODEL, "99", "--workspace", str(ws.root))
    assert code == 1 and "registered versions" in out["error"]["message"]
