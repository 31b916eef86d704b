"""Test metrics and curves against scikit-learn, hand-worked examples and known truths."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from risk_model.modelling.metrics import curves, evaluate

# a perfectly ranked or reversed score separates the outcomes, so the calibration fit diverges
SEPARATED = "ignore:overflow encountered in exp:RuntimeWarning"


def _simulated(n: int, seed: int, *, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes drawn from p, with p rounded to 20 levels (many ties) or left continuous."""
    rng = np.random.default_rng(seed)
    p = rng.beta(1.5, 8, n).clip(0.005, 0.95)
    if ties:
        p = np.round(p * 20) / 20 + 0.01  # ~20 distinct values, none at 0
    y = (rng.uniform(size=n) < p).astype(int)
    return y, p


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def _offset_intercept(y: np.ndarray, offset: np.ndarray) -> float:
    """Reference: logistic fit of y with a free intercept and logit(p) as a fixed offset."""
    a = 0.0
    for _ in range(100):
        mu = 1 / (1 + np.exp(-(a + offset)))
        step = (y - mu).sum() / (mu * (1 - mu)).sum()
        a += step
        if abs(step) < 1e-12:
            break
    return a


@pytest.mark.parametrize("ties", [True, False], ids=["tied", "untied"])
def test_point_estimates_equal_scikit_learn(ties: bool) -> None:
    y, p = _simulated(5_000, seed=3, ties=ties)
    assert (len(np.unique(p)) < 30) == ties
    m = evaluate(y, p, replicates=10)
    assert m["n"] == 5_000 and m["events"] == y.sum()
    assert m["auroc"]["point"] == pytest.approx(roc_auc_score(y, p), abs=1e-6)
    assert m["auprc"]["point"] == pytest.approx(average_precision_score(y, p), abs=1e-6)
    assert m["brier"]["point"] == pytest.approx(brier_score_loss(y, p), abs=1e-6)
    assert m["prevalence"]["point"] == pytest.approx(y.mean(), abs=1e-6)
    assert m["mean_predicted"]["point"] == pytest.approx(p.mean(), abs=1e-6)


@pytest.mark.parametrize("ties", [True, False], ids=["tied", "untied"])
def test_calibration_slope_and_intercept_equal_logistic_fits(ties: bool) -> None:
    y, p = _simulated(5_000, seed=4, ties=ties)
    p = np.clip(p * 1.4, 0.005, 0.95)  # miscalibrated, so neither fit is trivially 0 or 1
    x = _logit(p)
    reference = LogisticRegression(C=1e10, tol=1e-10, max_iter=10_000).fit(x[:, None], y)
    m = evaluate(y, p, replicates=10)
    assert m["calibration_slope"]["point"] == pytest.approx(reference.coef_[0, 0], abs=1e-3)
    assert m["calibration_intercept"]["point"] == pytest.approx(_offset_intercept(y, x),
                                                                abs=1e-3)
    assert m["calibration_intercept"]["point"] < -0.1  # the scores are too high


def test_true_probabilities_are_calibrated() -> None:
    y, p = _simulated(200_000, seed=5, ties=False)
    m = evaluate(y, p, replicates=5)
    assert m["calibration_intercept"]["point"] == pytest.approx(0, abs=0.1)
    assert m["calibration_slope"]["point"] == pytest.approx(1, abs=0.1)


def test_capacity_worked_by_hand() -> None:
    # scores 1..10; people scoring 10, 8, 6 and 2 have the event: 4 events, prevalence 0.4
    p = np.arange(1, 11) / 11
    y = np.isin(np.arange(1, 11), [10, 8, 6, 2]).astype(int)
    m = evaluate(y, p, capacity=(0.1, 0.2, 0.5), replicates=10)
    expected = {
        "top_10pct": (1.0, 0.25, 2.5),  # score 10: 1 of 1
        "top_20pct": (0.5, 0.25, 1.25),  # 10, 9: 1 of 2
        "top_50pct": (0.6, 0.75, 1.5),  # 10..6: 3 of 5
    }
    for key, (precision, recall, lift) in expected.items():
        assert m[f"{key}.precision"]["point"] == pytest.approx(precision), key
        assert m[f"{key}.recall"]["point"] == pytest.approx(recall), key
        assert m[f"{key}.lift"]["point"] == pytest.approx(lift), key


def test_capacity_keys_follow_the_shares() -> None:
    y, p = _simulated(2_000, seed=6, ties=False)
    m = evaluate(y, p, replicates=5)
    for key in ("top_1pct", "top_2pct", "top_5pct"):
        assert {f"{key}.precision", f"{key}.recall", f"{key}.lift"} <= m.keys()


def test_intervals_contain_the_point_and_narrow_with_n() -> None:
    widths = {}
    for n in (2_000, 50_000):
        y, p = _simulated(n, seed=7, ties=False)
        m = evaluate(y, p, replicates=200)
        for name, value in m.items():
            if isinstance(value, dict):
                assert value["lower"] <= value["point"] <= value["upper"], (n, name, value)
        widths[n] = m["auroc"]["upper"] - m["auroc"]["lower"]
    assert widths[2_000] > 0
    assert widths[50_000] < widths[2_000] / 2, widths


