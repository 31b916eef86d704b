"""The model's input frame: canonical types, fixed category levels, loud failures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_model.features import load_catalogue
from risk_model.modelling.frame import FeatureSchema, input_example, lightgbm_frame, model_frame


@pytest.fixture(scope="module")
def schema() -> FeatureSchema:
    catalogue = load_catalogue()
    return FeatureSchema.from_features(catalogue.select(["tenure", "damp_reports_12m",
                                                         "asthma", "age_years"]))


def test_snapshot_types_become_floats_and_text(schema: FeatureSchema) -> None:
    snap = pd.DataFrame({
        "tenure": ["owner occupied", None], "damp_reports_12m": pd.array([2, None], "Int32"),
        "asthma": pd.array([True, None], "boolean"), "age_years": [70.0, np.nan],
        "person_id": ["a", "b"]})
    frame = model_frame(snap, schema)
    assert list(frame.columns) == ["tenure", "damp_reports_12m", "asthma", "age_years"]
    assert frame["tenure"].tolist() == ["owner occupied", "not known"]
    assert frame["damp_reports_12m"].dtype == "float64" and np.isnan(frame.loc[1, "asthma"])
    assert frame.loc[0, "asthma"] == 1.0


def test_a_missing_feature_is_named(schema: FeatureSchema) -> None:
    with pytest.raises(ValueError, match=r"lacks 1 feature.*damp_reports_12m"):
        model_frame(pd.DataFrame({"tenure": ["x"], "asthma": [1.0], "age_years": [1.0]}),
                    schema)


def test_unseen_levels_are_missing_not_a_shifted_code(schema: FeatureSchema) -> None:
    frame = lightgbm_frame(pd.DataFrame({"tenure": ["castle", "private rented"],
                                         "damp_reports_12m": [0, 0], "asthma": [0, 0],
                                         "age_years": [1, 1]}), schema)
    assert pd.isna(frame.loc[0, "tenure"])
    assert list(frame["tenure"].cat.categories) == schema.categories["tenure"]


def test_the_input_example_is_made_up(schema: FeatureSchema) -> None:
    example = input_example(schema)
    assert len(example) == 2 and list(example.columns) == schema.names
    assert example.loc[1, "tenure"] == "not known" and np.isnan(example.loc[1, "age_years"])
