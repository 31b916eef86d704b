"""``risk-model link`` as a user runs it: the JSON, refusals, and all-or-nothing writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from risk_model.cli import app
from risk_model.config import Workspace
from risk_model.errors import DataError
from risk_model.linkage import run as link_run
from risk_model.linkage.run import link
from tests.linkage.conftest import Linked

pytestmark = pytest.mark.slow


def _cli(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["link", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_link_json_holds_counts_and_quality(linked_area: Linked):
    code, out = _cli("--workspace", str(linked_area.ws.root), "--overwrite")
    assert code == 0, out
    assert out["ok"] is True
    assert set(out["counts_by_method"]) == {"nhs_number", "probabilistic"}
    assert sum(out["counts_by_method"].values()) == out["counts"]["linked"]
    assert out["person_linkage"]["precision"] >= 0.999
    assert out["person_linkage"]["recall"] >= 0.985
    assert out["address_matching_vs_truth"]["overall"]["precision"] >= 0.99
    assert Path(out["reports"]["html"]).exists()


def test_second_link_is_refused_without_overwrite(linked_area: Linked):
    code, out = _cli("--workspace", str(linked_area.ws.root))
    assert code == 1
    assert out["error"]["type"] == "OutputExistsError"
    assert "--overwrite" in out["error"]["message"] + out["error"].get("hint", "")


def test_link_before_ingest_says_what_to_do(tmp_path: Path):
    code, out = _cli("--workspace", str(tmp_path / "empty"))
    assert code == 1
    assert "risk-model ingest" in json.dumps(out["error"])


def test_thresholds_are_checked(linked_area: Linked):
    code, out = _cli("--workspace", str(linked_area.ws.root), "--accept", "0.5",
                     "--review", "0.9", "--overwrite")
    assert code == 1
    assert out["error"]["type"] == "ConfigError"


def test_a_model_file_that_is_not_a_model_is_refused(linked_area: Linked, tmp_path: Path):
    bad = tmp_path / "model.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(DataError, match="not a Splink model"):
        link(linked_area.ws, model=bad, overwrite=True)


def test_a_failed_run_leaves_the_previous_linkage(linked_area: Linked,
                                                  monkeypatch: pytest.MonkeyPatch):
    ws: Workspace = linked_area.ws
    before = linked_area.table("SELECT * FROM person_links ORDER BY resident_id_pseudo")
    runs_before = linked_area.table("SELECT count(*) AS n FROM linkage_runs")["n"][0]
    report = (ws.reports / "linkage.json").read_bytes()

    def broken(con, links_table):
        con.execute(f"DELETE FROM {links_table}")  # half-way through the writes...
        raise RuntimeError("disk full")

    monkeypatch.setattr(link_run, "build_homes", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        link(ws, overwrite=True)
    after = linked_area.table("SELECT * FROM person_links ORDER BY resident_id_pseudo")
    assert after.equals(before)
    assert linked_area.table("SELECT count(*) AS n FROM linkage_runs")["n"][0] == runs_before
    assert (ws.reports / "linkage.json").read_bytes() == report
    assert not list(ws.root.glob(".staging-*"))
