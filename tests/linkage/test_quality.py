"""Linkage quality against the synthetic truth, link rates without it, the report and the run."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from risk_model.disclosure import SUPPRESSED
from risk_model.linkage.quality import GROUPS, quality_against_truth
from risk_model.tracking import runs
from tests.linkage.conftest import Linked

pytestmark = pytest.mark.slow


def test_person_links_meet_the_quality_goal(linked_area: Linked):
    quality = linked_area.result.summary["person_quality_vs_truth"]
    assert quality["linkable_residents"] > 300
    assert quality["precision"] >= 0.999
    assert quality["recall"] >= 0.985


def test_no_group_recall_more_than_3_points_below_overall(linked_area: Linked):
    quality = linked_area.result.summary["person_quality_vs_truth"]
    assert set(quality["by_group"]) == set(GROUPS)
    for dimension, rows in quality["by_group"].items():
        for row in rows:
            if row["recall"] != SUPPRESSED:
                assert row["recall"] >= quality["recall"] - 0.03, (dimension, row)
    assert quality["groups_more_than_3_points_below"] == []


def test_quality_counts_a_wrong_link_as_wrong(linked_area: Linked):
    links = linked_area.table("SELECT * FROM person_links")
    prob = links.index[links["method"] == "probabilistic"][:2]
    swapped = links.copy()
    swapped.loc[prob, "nhs_pseudo"] = links.loc[prob[::-1], "nhs_pseudo"].to_numpy()
    with duckdb.connect(str(linked_area.ws.warehouse), read_only=True) as con:
        good = quality_against_truth(con, links, linked_area.ws.truth)
        bad = quality_against_truth(con, swapped, linked_area.ws.truth)
        missing = quality_against_truth(con, links.iloc[10:], linked_area.ws.truth)
    assert good["false_links"] == 0
    assert bad["false_links"] == 2
    assert bad["precision"] < good["precision"]
    assert missing["recall"] < good["recall"]


def test_quality_needs_truth(linked_area: Linked, tmp_path):
    with duckdb.connect(str(linked_area.ws.warehouse), read_only=True) as con:
        assert quality_against_truth(con, pd.DataFrame(), tmp_path) is None


def test_link_rates_without_truth_and_expected_false_links(linked_area: Linked):
    rates = linked_area.result.summary["link_rates"]
    counts = linked_area.result.summary["person_linkage"]["counts"]
    assert rates["residents"] == counts["housing_residents"]
    assert rates["linked"] == counts["linked"]
    assert 0.9 < rates["link_rate"] <= 1
    assert 0 <= rates["expected_false_links"] < 1
    assert set(rates["by_group"]) == set(GROUPS)
    for rows in rates["by_group"].values():
        for row in rows:  # counts are rounded to 5 or suppressed
            assert row["n"] == SUPPRESSED or row["n"] % 5 == 0


def test_model_agrees_with_nhs_number_links(linked_area: Linked):
    agreement = linked_area.result.summary["person_linkage"]["nhs_agreement"]
    assert agreement["residents_with_nhs_link"] > 50
    assert agreement["precision"] >= 0.99
    assert agreement["recall"] >= 0.95


def test_address_matching_is_reported_under_its_own_name(linked_area: Linked):
    summary = linked_area.result.to_dict()
    truth = summary["address_matching_vs_truth"]
    assert truth["overall"]["precision"] >= 0.99
    assert truth["overall"]["match_rate"] >= 0.95
    assert summary["address_matching"]["rows"] > 0


def test_report_json_and_html_are_written_and_aggregate(linked_area: Linked):
    reports = linked_area.result.reports
    data = json.loads(Path(reports["run_json"]).read_text(encoding="utf-8"))
    assert data["run_id"] == linked_area.result.run_id
    page = Path(reports["html"]).read_text(encoding="utf-8")
    assert "Record linkage report" in page and "<img" in page
    # the report names no person: no resident or NHS-number pseudonym appears in it
    some = linked_area.table("SELECT resident_id_pseudo, nhs_pseudo FROM person_links LIMIT 50")
    for value in pd.concat([some["resident_id_pseudo"], some["nhs_pseudo"]]):
        assert value not in page
        assert value not in json.dumps(data)


def test_the_run_is_tracked_in_mlflow(linked_area: Linked):
    tracked = {r["run_id"]: r for r in runs(linked_area.ws, "linkage")}
    run = tracked[linked_area.result.mlflow_run_id]
    quality = linked_area.result.summary["person_quality_vs_truth"]
    assert run["metrics"]["truth.precision"] == pytest.approx(quality["precision"])
    assert run["metrics"]["counts.linked"] == linked_area.result.summary[
        "person_linkage"]["counts"]["linked"]
    assert run["params"]["accept_probability"] == "0.99"
    artifacts = list((linked_area.ws.mlflow / "artifacts").rglob("*"))
    names = {p.name for p in artifacts}
    assert {"linkage.html", "linkage.json", "match_weights.png"} <= names
    assert any(n.endswith("-model.json") for n in names)