def test_same_seed_same_intervals_other_seed_different() -> None:
    y, p = _simulated(3_000, seed=8, ties=True)
    first = evaluate(y, p, replicates=50, seed=1)
    assert evaluate(y, p, replicates=50, seed=1) == first
    other = evaluate(y, p, replicates=50, seed=2)
    assert other["auroc"]["point"] == first["auroc"]["point"]
    assert (other["auroc"]["lower"], other["auroc"]["upper"]) != \
        (first["auroc"]["lower"], first["auroc"]["upper"])


@pytest.mark.filterwarnings(SEPARATED)
def test_perfect_reversed_and_constant_scores() -> None:
    y = np.r_[np.zeros(60), np.ones(40)].astype(int)
    ranked = np.linspace(0.01, 0.99, 100)
    assert evaluate(y, ranked, replicates=20)["auroc"] == \
        {"point": 1.0, "lower": 1.0, "upper": 1.0}
    assert evaluate(y, ranked[::-1], replicates=20)["auroc"]["point"] == 0.0
    constant = evaluate(y, np.full(100, 0.3), replicates=20)
    assert constant["auroc"]["point"] == 0.5
    assert constant["auprc"]["point"] == pytest.approx(0.4)  # one threshold: the prevalence
    # calibration in the large: logit(0.4) - logit(0.3)
    assert constant["calibration_intercept"]["point"] == \
        pytest.approx(_logit(np.array(0.4)) - _logit(np.array(0.3)), abs=1e-4)


def test_separated_outcomes_give_no_slope_and_no_warning() -> None:
    y = np.r_[np.zeros(60), np.ones(40)].astype(int)
    m = evaluate(y, np.linspace(0.01, 0.99, 100), replicates=5)  # warnings are errors here
    assert np.isnan(m["calibration_slope"]["point"])
    assert m["auroc"]["point"] == 1.0


@pytest.mark.parametrize("y, p", [
    (np.zeros(5), np.zeros(4)),
    (np.zeros((5, 2)), np.zeros((5, 2))),
    (np.zeros(5), np.zeros((5, 1))),
    (np.zeros(0), np.zeros(0)),
], ids=["lengths", "2-D", "column", "empty"])
def test_bad_input_is_refused(y: np.ndarray, p: np.ndarray) -> None:
    with pytest.raises(ValueError, match="y and p must be 1-D and the same length"):
        evaluate(y, p)


def test_roc_runs_from_origin_to_corner_and_never_falls() -> None:
    y, p = _simulated(4_000, seed=9, ties=True)
    roc = curves(y, p)["roc"]
    fpr, tpr = np.array(roc["fpr"]), np.array(roc["tpr"])
    assert (fpr[0], tpr[0]) == (0, 0)
    assert (fpr[-1], tpr[-1]) == (1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    # the trapezium under the sampled curve is the AUROC (ties: straight segments)
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc_score(y, p), abs=1e-3)


def test_roc_is_thinned_to_points() -> None:
    y, p = _simulated(4_000, seed=9, ties=False)
    c = curves(y, p, points=50)
    assert len(c["roc"]["fpr"]) <= 51
    assert (c["roc"]["fpr"][-1], c["roc"]["tpr"][-1]) == (1, 1)
    assert c["pr"]["recall"][-1] == 1


def test_calibration_and_lift_by_decile() -> None:
    y, p = _simulated(4_001, seed=10, ties=False)
    c = curves(y, p)
    cal = c["calibration"]
    assert len(cal["n"]) == len(cal["predicted"]) == len(cal["observed"]) == 10
    assert sum(cal["n"]) == len(y)
    assert cal["predicted"] == sorted(cal["predicted"])
    lift = np.array(c["lift_by_decile"])
    sizes = np.array(cal["n"][::-1])  # lift is highest risk first
    assert len(lift) == 10
    assert (lift * sizes).sum() / sizes.sum() == pytest.approx(1, abs=1e-3)
    assert lift[0] > 2 > 0.5 > lift[-1]


def test_decision_curve() -> None:
    rng = np.random.default_rng(12)
    p = rng.uniform(0.02, 0.6, 5_000)
    p[:5] = 0.005  # almost everyone is above the smallest threshold
    y = (rng.uniform(size=5_000) < p).astype(int)
    d = curves(y, p)["decision"]
    assert d["threshold"][0] == 0.01 and len(d["threshold"]) == len(d["net_benefit"])
    assert d["treat_none"] == [0.0] * len(d["threshold"])
    assert d["net_benefit"][0] == pytest.approx(d["treat_all"][0], abs=2e-3)
    rate = y.mean()
    assert d["treat_all"][0] == pytest.approx(rate - (1 - rate) * 0.01 / 0.99, abs=1e-6)
    # a useful model beats treating everyone once the threshold is near the prevalence
    at = d["threshold"].index(0.3)
    assert d["net_benefit"][at] > max(d["treat_all"][at], 0)
