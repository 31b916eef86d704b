"""Explanations: exact SHAP values, reasons that respect each role, attributable risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_model.features import load_catalogue
from risk_model.modelling.explain import Explanation, attributable_risk, reasons, shap_values
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
    damp = f"Damp and mould reported {_times(int(one.iloc[0, 0]))} in the last year"
    assert damp in officer and damp in analyst
    assert "Has asthma" in analyst and "asthma" not in " ".join(officer).lower()
    assert any(r.startswith("Health: a breathing condition") for r in officer)
    everyone = reasons(ex, frame, schema.entries, role="housing_officer")
    health = [e for e in schema.entries if e["sensitivity"] == "health"]
    words = [e["label"] for e in health] + [e["reason"].split("{")[0] for e in health]
    assert not any(w.lower() in r.lower() for rs in everyone for r in rs for w in words)
    assert all(len(rs) <= 3 for rs in everyone)
    # none of something, and "not known", are never reasons
    said = " ".join(r for rs in reasons(ex, frame, schema.entries, role="analyst") for r in rs)
    assert said and " 0 " not in said and "not known" not in said


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


# ---- wording, groups and roles, on chosen SHAP values ---------------------------------------

DAMP = ["hazard_damp_mould", "damp_reports_12m", "damp_confirmed_12m", "damp_work_orders_open",
        "days_since_damp_report"]


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _schema(*names: str) -> FeatureSchema:
    return FeatureSchema.from_features(load_catalogue().select(list(names)))


def _explain(schema: FeatureSchema, rows: list[dict], shap: list[dict]) -> tuple:
    """A frame of chosen values and an explanation of chosen contributions (0 if not given)."""
    frame = pd.DataFrame(rows, columns=schema.names)
    values = pd.DataFrame([{n: s.get(n, 0.0) for n in schema.names} for s in shap],
                          columns=schema.names, dtype=float)
    return Explanation(values, 0.0, values.sum(axis=1).to_numpy()), frame


def test_damp_features_read_as_one_plain_english_reason() -> None:
    schema = _schema(*DAMP, "asthma")
    ex, frame = _explain(schema, [
        {"hazard_damp_mould": "none found", "damp_reports_12m": 2.0, "damp_confirmed_12m": 1.0,
         "damp_work_orders_open": 0.0, "days_since_damp_report": np.nan, "asthma": 0.0},
        {"hazard_damp_mould": "Category 1", "damp_reports_12m": 0.0, "damp_confirmed_12m": 3.0,
         "damp_work_orders_open": 1.0, "days_since_damp_report": 40.0, "asthma": 0.0},
    ], [{n: 0.1 for n in schema.names}] * 2)
    first, second = reasons(ex, frame, schema.entries, role="housing_officer")
    assert first == ["Damp and mould reported twice in the last year; "
                     "confirmed by investigation once"]
    assert second == [
        "Category 1 damp and mould hazard found at the last housing health and safety (HHSRS) "
        "assessment; confirmed by investigation 3 times; repairs still open: 1; "
        "last reported 40 days ago"]
    # a member opening its reason says what it is about
    ex, frame = _explain(schema, [{"damp_reports_12m": 2.0, "damp_confirmed_12m": 1.0}],
                         [{"damp_reports_12m": -0.2, "damp_confirmed_12m": 0.1}])
    assert reasons(ex, frame, schema.entries, role="analyst") == [
        ["Damp and mould confirmed by investigation once"]]


def test_age_and_age_band_never_both_appear() -> None:
    schema = _schema("age_years", "age_band", "imd_decile", "asthma")
    rng = np.random.default_rng(1)
    ages = rng.integers(0, 100, 500).astype(float)
    bands = pd.cut(ages, [-1, 4, 15, 39, 64, 74, 84, 200],
                   labels=["0-4", "5-15", "16-39", "40-64", "65-74", "75-84", "85+"])
    rows = [{"age_years": a, "age_band": str(b), "imd_decile": 3.0, "asthma": 1.0}
            for a, b in zip(ages, bands, strict=True)]
    shap = [{n: float(v) for n, v in zip(schema.names, r, strict=True)}
            for r in rng.normal(0.1, 0.1, (500, len(schema.names)))]
    ex, frame = _explain(schema, rows, shap)
    for role in ("analyst", "housing_officer"):
        for said in reasons(ex, frame, schema.entries, role=role, top=4):
            text = " ".join(said)
            assert not ("Aged" in text and "age group" in text), text
    ex, frame = _explain(schema, rows[:1], [{"age_years": 0.2, "age_band": 0.2}])
    age, band = int(ages[0]), str(bands[0])
    assert reasons(ex, frame, schema.entries, role="analyst") == [[f"Aged {age}"]]
    # age in years is for analysts only; an officer is told the band
    assert reasons(ex, frame, schema.entries, role="housing_officer") == [
        [f"In the {band} age group"]]


def test_officers_never_see_a_health_label_or_value_but_see_the_broad_category_once() -> None:
    schema = _schema("damp_reports_12m", "asthma", "copd", "emergency_admissions_12m",
                     "respiratory_admissions_24m")
    row = {"damp_reports_12m": 1.0, "asthma": 1.0, "copd": 1.0,
           "emergency_admissions_12m": 3.0, "respiratory_admissions_24m": 2.0}
    ex, frame = _explain(schema, [row], [{n: 0.1 for n in schema.names} | {"copd": 0.5}])
    officer = reasons(ex, frame, schema.entries, role="housing_officer", top=10)[0]
    breathing = "Health: a breathing condition that damp, mould or cold can make worse"
    assert officer[0] == breathing and officer.count(breathing) == 1
    assert "Damp and mould reported once in the last year" in officer
    text = " ".join(officer).lower()
    for word in ("asthma", "copd", "admitted", "3 times", "twice", "hospital as"):
        assert word not in text
    analyst = reasons(ex, frame, schema.entries, role="analyst", top=10)[0]
    assert {"Has asthma", "Has COPD (a long-term lung condition)"} <= set(analyst)
    assert not any(r.startswith("Health:") for r in analyst)


def test_hidden_members_leave_a_group_and_their_broad_category_comes_separately() -> None:
    schema = _schema("damp_reports_12m", "asthma")
    entries = [{**e, "reason_group": "damp"} for e in schema.entries]  # one mixed group
    ex, frame = _explain(schema, [{"damp_reports_12m": 2.0, "asthma": 1.0}],
                         [{"damp_reports_12m": 0.1, "asthma": 0.3}])
    assert reasons(ex, frame, entries, role="analyst") == [
        ["Damp and mould reported twice in the last year; has asthma"]]
    assert reasons(ex, frame, entries, role="housing_officer") == [[
        "Health: a breathing condition that damp, mould or cold can make worse",
        "Damp and mould reported twice in the last year"]]


@pytest.mark.parametrize(("value", "said"), [
    ("Category 1", True), ("Category 2", True), ("none found", False), ("not known", False)])
def test_a_category_at_its_remedied_value_or_not_known_is_not_a_reason(value, said) -> None:
    schema = _schema("hazard_damp_mould", "hazard_excess_cold")
    ex, frame = _explain(schema, [{"hazard_damp_mould": value, "hazard_excess_cold": "none found"}],
                         [{"hazard_damp_mould": 0.5}])
    expected = [f"{value} damp and mould hazard found at the last housing health and safety "
                "(HHSRS) assessment"]
    assert reasons(ex, frame, schema.entries, role="housing_officer") == [
        expected if said else []]


def test_nothing_set_zero_or_missing_is_a_reason() -> None:
    schema = _schema("damp_reports_12m", "overcrowded", "sap_score", "asthma")
    ex, frame = _explain(schema, [
        {"damp_reports_12m": 0.0, "overcrowded": 0.0, "sap_score": np.nan, "asthma": 0.0},
        {"damp_reports_12m": 1.0, "overcrowded": 1.0, "sap_score": 21.0, "asthma": 1.0},
    ], [{n: 0.2 for n in schema.names}] * 2)
    none, some = reasons(ex, frame, schema.entries, role="analyst", top=5)
    assert none == []
    assert len(some) == 4


def test_a_group_ranks_by_the_sum_of_its_members_contributions() -> None:
    schema = _schema("damp_reports_12m", "damp_confirmed_12m", "epc_band")
    row = {"damp_reports_12m": 2.0, "damp_confirmed_12m": 1.0, "epc_band": "G"}
    shap = {"damp_reports_12m": 0.3, "damp_confirmed_12m": 0.3, "epc_band": 0.5}
    ex, frame = _explain(schema, [row], [shap])
    grouped = reasons(ex, frame, schema.entries, role="housing_officer", top=1)[0]
    assert grouped == ["Damp and mould reported twice in the last year; "
                       "confirmed by investigation once"]
    # without the group each member ranks on its own, below the larger single feature
    alone = [{**e, "reason_group": None} for e in schema.entries]
    assert reasons(ex, frame, alone, role="housing_officer", top=1)[0] == [
        "Energy efficiency rating G on the home's energy certificate (EPC; A is best, "
        "G is worst)"]


def test_priority_orders_by_risk_attributable_or_blend() -> None:
    import numpy as np

    from risk_model.modelling.explain import priority

    risk = np.array([0.30, 0.20, 0.05])
    attributable = np.array([0.00, 0.10, 0.04])
    assert np.argsort(-priority(risk, attributable, "risk")).tolist() == [0, 1, 2]
    assert np.argsort(-priority(risk, attributable, "attributable")).tolist() == [1, 2, 0]
    assert priority(risk, attributable, "blend", 0.75).round(3).tolist() == [0.075, 0.125,
                                                                              0.042]
    with pytest.raises(ValueError, match="rank_by"):
        priority(risk, attributable, "random")


def test_an_officers_age_reason_is_ranked_by_age_in_years_and_band_together() -> None:
    """Age in years is hidden from officers but still counts towards the age group's rank,
    so an old resident's age is not pushed out by smaller housing reasons; fails if hidden
    members are dropped from the group's strength, or if they ever speak."""
    schema = _schema("age_years", "age_band", "overcrowded")
    ex, frame = _explain(schema, [{"age_years": 91.0, "age_band": "85+", "overcrowded": 1.0}],
                         [{"age_years": 0.5, "age_band": 0.01, "overcrowded": 0.1}])
    assert reasons(ex, frame, schema.entries, role="housing_officer", top=1) == [
        ["In the 85+ age group"]]
    assert reasons(ex, frame, schema.entries, role="analyst", top=1) == [["Aged 91"]]
    # the band must qualify for the group to speak at all: with no band, nothing about age
    ex, frame = _explain(schema, [{"age_years": 91.0, "age_band": "not known",
                                   "overcrowded": 1.0}],
                         [{"age_years": 0.5, "age_band": 0.01, "overcrowded": 0.1}])
    [said] = reasons(ex, frame, schema.entries, role="housing_officer", top=2)
    assert len(said) == 1 and "age" not in said[0].lower()
