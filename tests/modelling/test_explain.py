"""Explanations: exact SHAP values, reasons that respect each role, attributable risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_model.features import load_catalogue
from risk_model.modelling.explain import attributable_risk, reasons, shap_values
from risk_model.modelling.frame import FeatureSchema, lightgbm_frame


@pytest.fixture(scope="module")
def model() -> tuple[object, FeatureSchema, pd.DataFrame]:
    """A small booster on made-up rows where damp reports and asthma raise the risk."""
    import lightgbm as lgb

    schema = FeatureSchema.from_features(load_catalogue().select(
        ["damp_reports_12m", "asthma", "epc_band", "age_years", "emergency_admissions_12m"]))
    rng = np.random.default_rng(3)
    n = 4_000
    frame = pd.DataFrame({
        "damp_reports_12m": rng.poisson(0.4, n).astype(float),
        "asthma": rng.integers(0, 2, n).astype(float),
        "epc_band": rng.choice(list("ABCDEFG"), n),
        "age_years": rng.uniform(0, 90, n),
        "emergency_admissions_12m": rng.poisson(0.2, n).astype(float),
    })
    frame.loc[::17, "epc_band"] = "not known"
    logit = -3 + 0.9 * frame["damp_reports_12m"] + 1.2 * frame["asthma"] \
        + 0.02 * frame["age_years"] + 0.8 * frame["emergency_admissions_12m"]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    booster = lgb.train({"objective": "binary", "verbosity": -1, "num_threads": 1, "seed": 1,
                         "deterministic": True, "min_data_in_leaf": 20},
                        lgb.Dataset(lightgbm_frame(frame, schema), y), num_boost_round=60)
    return booster, schema, frame


def test_shap_values_add_up_to_the_raw_output(model) -> None:
    booster, schema, frame = model
    ex = shap_values(booster, frame, schema)
    assert list(ex.values.columns) == schema.names
    np.testing.assert_allclose(ex.values.sum(axis=1) + ex.base, ex.raw, atol=1e-9)
    assert {"damp_reports_12m", "asthma"} <= set(ex.importance().index[:3])
    assert ex.importance().index[-1] == "epc_band"  # it plays no part in the outcome


def test_officers_get_housing_reasons_and_only_a_broad_health_category(model) -> None:
    booster, schema, frame = model
    ex = shap_values(booster, frame, schema)
    row = frame.index[(frame["damp_reports_12m"] >= 2) & (frame["asthma"] == 1)][0]
    one = frame.loc[[row]]
    officer = reasons(shap_values(booster, one, schema), one, schema.entries,
                      role="housing_officer")[0]
    analyst = reasons(shap_values(booster, one, schema), one, schema.entries, role="analyst")[0]
    damp = f"Damp and mould reports in the last 12 months: {int(one.iloc[0, 0])}"
    assert damp in officer and damp in analyst
    assert "Asthma" in analyst and "Asthma" not in " ".join(officer)
    assert any(r.startswith("Health: a breathing condition") for r in officer)
    everyone = reasons(ex, frame, schema.entries, role="housing_officer")
    labels = [e["label"] for e in schema.entries if e["sensitivity"] == "health"]
    assert not any(label in r for rs in everyone for r in rs for label in labels)
    assert all(len(rs) <= 3 for rs in everyone)
    # none of something is never a reason
    assert not any(r.endswith(": 0") for rs in everyone for r in rs)


def test_attributable_risk_is_what_remedying_housing_removes(model) -> None:
    booster, schema, frame = model

    def predict(f: pd.DataFrame) -> np.ndarray:
        return booster.predict(lightgbm_frame(f, schema))

    damp_only = [{**e, "modifiable": e["name"] == "damp_reports_12m"} for e in schema.entries]
    gain = attributable_risk(predict, frame, damp_only)
    damp = frame["damp_reports_12m"].to_numpy()
    assert np.all(gain[damp == 0] == 0)  # nothing to put right: no difference
    assert gain[damp >= 2].mean() > 0.05
    nothing = [{**e, "modifiable": False} for e in schema.entries]
    assert np.all(attributable_risk(predict, frame, nothing) == 0)
