from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from risk_model.config import SmallNumbers, Workspace
from risk_model.disclosure import (
    SUPPRESSED,
    SuppressionRule,
    rule_for,
    suppress_count,
    suppress_counts,
    suppress_table,
    suppressed_rate,
)
from risk_model.errors import ConfigError, DataError
from risk_model.ingest import KEY_ENV, ingest, load_key
from tests.conftest import SynthRun


@pytest.mark.parametrize(
    ("n", "shown"),
    [(0, 0), (1, "*"), (7, "*"), (8, 10), (9, 10), (12, 10), (13, 15), (15, 15), (1002, 1000)],
)
def test_count_boundaries(n, shown):
    assert suppress_count(n) == shown


def test_suppressed_marker_is_a_star():
    assert SUPPRESSED == "*"
    assert suppress_count(3) is SUPPRESSED


def test_zero_can_be_suppressed_too():
    assert suppress_count(0, SuppressionRule(suppress_zero=True)) == "*"


def test_other_rules():
    ons = SuppressionRule(threshold=10, rounding=5)
    assert suppress_count(9, ons) == "*"
    assert suppress_count(10, ons) == 10
    unrounded = SuppressionRule(threshold=5, rounding=1)
    assert suppress_count(4, unrounded) == "*"
    assert suppress_count(6, unrounded) == 6
    # half-way values round up with an even rounding base
    assert suppress_count(15, SuppressionRule(rounding=10)) == 20


def test_counts_that_are_whole_floats_are_accepted():
    assert suppress_count(13.0) == 15
    assert isinstance(suppress_count(13.0), int)


@pytest.mark.parametrize("bad", [-1, 2.5, None, "12", True])
def test_bad_counts_are_refused(bad):
    with pytest.raises(DataError, match="a count must be a whole number of 0 or more, got"):
        suppress_count(bad)


def test_series_keeps_index_and_name():
    counts = pd.Series([0, 1, 7, 8, 12, 13], index=list("abcdef"), name="admissions", dtype="Int64")
    shown = suppress_counts(counts)
    assert shown.dtype == object
    assert shown.name == "admissions"
    assert list(shown.index) == list("abcdef")
    assert shown.tolist() == [0, "*", "*", 10, 10, 15]
    assert all(type(v) in (int, str) for v in shown)


def test_series_with_missing_counts_is_refused():
    counts = pd.Series([1, None], dtype="Int64", name="admissions")
    with pytest.raises(DataError, match="'admissions' holds 1 missing value"):
        suppress_counts(counts)


def test_rate_from_unrounded_counts():
    assert suppressed_rate(40, 120) == 0.333
    assert suppressed_rate(40, 120, digits=1) == 0.3
    assert suppressed_rate(12, 13, SuppressionRule(threshold=1)) == 0.923


def test_rate_on_small_counts_is_suppressed():
    assert suppressed_rate(7, 120) == "*"
    assert suppressed_rate(1, 120) == "*"
    assert suppressed_rate(8, 120) == 0.067
    assert suppressed_rate(3, 5) == "*"  # denominator suppressed
    assert suppressed_rate(0, 5) == "*"


def test_rate_with_small_complement_is_suppressed():
    # 118 of 120: 2 lack it, which the rate and the total would reveal
    assert suppressed_rate(118, 120) == "*"
    assert suppressed_rate(113, 120) == "*"  # complement 7
    assert suppressed_rate(112, 120) == 0.933  # complement 8
    assert suppressed_rate(120, 120) == 1.0  # complement 0 is not suppressed by default
    assert suppressed_rate(120, 120, SuppressionRule(suppress_zero=True)) == "*"


def test_rate_zero_and_empty_denominator():
    assert suppressed_rate(0, 120) == 0.0
    assert suppressed_rate(0, 0) is None


def test_rate_with_numerator_above_denominator_is_refused():
    with pytest.raises(DataError, match="0 <= numerator <= denominator"):
        suppressed_rate(10, 9)


