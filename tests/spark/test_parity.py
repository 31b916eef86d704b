"""Spark and DuckDB give the same links, features and scores on the same workspace.

Each test copies the ``champion`` area, exports its warehouse to a lake (Parquet folders) and
runs one step on the Spark engine (``local[2]``); the DuckDB outputs of the same step, already
in the warehouse (or made on the same copy), are the reference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from risk_model.config import Workspace
from tests.conftest import DATES, MODEL
from tests.spark.conftest import lake_copy, read_duckdb, read_lake

pytest.importorskip("pyspark")

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _same(left: pd.DataFrame, right: pd.DataFrame, keys: list[str], *,
          atol: float = 1e-9) -> None:
    """Equal frames, rows matched on ``keys``: numbers within ``atol``, the rest exactly."""
    assert sorted(left.columns) == sorted(right.columns)
    assert len(left) == len(right)
    left = left.sort_values(keys, kind="stable").reset_index(drop=True)
    right = right.sort_values(keys, kind="stable").reset_index(drop=True)[list(left.columns)]
    for column in left.columns:
        a, b = left[column], right[column]
        numeric_a = pd.to_numeric(a.astype(object), errors="coerce")
        numeric_b = pd.to_numeric(b.astype(object), errors="coerce")
        if numeric_a.notna().sum() == a.notna().sum() and a.notna().any() \
                and not pd.api.types.is_bool_dtype(a.dtype):
            np.testing.assert_allclose(numeric_a.to_numpy(float), numeric_b.to_numpy(float),
                                       atol=atol, rtol=0, err_msg=column)
        else:
            shown_a = [_plain(v) for v in a]
            shown_b = [_plain(v) for v in b]
            assert shown_a == shown_b, column


def _plain(value: Any) -> Any:
    """A cell as plain Python: arrays as lists, missing as None, dates as ISO text."""
    if isinstance(value, np.ndarray | list | tuple):
        return [_plain(v) for v in value]
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "isoformat"):
        return pd.Timestamp(value).date().isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def test_links_are_the_same(spark: Any, champion: Workspace, tmp_path: Path) -> None:
    from risk_model.linkage.run import link

    ws = lake_copy(champion, tmp_path / "ws")
    saved = read_duckdb(ws, "SELECT model FROM linkage_runs").iloc[0, 0]
    model = tmp_path / "model.json"
    model.write_text(saved, encoding="utf-8")

    result = link(ws, engine="spark", model=model, overwrite=True)

    for table, keys in (("person_links", ["resident_id_pseudo"]),
                        ("link_resident_outcomes", ["resident_id_pseudo"]),
                        ("link_review_queue", ["resident_id_pseudo", "nhs_pseudo"]),
                        ("link_candidates", ["resident_id_pseudo", "nhs_pseudo"]),
                        ("person_homes", ["person_id", "from_date", "priority", "uprn",
                                          "tenancy_ref"])):
        duck = read_duckdb(ws, f"SELECT * FROM {table}")
        lake = read_lake(spark, ws, table)
        if "model_version" in duck.columns:  # the run id differs by design
            duck, lake = duck.drop(columns="model_version"), lake.drop(columns="model_version")
        _same(lake, duck, keys)
    # the report and the run record say the same
    assert result.to_dict()["counts_by_method"] == json.loads(
        (ws.reports / "linkage.json").read_text())["person_linkage"]["counts_by_method"]
    runs = read_lake(spark, ws, "linkage_runs")
    assert result.run_id in set(runs["run_id"])


def test_features_are_the_same(spark: Any, champion: Workspace, tmp_path: Path) -> None:
    from risk_model.features.run import build_features

    ws = lake_copy(champion, tmp_path / "ws")
    day = DATES[-1]

    result = build_features(ws, [day], engine="spark", overwrite=True)

    snapshot = read_lake(spark, ws, "feature_snapshots")
    snapshot = snapshot[snapshot["as_of"] == day].reset_index(drop=True)
    duck = read_duckdb(ws, f"SELECT * FROM feature_snapshots WHERE as_of = DATE '{day}'")
    assert len(duck) > 3000
    _same(snapshot[list(duck.columns)], duck, ["person_id"])
    labels = read_lake(spark, ws, "outcome_labels")
    labels = labels[labels["as_of"] == day]
    duck_labels = read_duckdb(ws, f"SELECT * FROM outcome_labels WHERE as_of = DATE '{day}'")
    _same(labels[list(duck_labels.columns)], duck_labels, ["model", "person_id"])
    # the other dates were left as they were
    assert set(read_lake(spark, ws, "feature_snapshots")["as_of"]) == set(DATES)
    assert result.snapshots[0]["rows"] == len(duck)


def test_scores_are_the_same(spark: Any, champion: Workspace, tmp_path: Path) -> None:
    from risk_model.scoring.run import score

    ws = lake_copy(champion, tmp_path / "ws")
    month = "2024-03"
    on_duckdb = score(ws, month, model=MODEL, engine="duckdb")
    folder = ws.lists / month
    duck_files = {f.name: f.read_bytes() for f in folder.iterdir() if f.suffix == ".csv"}

    on_spark = score(ws, month, model=MODEL, engine="spark", overwrite=True)

    assert on_spark.counts == on_duckdb.counts
    assert on_spark.patches == on_duckdb.patches
    assert on_spark.drift["summary"] == on_duckdb.drift["summary"]
    for table, keys in (("scores", ["person_id"]), ("lists", ["patch", "position"])):
        duck = read_duckdb(ws, f"SELECT * FROM {table} WHERE month = '{month}'")
        lake = read_lake(spark, ws, table)
        lake = lake[lake["month"] == month]
        _same(lake[list(duck.columns)], duck, keys, atol=1e-12)
    # the housing teams' files are the same, byte for byte
    assert {f.name: f.read_bytes() for f in folder.iterdir() if f.suffix == ".csv"} \
        == duck_files
    assert "not published" in on_spark.outputs["review"]


def test_reasons_for_everyone_are_the_same(spark: Any, champion: Workspace,
                                           tmp_path: Path) -> None:
    from risk_model.scoring.run import score

    ws = lake_copy(champion, tmp_path / "ws")
    month = "2024-03"
    score(ws, month, model=MODEL, engine="duckdb", reasons_for="everyone")
    score(ws, month, model=MODEL, engine="spark", reasons_for="everyone", overwrite=True)

    duck = read_duckdb(ws, f"SELECT * FROM resident_reasons WHERE month = '{month}'")
    lake = read_lake(spark, ws, "resident_reasons")
    assert len(duck) > 3000
    _same(lake[list(duck.columns)], duck, ["person_id"])
