"""``risk-model audit``: gates, report, suppression, and an unfair case it must find."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from risk_model.cli import app
from risk_model.config import Workspace
from risk_model.features.run import build_features
from risk_model.modelling.fairness import audit_groups
from risk_model.tracking import model_versions
from tests.conftest import copy_workspace
from tests.modelling.conftest import DATES

MODEL = "emergency_admission_12m"
GROUPS = ["ethnic_group", "sex", "age_band", "imd_quintile", "ethnic_group x core20"]


def _cli(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.stdout.strip(), result.stderr[-3000:]
    return result.exit_code, json.loads(result.stdout)


def _train_and_audit(ws: Workspace) -> dict:
    code, out = _cli("train", MODEL, "--workspace", str(ws.root))
    assert code == 0, out
    code, out = _cli("audit", MODEL, "--workspace", str(ws.root))
    assert code == 0, out
    return out


# ---- the metrics on made-up data: fast ------------------------------------------------------


def _made_up(n: int = 40_000, seed: int = 3) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    rng = np.random.default_rng(seed)
    group = pd.Series(rng.choice(["A", "B", "C"], n, p=[0.7, 0.2, 0.1]))
    p = rng.beta(1, 12, n)
    y = (rng.uniform(size=n) < p).astype(int)
    return y, p, group


def test_a_group_whose_risk_is_understated_fails_the_gates() -> None:
    y, p, group = _made_up(100_000)
    p = np.where(group == "B", p / 2, p)  # the model understates B's risk 2-fold
    out = audit_groups(y, p, {"g": group}, capacity=(0.02, 0.05), reference={"g": "A"},
                       tolerance=(0.8, 1.25), gated=("tpr", "observed_to_expected"),
                       gate_capacity=0.05, replicates=60)
    gates = out["dimensions"]["g"]["gates"]
    assert not gates["observed_to_expected"]["passed"]
    assert [f["group"] for f in gates["observed_to_expected"]["failed"]] == ["B"]
    assert gates["observed_to_expected"]["failed"][0]["lower"] > 1.25
    assert [f["group"] for f in gates["tpr@5%"]["failed"]] == ["B"]
    # C is treated like A: nowhere near failing
    c = out["dimensions"]["g"]["groups"]["C"]["metrics"]["observed_to_expected"]
    assert c["ratio_lower"] < 1 < c["ratio_upper"]


def test_a_fair_model_passes_and_points_match_a_direct_computation() -> None:
    y, p, group = _made_up()
    out = audit_groups(y, p, {"g": group}, capacity=(0.05,), reference={},
                       tolerance=(0.8, 1.25), gated=("tpr", "observed_to_expected"),
                       gate_capacity=0.05, replicates=40)
    d = out["dimensions"]["g"]
    assert d["reference"] == "A"  # the largest group by default
    assert all(g["passed"] for g in d["gates"].values())
    top = np.zeros(len(p), dtype=bool)
    top[np.argsort(-p, kind="stable")[:2000]] = True
    b = (group == "B").to_numpy()
    tpr_b = (top & b & (y == 1)).sum() / (b & (y == 1)).sum()
    assert d["groups"]["B"]["metrics"]["tpr@5%"]["point"] == pytest.approx(tpr_b, abs=1e-4)
    oe_b = y[b].sum() / p[b].sum()
    assert d["groups"]["B"]["metrics"]["observed_to_expected"]["point"] == \
        pytest.approx(oe_b, abs=1e-4)
    from sklearn.metrics import roc_auc_score

    assert d["groups"]["B"]["metrics"]["auroc"]["point"] == \
        pytest.approx(roc_auc_score(y[b], p[b]), abs=1e-4)


def test_small_groups_are_withheld_and_too_few_to_judge() -> None:
    y, p, group = _made_up(20_000)
    group = group.where(np.arange(len(group)) >= 6, "tiny")  # six people
    out = audit_groups(y, p, {"g": group}, capacity=(0.05,), reference={"g": "A"},
                       tolerance=(0.8, 1.25), gated=("tpr",), gate_capacity=0.05,
                       replicates=20)
    tiny = out["dimensions"]["g"]["groups"]["tiny"]
    assert tiny["n"] == "*"
    assert set(tiny["metrics"].values()) == {"*"}
    assert "tiny" in out["dimensions"]["g"]["gates"]["tpr@5%"]["too_few_to_judge"]


# ---- the command on the synthetic area ----------------------------------------------------------


@pytest.fixture(scope="module")
def audited(featured: Workspace, tmp_path_factory: pytest.TempPathFactory,
            ) -> Iterator[tuple[Workspace, dict]]:
    ws = copy_workspace(featured, tmp_path_factory.mktemp("audited") / "ws")
    yield ws, _train_and_audit(ws)


@pytest.mark.slow
def test_audit_lists_every_gate_and_records_them_on_the_version(audited) -> None:
    ws, out = audited
    assert out["model"] == MODEL and out["version"] == "1"
    assert {(g["dimension"], g["metric"]) for g in out["gates"]} == {
        (d, m) for d in GROUPS for m in ("tpr@2%", "observed_to_expected")}
    assert all(isinstance(g["passed"], bool) and g["detail"] for g in out["gates"])
    [version] = model_versions(ws, MODEL)
    assert version["tags"]["risk_model.fairness.passed"] == str(out["passed"]).lower()
    gate_tags = [k for k in version["tags"] if k.startswith("risk_model.fairness.gate.")]
    assert len(gate_tags) == len(out["gates"])
    # logged to the version's training run
    from mlflow import MlflowClient

    from risk_model.tracking import tracking_uri

    files = {f.path for f in MlflowClient(tracking_uri(ws)).list_artifacts(
        version["run_id"], "audit")}
    assert files == {"audit/audit.json", "audit/audit.html"}


@pytest.mark.slow
def test_report_has_the_sections_charts_and_no_identifier_or_small_count(audited) -> None:
    ws, out = audited
    html = Path(out["report"]).read_text()
    for section in ('id="verdict"', 'id="gates"', 'id="availability-flags"', "ethnic_group",
                    "ethnic_group x core20", "Data availability by sex"):
        assert section in html
    assert html.count("data:image/png;base64,") == len(GROUPS)
    summary = Path(out["summary"]).read_text()
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        people = {p for (p,) in con.execute("SELECT person_id FROM feature_snapshots "
                                            "USING SAMPLE 500").fetchall()}
    assert not any(p in summary or p in html for p in people)
    assert not re.search(r"\b[0-9a-f]{32}\b", summary.replace(out["mlflow_run_id"], ""))
    data = json.loads(summary)

    def counts(node: object) -> Iterator[object]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("n", "events") or key == "selected":
                    yield from (value.values() if isinstance(value, dict) else [value])
                else:
                    yield from counts(value)
        elif isinstance(node, list):
            for item in node:
                yield from counts(item)

    shown = list(counts(data["fairness"])) + list(counts(data["availability"]))
    assert shown and "*" in shown  # this small area has small groups
    assert not [c for c in shown if isinstance(c, int) and 1 <= c <= 7]
    assert all(c == "*" or c % 5 == 0 for c in shown)


@pytest.mark.slow
def test_unknown_version_and_reference_are_named(audited, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ws, _ = audited
    code, out = _cli("audit", MODEL, "7", "--workspace", str(ws.root))
    assert code == 1 and "registered versions: 1" in out["error"]["message"]
    import shutil

    import yaml

    from risk_model.modelling import default_models_path
    from risk_model.modelling.spec import MODELS_ENV

    for path in default_models_path().glob("*.yaml"):
        shutil.copy2(path, tmp_path / path.name)
    spec = yaml.safe_load((tmp_path / f"{MODEL}.yaml").read_text())
    spec["fairness"]["reference"]["ethnic_group"] = "Martian"
    (tmp_path / f"{MODEL}.yaml").write_text(yaml.safe_dump(spec))
    monkeypatch.setenv(MODELS_ENV, str(tmp_path))
    code, out = _cli("audit", MODEL, "--workspace", str(ws.root))
    assert code == 1 and "fairness.reference.ethnic_group is 'Martian'" in \
        out["error"]["message"] and "Asian/Black" in out["error"]["message"]


# ---- a planted unfair case: one group's health records recorded less completely --------------

#: NHS ethnic categories of the ONS "Asian" group.
ASIAN = ("H", "J", "K", "L", "R")


def _under_record(ws: Workspace) -> None:
    """Remove the Asian group's GP-coded conditions, A&E records and admissions before the
    test date: their histories look thinner while what happens to them afterwards does not."""
    codes = ", ".join(f"'{c}'" for c in ASIAN)
    group = f"SELECT nhs_pseudo FROM gp_registrations WHERE ethnic_category IN ({codes})"
    with duckdb.connect(str(ws.warehouse)) as con:
        con.execute(f"DELETE FROM gp_long_term_conditions WHERE nhs_pseudo IN ({group})")
        con.execute(f"DELETE FROM ecds_attendances WHERE nhs_pseudo IN ({group})")
        con.execute(f"DELETE FROM hes_apc WHERE nhs_pseudo IN ({group}) "
                    f"AND admidate < DATE '{DATES[-1]}'")
    build_features(ws, DATES, overwrite=True)


@pytest.mark.slow
def test_the_audit_flags_a_group_whose_records_are_less_complete(
        truth_area: Workspace, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fails if the audit misses the planted under-recording, or flags the same group when
    nothing was planted (the control), or does not say which metric shows it."""
    control = copy_workspace(truth_area, tmp_path_factory.mktemp("fair") / "ws")
    planted = copy_workspace(truth_area, tmp_path_factory.mktemp("unfair") / "ws")
    _under_record(planted)

    def ethnic_failures(out: dict) -> dict[str, str]:
        found = {}
        for gate in out["gates"]:
            if gate["dimension"] == "ethnic_group" and not gate["passed"]:
                found[gate["metric"]] = gate["detail"]
        return found

    fair = _train_and_audit(control)
    assert not any("Asian" in d for d in ethnic_failures(fair).values()), fair["gates"]

    unfair = _train_and_audit(planted)
    failures = ethnic_failures(unfair)
    assert unfair["passed"] is False
    assert "observed_to_expected" in failures  # the model understates their risk
    assert "for Asian" in failures["observed_to_expected"]
    summary = json.loads(Path(unfair["summary"]).read_text())
    asian = summary["fairness"]["dimensions"]["ethnic_group"]["groups"]["Asian"]["metrics"]
    assert asian["observed_to_expected"]["ratio_lower"] > 1.25
    # data availability shows why: far fewer coded conditions than the reference group
    assert any(f["dimension"] == "ethnic_group" and f["group"] == "Asian"
               and f["measure"] == "condition_coded" for f in unfair["availability_flags"])
    # and promote refuses it
    code, out = _cli("promote", MODEL, unfair["version"], "--workspace", str(planted.root))
    assert code == 1 and "fairness audit: failed" in out["error"]["message"]
