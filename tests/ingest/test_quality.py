from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest

from risk_model.errors import DataError
from risk_model.ingest import quality
from risk_model.ingest.quality import profile_source, write_quality_report

# Valid-looking NHS numbers (check digit correct); none may appear in any output.
NHS_NUMBERS = ["9434765919", "4010232137", "9990000018"]
SCRIPT_COLUMN = "<script>alert(1)</script>"


def residents(n_rows: int = 40) -> pd.DataFrame:
    """40 residents: NHS number missing on 10; 4 blank names; dates missing on 2."""
    nhs = [NHS_NUMBERS[i % 3] if i >= 10 else None for i in range(n_rows)]
    names = ["  " if i < 4 else f"Name{i}" for i in range(n_rows)]
    dates = [None if i in (5, 6) else f"2020-01-{(i % 28) + 1:02d}" for i in range(n_rows)]
    dates[7] = "2019-03-15"
    dates[8] = "2024-11-30"
    return pd.DataFrame(
        {
            "NHS_NUMBER": pd.array(nhs, dtype="string"),
            "FORENAME": pd.array(names, dtype="string"),
            "TENANCY_START": pd.to_datetime(pd.Series(dates)),
            "ROOMS": pd.array([2] * n_rows, dtype="Int64"),
            SCRIPT_COLUMN: pd.array([1.5] * n_rows, dtype="Float64"),
        }
    )


def ethnic_groups(n_rows: int = 40) -> pd.Series:
    # A: rows 0-19 (NHS number missing on 0-9), B: rows 20-36 (complete), C: rows 37-39
    return pd.Series(["A"] * 20 + ["B"] * 17 + ["C"] * 3, dtype="string")


def make_profile(**overrides):
    frame = residents()
    kwargs = dict(
        rows_read=40,
        rows_accepted=30,
        quarantined_by_rule={"nhs_number_check_digit": 10, "tenancy_start_in_future": 2},
        date_columns=["TENANCY_START"],
        key_columns=["NHS_NUMBER"],
        duplicate_rows=0,
        group_completeness={"NHS_NUMBER": (frame["NHS_NUMBER"], ethnic_groups())},
    )
    kwargs.update(overrides)
    return profile_source("housing_residents", frame, **kwargs)


def test_completeness_per_field():
    profile = make_profile()
    fields = {f["field"]: f for f in profile["fields"]}
    assert list(fields) == ["NHS_NUMBER", "FORENAME", "TENANCY_START", "ROOMS", SCRIPT_COLUMN]
    assert fields["NHS_NUMBER"] == {
        "field": "NHS_NUMBER",
        "key": True,
        "completeness": 0.75,
        "missing": 10,
    }
    assert fields["ROOMS"]["completeness"] == 1.0
    assert fields["ROOMS"]["missing"] == 0
    assert fields["ROOMS"]["key"] is False
    # 4 blank names: the count is suppressed, and so is the share built on it
    assert fields["FORENAME"]["missing"] == "*"
    assert fields["FORENAME"]["completeness"] == "*"
    assert fields["TENANCY_START"]["missing"] == "*"


def test_counts_validity_and_keys():
    profile = make_profile(duplicate_rows=13)
    assert profile["source"] == "housing_residents"
    assert profile["rows_read"] == 40
    assert profile["rows_accepted"] == 30
    assert profile["validity"] == {"nhs_number_check_digit": 10, "tenancy_start_in_future": "*"}
    assert profile["validity_share"] == 0.75
    assert profile["duplicates"] == 15
    # 10 rows lack the key; 30 rows carry 3 distinct numbers, so 27 repeat one (shown as 25)
    assert profile["keys"] == {
        "columns": ["NHS_NUMBER"],
        "rows_missing_key": 10,
        "duplicate_keys": 25,
    }
    assert profile["suppression"]["threshold"] == 8


def test_date_coverage():
    coverage = make_profile()["date_coverage"]
    assert coverage == {
        "TENANCY_START": {"min": "2019-03-15", "max": "2024-11-30", "missing": "*"},
    }


def test_date_column_must_hold_dates():
    with pytest.raises(DataError, match="date column 'FORENAME' must hold dates"):
        make_profile(date_columns=["FORENAME"])


def test_unknown_column_is_refused():
    with pytest.raises(DataError, match=r"key_columns names column.* not in the frame: UPRN"):
        make_profile(key_columns=["UPRN"])


