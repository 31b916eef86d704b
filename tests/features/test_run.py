"""``risk-model features`` as a user runs it: the JSON, the tables, refusals, all-or-nothing."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from risk_model.cli import app
from risk_model.config import Workspace
from risk_model.errors import DataError
from risk_model.features import load_catalogue
from risk_model.features import run as features_run
from risk_model.features.catalogue import CATALOGUE_ENV, default_catalogue_path
from risk_model.features.run import build_features
from risk_model.tracking import runs
from tests.conftest import copy_workspace

pytestmark = pytest.mark.slow


def _cli(ws: Workspace, *args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["features", "--workspace", str(ws.root), *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def _count(ws: Workspace, sql: str) -> list[tuple]:
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def ws(linked_small: Workspace, tmp_path: Path) -> Workspace:
    return copy_workspace(linked_small, tmp_path / "ws")


def test_features_json_reports_rows_features_and_missingness(ws: Workspace) -> None:
    code, out = _cli(ws, "--as-of", "2023-03-31", "--as-of", "2022-09-30")
    assert code == 0, out
    catalogue = load_catalogue()
    assert [s["as_of"] for s in out["snapshots"]] == ["2022-09-30", "2023-03-31"]
    for snap in out["snapshots"]:
        assert snap["rows"] > 2_500 and snap["features"] == len(catalogue.features)
        assert set(snap["missing_share"]) == set(catalogue.features)
        assert all(0 <= v <= 1 for v in snap["missing_share"].values())
        # health records cover everyone; the landlord's records only social homes
        assert snap["missing_share"]["emergency_admissions_12m"] == 0
        assert 0.5 < snap["missing_share"]["damp_reports_12m"] < 1
        by_tenure = snap["known_share_by_tenure"]["damp_reports_12m"]
        assert by_tenure["owner occupied"] == 0 and by_tenure["social rented (council)"] == 1
        assert set(snap["labels"]) == {"emergency_admission_12m", "respiratory_admission_12m",
                                       "fall_admission_12m_65plus"}
    rows = _count(ws, "SELECT as_of, count(*), count(DISTINCT person_id) FROM feature_snapshots "
                      "GROUP BY 1 ORDER BY 1")
    assert [(str(d), n) for d, n, _ in rows] == [
        (s["as_of"], s["rows"]) for s in out["snapshots"]]
    assert all(n == distinct for _, n, distinct in rows)  # one row per person per date
    labels = _count(ws, "SELECT model, count(*) FROM outcome_labels "
                        "WHERE as_of = DATE '2022-09-30' GROUP BY 1 ORDER BY 1")
    assert dict(labels)["emergency_admission_12m"] == out["snapshots"][0]["rows"]
    for path in out["reports"].values():
        assert Path(path).exists()
    tracked = runs(ws, "features")
    assert [r["run_id"] for r in tracked] == [out["mlflow_run_id"]]
    assert tracked[0]["params"]["catalogue_digest"] == catalogue.digest


def test_a_date_built_before_is_refused_then_replaced_with_overwrite(ws: Workspace) -> None:
    assert _cli(ws, "--as-of", "2023-03-31")[0] == 0
    code, out = _cli(ws, "--as-of", "2023-03-31")
    assert code == 1 and out["error"]["type"] == "OutputExistsError"
    assert "--overwrite" in out["error"]["message"]
    before = _count(ws, "SELECT count(*) FROM feature_snapshots")
    assert _cli(ws, "--as-of", "2023-03-31", "--overwrite")[0] == 0
    assert _count(ws, "SELECT count(*) FROM feature_snapshots") == before  # no duplicates


def test_a_failure_while_writing_leaves_the_previous_snapshots(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    build_features(ws, [date(2023, 3, 31)])
    before = _count(ws, "SELECT * FROM feature_snapshots ORDER BY person_id")
    report = (ws.reports / "features.json").read_text()
    real_write = features_run._write

    def broken(con, built, runs, *, drop_old):  # the second date's labels table is missing
        built = [built[0], (built[1][0], "no_such_table")]
        return real_write(con, built, runs, drop_old=drop_old)

    monkeypatch.setattr(features_run, "_write", broken)
    with pytest.raises(Exception, match="no_such_table"):
        build_features(ws, [date(2023, 3, 31), date(2022, 3, 31)], overwrite=True)
    assert _count(ws, "SELECT * FROM feature_snapshots ORDER BY person_id") == before
    assert _count(ws, "SELECT DISTINCT CAST(as_of AS VARCHAR) FROM outcome_labels") == [
        ("2023-03-31",)]
    assert (ws.reports / "features.json").read_text() == report


def test_a_changed_catalogue_needs_overwrite_and_drops_old_snapshots(
        ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_features(ws, [date(2022, 3, 31)])
    folder = tmp_path / "features"
    shutil.copytree(default_catalogue_path(), folder)
    area = yaml.safe_load((folder / "area.yaml").read_text())
    area["features"] = [f for f in area["features"] if f["name"] != "core20"]
    (folder / "area.yaml").write_text(yaml.safe_dump(area, sort_keys=False))
    monkeypatch.setenv(CATALOGUE_ENV, str(folder))
    code, out = _cli(ws, "--as-of", "2023-03-31")
    assert code == 1 and "catalogue changed" in out["error"]["message"]
    assert _cli(ws, "--as-of", "2023-03-31", "--overwrite")[0] == 0
    assert _count(ws, "SELECT DISTINCT CAST(as_of AS VARCHAR) FROM feature_snapshots") == [
        ("2023-03-31",)]
    columns = {r[0] for r in _count(ws, "SELECT column_name FROM information_schema.columns "
                                        "WHERE table_name = 'feature_snapshots'")}
    assert "core20" not in columns and "imd_decile" in columns


def test_before_linkage_it_says_what_to_run(ws: Workspace) -> None:
    with duckdb.connect(str(ws.warehouse)) as con:
        con.execute("DROP TABLE person_homes")
    with pytest.raises(DataError, match="risk-model link"):
        build_features(ws, [date(2023, 3, 31)])


def test_a_bad_date_is_refused_with_the_format(ws: Workspace) -> None:
    code, out = _cli(ws, "--as-of", "31/03/2023")
    assert code == 1 and "YYYY-MM-DD" in out["error"]["message"]