def test_table_applies_to_listed_columns_only():
    frame = pd.DataFrame(
        {"band": ["A", "B", "C"], "residents": [120, 4, 0], "admitted": [13, 0, 0]}
    )
    out = suppress_table(frame, ["residents", "admitted"])
    assert out["band"].tolist() == ["A", "B", "C"]
    assert out["residents"].tolist() == [120, "*", 0]
    assert out["admitted"].tolist() == [15, 0, 0]
    assert frame["residents"].tolist() == [120, 4, 0]  # input unchanged


def test_table_with_unknown_column_is_refused():
    frame = pd.DataFrame({"band": ["A"], "residents": [120]})
    with pytest.raises(DataError, match="not in the table: people"):
        suppress_table(frame, ["people"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 0}, "SuppressionRule.threshold must be a whole number of at least 1, got 0"),
        (
            {"threshold": -3},
            "SuppressionRule.threshold must be a whole number of at least 1, got -3",
        ),
        ({"rounding": 0}, "SuppressionRule.rounding must be a whole number of at least 1, got 0"),
        (
            {"rounding": 2.5},
            "SuppressionRule.rounding must be a whole number of at least 1, got 2.5",
        ),
    ],
)
def test_bad_rule_message(kwargs, message):
    with pytest.raises(ConfigError) as caught:
        SuppressionRule(**kwargs)
    assert caught.value.message == message
    assert str(caught.value).startswith(message + ". Fix: ")


def test_rule_is_frozen():
    rule = SuppressionRule()
    with pytest.raises(AttributeError):
        rule.threshold = 1  # type: ignore[misc]


# ---- the workspace's rule ------------------------------------------------------------------


def test_rule_for_a_workspace_without_settings_is_nhs_digitals(tmp_path):
    assert rule_for(Workspace.at(tmp_path)) == SuppressionRule(threshold=8, rounding=5,
                                                               suppress_zero=False)
    # the settings' defaults and the rule's defaults are the same rule
    assert SuppressionRule() == SuppressionRule(**SmallNumbers().model_dump())


def test_rule_for_reads_the_small_numbers_setting(tmp_path):
    ws = Workspace.at(tmp_path)
    ws.settings_file.write_text("small_numbers:\n  threshold: 11\n  rounding: 10\n"
                                "  suppress_zero: true\n")
    rule = rule_for(ws)
    assert rule == SuppressionRule(threshold=11, rounding=10, suppress_zero=True)
    assert [suppress_count(n, rule) for n in (0, 10, 11, 14, 15)] == ["*", "*", 10, 10, 20]


def test_rule_for_a_bad_setting_names_the_file_and_key(tmp_path):
    ws = Workspace.at(tmp_path)
    ws.settings_file.write_text("small_numbers: {threshold: 0}\n")
    with pytest.raises(ConfigError) as caught:
        rule_for(ws)
    assert caught.value.message == (f"{ws.settings_file}: small_numbers.threshold: must be a "
                                    "whole number of at least 1, got 0")


def test_the_rule_is_described_and_recorded_as_it_is():
    assert SuppressionRule(threshold=11).to_dict() == {
        "threshold": 11, "rounding": 5, "suppress_zero": False, "shown_as": "*"}
    assert SuppressionRule(threshold=11).describe().startswith(
        'Counts from 1 to 10 are shown as "*" and other counts are rounded to the nearest 5;')
    assert SuppressionRule(threshold=2, rounding=1, suppress_zero=True).describe().startswith(
        'Counts of 1 (and 0) are shown as "*" and other counts are not rounded;')
    assert SuppressionRule(threshold=1).describe() == (
        "No counts are hidden and counts are rounded to the nearest 5.")


# ---- the rule in a real output: an ingest run ----------------------------------------------

OPT_OUTS = "national_data_opt_outs.csv"