def test_group_completeness_is_suppressed():
    table = make_profile()["group_completeness"]["NHS_NUMBER"]
    by_group = {row["group"]: row for row in table}
    assert list(by_group) == ["A", "B", "C"]
    assert by_group["A"] == {"group": "A", "rows": 20, "complete": 10, "completeness": 0.5}
    # 17 of 17 complete: the complement is 0, which is not suppressed
    assert by_group["B"] == {"group": "B", "rows": 15, "complete": 15, "completeness": 1.0}
    # a group of 3 shows "*" for every figure
    assert by_group["C"] == {"group": "C", "rows": "*", "complete": "*", "completeness": "*"}


def test_group_with_missing_label_and_misaligned_groups():
    frame = residents()
    labels = ethnic_groups().astype(object)
    labels[:] = None
    profile = make_profile(group_completeness={"NHS_NUMBER": (frame["NHS_NUMBER"], labels)})
    assert profile["group_completeness"]["NHS_NUMBER"][0]["group"] == "(missing)"
    with pytest.raises(DataError, match="has 40 values but 3 group labels"):
        make_profile(group_completeness={"x": (frame["NHS_NUMBER"], labels[:3])})


def run_info():
    return {
        "run_id": "20250101T120000-ab12",
        "started": datetime(2025, 1, 1, 12, 0, 0),
        "key_fingerprint": "sha256:3f9a1c",
        "files": [
            {
                "file": "housing_residents.csv",
                "source": "housing_residents",
                "rows_read": 40,
                "rows_accepted": 30,
                "rows_quarantined": 10,
                "rows_opted_out": 3,
                "reconciled": True,
            },
            {
                "file": "gp.csv",
                "source": "gp_registrations",
                "rows_read": 1002,
                "rows_accepted": 1000,
                "rows_quarantined": 2,
                "rows_opted_out": 0,
                "reconciled": False,
            },
        ],
        "secret_extra": "9434765919",  # unknown keys are not copied into the report
    }


def write(tmp_path):
    json_path, html_path = tmp_path / "quality.json", tmp_path / "quality.html"
    write_quality_report([make_profile()], run=run_info(), json_path=json_path, html_path=html_path)
    return json_path, html_path


def test_json_report(tmp_path):
    json_path, _ = write(tmp_path)
    text = json_path.read_text(encoding="utf-8")
    payload = json.loads(text)
    assert text == json.dumps(payload, indent=2, sort_keys=True) + "\n"
    assert payload["run"]["run_id"] == "20250101T120000-ab12"
    assert payload["run"]["started"] == "2025-01-01T12:00:00"
    files = {f["file"]: f for f in payload["run"]["files"]}
    assert files["housing_residents.csv"]["rows_opted_out"] == "*"
    assert files["gp.csv"]["rows_read"] == 1000
    assert files["gp.csv"]["reconciled"] is False
    assert payload["sources"][0]["source"] == "housing_residents"
    assert "secret_extra" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quality.html", "quality.json"]


def test_html_report(tmp_path):
    _, html_path = write(tmp_path)
    page = html_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "housing_residents" in page
    assert "sha256:3f9a1c" in page
    assert "nhs_number_check_digit" in page
    assert "2019-03-15" in page and "2024-11-30" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page
    assert "Counts from 1 to 7 are shown as" in page
    assert "http://" not in page and "https://" not in page  # no external assets
    assert '<span class="bad">NO</span>' in page


def test_no_identifier_value_in_outputs(tmp_path):
    json_path, html_path = write(tmp_path)
    frame = residents()
    values = set(frame["NHS_NUMBER"].dropna()) | set(frame["FORENAME"].str.strip()) - {""}
    for path in (json_path, html_path):
        text = path.read_text(encoding="utf-8")
        for value in values:
            assert value not in text, f"{path.name} holds an identifier value"


def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    json_path, html_path = write(tmp_path)
    before = json_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(quality.os, "replace", broken_replace)
    run = run_info() | {"run_id": "second-run"}
    with pytest.raises(OSError, match="disk full"):
        write_quality_report([make_profile()], run=run, json_path=json_path, html_path=html_path)
    assert (json_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quality.html", "quality.json"]


def test_profile_that_is_not_json_is_refused(tmp_path):
    profile = make_profile() | {"extra": object()}
    with pytest.raises(DataError, match="cannot be written as JSON"):
        write_quality_report(
            [profile], run=run_info(), json_path=tmp_path / "q.json", html_path=tmp_path / "q.html"
        )
    assert list(tmp_path.iterdir()) == []
