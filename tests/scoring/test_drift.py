"""Drift against the training reference: PSI, missing shares, alerts and the verdict."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from risk_model.errors import ConfigError, DataError
from risk_model.features.catalogue import NOT_KNOWN
from risk_model.modelling.frame import FeatureSchema
from risk_model.scoring.drift import (
    MISSING_FEATURES,
    MISSING_FEATURES_HINT,
    PSI_FLOOR,
    drift,
    psi,
    reference_profile,
)

TENURES = ["owner occupied", "private rented", "social rented"]
ROWS = 20_000

SCHEMA = FeatureSchema([
    {"name": "age_years", "type": "number"},
    {"name": "damp_reports_12m", "type": "count"},
    {"name": "asthma", "type": "flag"},
    {"name": "days_since_repair", "type": "days"},
    {"name": "tenure", "type": "category", "values": TENURES},
])


def month(seed: int, rows: int = ROWS, *, tenure_p: tuple[float, ...] = (0.5, 0.25, 0.15, 0.1),
          age_shift: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    """A synthetic model frame and score: what a month of scoring sees."""
    rng = np.random.default_rng(seed)
    age = rng.normal(50.0 + age_shift, 15.0, rows)
    damp = rng.poisson(0.4, rows).astype(float)
    asthma = (rng.random(rows) < 0.08).astype(float)
    repair = rng.exponential(200.0, rows)
    repair[rng.random(rows) < 0.3] = np.nan
    tenure = np.array([*TENURES, NOT_KNOWN], dtype=object)[rng.choice(4, rows, p=tenure_p)]
    frame = pd.DataFrame({"age_years": age, "damp_reports_12m": damp, "asthma": asthma,
                          "days_since_repair": repair, "tenure": pd.Series(tenure, dtype=str)})
    score = rng.uniform(0.0, 0.5, rows)
    return frame, score


@pytest.fixture(scope="module")
def reference() -> tuple[pd.DataFrame, np.ndarray, dict]:
    frame, score = month(1)
    return frame, score, reference_profile(frame, SCHEMA, score)


def test_identical_data_has_no_drift_and_is_trusted(reference) -> None:
    frame, score, profile = reference
    result = drift(profile, frame, score)
    assert result["trusted"] is True and result["alerts"] == [] and result["watch"] == []
    assert result["score"]["psi"] == pytest.approx(0.0, abs=1e-12)
    assert all(r["psi"] == pytest.approx(0.0, abs=1e-12) for r in result["features"].values())
    assert result["summary"].startswith("The list can be trusted: the score's PSI is 0.00")


def test_another_sample_of_the_same_population_is_trusted(reference) -> None:
    _, _, profile = reference
    frame, score = month(2)
    result = drift(profile, frame, score)
    assert result["trusted"] is True
    assert max(r["psi"] for r in result["features"].values()) < 0.01


def test_a_shifted_month_alerts_on_exactly_what_moved(reference) -> None:
    _, _, profile = reference
    # age up by one standard deviation, the share of private renters doubled (25% to 50%),
    # everything else drawn from the same population as the reference
    frame, score = month(3, age_shift=15.0, tenure_p=(0.3, 0.5, 0.1, 0.1))
    result = drift(profile, frame, score * 1.5)

    psi_alerts = {a["name"] for a in result["alerts"] if a["kind"] == "psi"}
    assert psi_alerts == {"score", "age_years", "tenure"}
    assert {n for n, r in result["features"].items() if r["status"] == "drift"} == {
        "age_years", "tenure"}
    assert result["score"]["status"] == "drift" and result["score"]["psi"] > 0.2
    assert all(result["features"][n]["psi"] < 0.01
               for n in ("damp_reports_12m", "asthma", "days_since_repair"))
    assert result["alerts"][0]["subject"] == "score"
    assert result["trusted"] is False
    summary = result["summary"]
    assert summary.startswith("Check before using this list: the score's PSI is "
                              f"{result['score']['psi']:.2f} (above 0.2); 2 features drifted "
                              "(PSI above 0.2): age_years (")
    assert "tenure (" in summary
    assert result["features"]["tenure"]["largest_change"]["bin"] == "private rented"


def test_psi_matches_a_hand_computation() -> None:
    schema = FeatureSchema([{"name": "x", "type": "number"}])
    profile = reference_profile(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}), schema,
                                [0.1, 0.2, 0.3, 0.4], bins=2)
    entry = profile["features"]["x"]
    # the median (2) cuts [1, 2, 3, 4] into below 2 (1 of 4), 2 or above (3 of 4), missing (0)
    assert entry["edges"] == [2.0] and entry["proportions"] == [0.25, 0.75, 0.0]

    result = drift(profile, pd.DataFrame({"x": [1.0, 1.0, 3.0, np.nan]}), [0.1, 0.2, 0.3, 0.4])
    # now: below 2 is 2 of 4, 2 or above 1 of 4, missing 1 of 4 (floored at 1e-4 before)
    by_hand = ((0.5 - 0.25) * math.log(0.5 / 0.25) + (0.25 - 0.75) * math.log(0.25 / 0.75)
               + (0.25 - 1e-4) * math.log(0.25 / 1e-4))
    assert result["features"]["x"]["proportions"] == [0.5, 0.25, 0.25]
    assert result["features"]["x"]["psi"] == pytest.approx(by_hand, rel=1e-12)
    assert result["score"]["psi"] == 0.0
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert psi([1.0, 0.0], [0.0, 1.0]) == pytest.approx(
        2 * (1 - PSI_FLOOR) * math.log(1 / PSI_FLOOR))


def test_values_outside_the_reference_range_fall_in_the_outer_bins(reference) -> None:
    _, _, profile = reference
    frame, score = month(4, rows=10)
    frame["age_years"] = [-1e9] * 5 + [1e9] * 5
    result = drift(profile, frame, score)
    shares = result["features"]["age_years"]["proportions"]
    assert shares[0] == 0.5 and shares[-2] == 0.5 and shares[-1] == 0.0
    assert result["features"]["age_years"]["missing_share"] == 0.0


def test_a_rare_flag_becoming_common_is_seen(reference) -> None:
    _, _, profile = reference
    # asthma is 1 for 8% of the reference: every decile is 0, yet 1 must keep a bin of its own
    assert profile["features"]["asthma"]["edges"] == [0.0, 1.0]
    frame, score = month(5)
    frame["asthma"] = (np.arange(ROWS) % 4 == 0).astype(float)  # 25%
    result = drift(profile, frame, score)
    assert result["features"]["asthma"]["status"] == "drift"
    assert [a["name"] for a in result["alerts"]] == ["asthma"]


def test_a_rise_in_missing_values_is_flagged(reference) -> None:
    _, _, profile = reference
    frame, score = month(6)
    frame.loc[frame.index[: ROWS // 5], "damp_reports_12m"] = np.nan  # 0% -> 20% missing
    result = drift(profile, frame, score, threshold=50.0, warn=50.0)  # PSI alone cannot alert
    alerts = [a for a in result["alerts"] if a["kind"] == "missing_share"]
    assert [(a["name"], a["reference"], a["value"]) for a in alerts] == [
        ("damp_reports_12m", 0.0, 0.2)]
    assert result["trusted"] is False
    assert result["summary"] == (
        "Check before using this list: missing values rose by more than 10% for "
        "damp_reports_12m (0% to 20%); the score's own PSI is "
        f"{result['score']['psi']:.2f}, within 50.")
    # a smaller rise than the allowance is not flagged
    assert drift(profile, frame, score, threshold=50.0, warn=50.0,
                 missing_rise=0.25)["trusted"] is True


def test_an_unseen_category_level_goes_to_other_and_is_counted(reference) -> None:
    _, _, profile = reference
    assert profile["features"]["tenure"]["levels"] == [*TENURES, NOT_KNOWN]
    frame, score = month(7, rows=8)
    frame["tenure"] = ["owner occupied", "shared ownership", "shared ownership", "caravan",
                       None, NOT_KNOWN, "social rented", "owner occupied"]
    result = drift(profile, frame, score)["features"]["tenure"]
    # owner occupied, private rented, social rented, not known, other
    assert result["proportions"] == [0.25, 0.0, 0.125, 0.25, 0.375]
    assert result["unseen_levels"] == {"shared ownership": 2, "caravan": 1}
    assert result["missing_share"] == 0.25


def test_a_feature_missing_from_the_frame_is_an_error_naming_it(reference) -> None:
    frame, score, profile = reference
    lacking = frame.drop(columns=["asthma", "tenure"])
    with pytest.raises(DataError) as caught:
        drift(profile, lacking, score)
    assert str(caught.value) == (MISSING_FEATURES.format(count=2, names="asthma, tenure")
                                 + ". Fix: " + MISSING_FEATURES_HINT)
    assert "asthma, tenure" in str(caught.value)
    with pytest.raises(DataError, match="asthma"):
        reference_profile(lacking, SCHEMA, score)


def test_the_profile_round_trips_through_json_and_is_small(reference) -> None:
    frame, score, profile = reference
    text = json.dumps(profile)
    assert json.loads(text) == profile
    assert len(text) < 5_000
    assert json.dumps(reference_profile(frame, SCHEMA, score)) == text  # deterministic
    shifted, shifted_score = month(3, age_shift=15.0)
    assert json.loads(json.dumps(drift(json.loads(text), shifted, shifted_score))) == drift(
        profile, shifted, shifted_score)


def test_bad_inputs_say_what_is_allowed(reference) -> None:
    frame, score, profile = reference
    with pytest.raises(DataError, match="the score has 3 values for 20000 rows"):
        drift(profile, frame, [0.1, 0.2, 0.3])
    with pytest.raises(ConfigError, match=r"warn must be from 0 to the threshold \(0.2\), got 0.5"):
        drift(profile, frame, score, warn=0.5)
    with pytest.raises(ConfigError, match="bins must be an integer of at least 2, got 1"):
        reference_profile(frame, SCHEMA, score, bins=1)
    with pytest.raises(DataError, match="version 0"):
        drift({**profile, "version": 0}, frame, score)