def _ingest_ten_opt_outs(small_csv: SynthRun, root: Path, settings: str | None) -> Workspace:
    """Ingest a landing zone of one file: the first 10 rows of the area's opt-out list."""
    ws = Workspace.at(root)
    ws.landing.mkdir()
    rows = pd.read_csv(small_csv.ws.landing / OPT_OUTS, dtype=str)
    assert len(rows) >= 10
    rows.head(10).to_csv(ws.landing / OPT_OUTS, index=False)
    if settings is not None:
        ws.settings_file.write_text(settings)
    ingest(ws, key=load_key(environ={KEY_ENV: "disclosure-test-key-" + "0" * 32}),
           today=date(2026, 11, 24))
    return ws


def _outputs(ws: Workspace) -> tuple[dict, dict, str]:
    quality = json.loads((ws.reports / "data_quality.json").read_text())
    (run_file,) = (ws.reports / "ingest").glob("*.json")
    return quality, json.loads(run_file.read_text()), (ws.reports / "data_quality.html").read_text()


def test_ingest_reports_follow_the_workspaces_small_number_rule(small_csv, tmp_path):
    default = _ingest_ten_opt_outs(small_csv, tmp_path / "default", None)
    quality, run, page = _outputs(default)
    (source,) = quality["sources"]
    assert source["rows_read"] == 10 and source["rows_accepted"] == 10
    assert source["suppression"]["threshold"] == 8
    assert run["opt_out"]["opt_out_list_size"] == 10
    assert "Counts from 1 to 7 are shown as" in page

    strict = _ingest_ten_opt_outs(small_csv, tmp_path / "strict",
                                  "small_numbers: {threshold: 11}\n")
    quality, run, page = _outputs(strict)
    (source,) = quality["sources"]
    assert source["rows_read"] == SUPPRESSED and source["rows_accepted"] == SUPPRESSED
    assert source["suppression"] == SuppressionRule(threshold=11).to_dict()
    assert quality["run"]["files"][0]["rows_read"] == SUPPRESSED
    assert run["opt_out"]["opt_out_list_size"] == SUPPRESSED
    assert run["suppression"]["threshold"] == 11
    assert "Counts from 1 to 10 are shown as" in page


def test_ingest_refuses_to_mix_rules_in_one_report_until_rebuilt(small_csv, tmp_path):
    ws = _ingest_ten_opt_outs(small_csv, tmp_path / "ws", None)
    key = load_key(environ={KEY_ENV: "disclosure-test-key-" + "0" * 32})
    before = (ws.reports / "data_quality.json").read_text()
    lsoa = pd.read_csv(small_csv.ws.landing / "lsoa_imd.csv", dtype=str)
    lsoa.to_csv(ws.landing / "lsoa_imd.csv", index=False)
    ws.settings_file.write_text("small_numbers: {threshold: 11}\n")
    with pytest.raises(ConfigError, match=r"national_data_opt_outs\.csv.*another small-number "
                       r"rule.*--overwrite"):
        ingest(ws, key=key, today=date(2026, 11, 24))
    assert (ws.reports / "data_quality.json").read_text() == before  # nothing published
    ingest(ws, key=key, today=date(2026, 11, 24), rebuild=True)
    quality = json.loads((ws.reports / "data_quality.json").read_text())
    opt_outs = next(s for s in quality["sources"] if s["source"] == "national_data_opt_outs")
    assert opt_outs["rows_read"] == SUPPRESSED


def test_a_bad_settings_file_stops_ingest_before_anything_is_written(small_csv, tmp_path):
    with pytest.raises(ConfigError, match=r"settings\.yaml: small_numbers\.zero: unknown key"):
        _ingest_ten_opt_outs(small_csv, tmp_path / "ws", "small_numbers: {zero: true}\n")
    assert not (tmp_path / "ws" / "warehouse.duckdb").exists()
    assert not (tmp_path / "ws" / "reports").exists()
