"""Fast exact SHAP values: the same as LightGBM's pred_contrib, or a loud failure."""

from __future__ import annotations

import sys
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from risk_model.config import Workspace
from risk_model.features import load_catalogue
from risk_model.modelling import treeshap
from risk_model.modelling.explain import shap_values
from risk_model.modelling.run import _features
from risk_model.modelling.spec import load_specs
from risk_model.modelling.train import fit, load_splits
from risk_model.modelling.treeshap import exact_shap

lgb = pytest.importorskip("lightgbm")

TOLERANCE = 1e-5
LEVELS = ["A", "B", "C", "D", "E", "F", "never seen"]


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Numbers with and without NaNs, a flag, and a category with missing values."""
    rng = np.random.default_rng(seed)
    count = rng.poisson(1.0, n).astype(float)
    count[rng.random(n) < 0.15] = np.nan
    centred = rng.normal(0, 1, n)  # no NaN in training: missing_type None
    flag = (rng.random(n) < 0.3).astype(float)
    band = rng.choice(LEVELS[:6], n)  # "never seen" is a level no training row has
    effect = dict(zip(LEVELS, [0.0, 0.8, -0.5, 1.2, 0.3, -1.0, 0.0], strict=True))
    logit = (-1 + 0.6 * np.nan_to_num(count, nan=2.0) + 0.9 * centred + 0.7 * flag
             + np.vectorize(effect.get)(band))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    category = pd.Categorical(band, categories=LEVELS)
    category[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame({"count": count, "centred": centred, "flag": flag, "band": category})
    return frame, y


PARAMS = {"objective": "binary", "num_leaves": 15, "learning_rate": 0.1, "min_data_in_leaf": 20,
          "min_data_per_group": 20, "cat_smooth": 1.0, "max_cat_to_onehot": 2, "seed": 1,
          "deterministic": True, "num_threads": 1, "verbosity": -1}


def _explained(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows to explain: NaN where training had none, a level never seen, shuffled levels."""
    out = frame.copy()
    out.loc[out.index[::7], "centred"] = np.nan
    out.loc[out.index[::11], "band"] = "never seen"
    out["band"] = out["band"].cat.reorder_categories(LEVELS[::-1])  # LightGBM remaps codes
    return out


def _splits(booster: Any) -> set[str]:
    kinds: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "split_index" not in node:
            return
        if node["decision_type"] == "==":
            kinds.add("categorical set" if "||" in str(node["threshold"]) else "categorical")
        else:
            kinds.add(f"missing {node['missing_type']}")
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        if "split_index" not in tree["tree_structure"]:
            kinds.add("single leaf")
        walk(tree["tree_structure"])
    return kinds


@pytest.fixture(scope="module")
def mixed() -> tuple[Any, pd.DataFrame]:
    """A booster whose first tree is a single leaf, then every kind of split; rows to explain.

    A first round on rows that cannot be split gives the single-leaf tree; training goes on
    from it on rows that can.
    """
    frame, y = _frame(3_000, seed=5)
    still = pd.DataFrame({c: frame[c].iloc[[0] * len(frame)].to_numpy() for c in frame})
    still["band"] = pd.Categorical(still["band"], categories=LEVELS)
    first = lgb.train(PARAMS, lgb.Dataset(still, y), num_boost_round=1)
    booster = lgb.train(PARAMS, lgb.Dataset(frame, y), num_boost_round=40, init_model=first)
    assert {"single leaf", "missing NaN", "missing None", "categorical set"} <= _splits(booster)
    explained, _ = _frame(1_500, seed=6)
    return booster, _explained(explained)


@pytest.fixture(scope="module")
def zero_as_missing() -> tuple[Any, pd.DataFrame]:
    """A booster trained with zero_as_missing (missing_type Zero), and rows with 0s and NaNs."""
    frame, y = _frame(3_000, seed=7)
    booster = lgb.train({**PARAMS, "zero_as_missing": True}, lgb.Dataset(frame, y),
                        num_boost_round=30)
    assert "missing Zero" in _splits(booster)
    explained, _ = _frame(1_500, seed=8)
    explained.loc[explained.index[::5], "centred"] = 0.0
    explained.loc[explained.index[::9], "centred"] = np.nan
    return booster, _explained(explained)


def _agreement(booster: Any, frame: pd.DataFrame, **kwargs: Any) -> tuple[float, float]:
    values, base = exact_shap(booster, frame, **kwargs)
    reference = booster.predict(frame, pred_contrib=True)
    raw = booster.predict(frame, raw_score=True)
    assert values.shape == (len(frame), frame.shape[1]) and values.dtype == np.float64
    assert abs(base - reference[0, -1]) <= TOLERANCE
    gap = float(np.abs(values.sum(axis=1) + base - raw).max())
    return float(np.abs(values - reference[:, :-1]).max()), gap


@pytest.mark.parametrize("model", ["mixed", "zero_as_missing"])
def test_values_are_lightgbms_pred_contrib_and_add_up(model: str,
                                                      request: pytest.FixtureRequest) -> None:
    booster, frame = request.getfixturevalue(model)
    diff, gap = _agreement(booster, frame)
    assert diff <= TOLERANCE, diff
    assert gap <= TOLERANCE, gap
    # float64 throughout: woodelf's own float32 sums are about 1e-8 out on this small model
    assert diff <= 1e-10 and gap <= 1e-10, (diff, gap)
    # every row of every kind agrees, not only the ones exact_shap checks itself
    assert frame["centred"].isna().any() and frame["band"].isna().any()
    assert (frame["band"] == "never seen").any()


def test_chunks_give_the_same_values(mixed) -> None:
    booster, frame = mixed
    whole, base = exact_shap(booster, frame, chunk=len(frame))
    chunked, chunked_base = exact_shap(booster, frame, chunk=97)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-12)
    assert chunked_base == base


def test_the_base_is_the_trees_expected_value_whatever_the_rows(mixed) -> None:
    booster, frame = mixed
    bias = booster.predict(frame.iloc[:5], pred_contrib=True)[0, -1]
    assert abs(exact_shap(booster, frame.iloc[:1], check_rows=0).base - bias) <= 1e-12
    empty = exact_shap(booster, frame.iloc[:0])
    assert empty.values.shape == (0, frame.shape[1]) and abs(empty.base - bias) <= 1e-12


# ---- the check finds wrong values ------------------------------------------------------------


def _perturbed(feature: str, by: float) -> Any:
    """woodelf's pieces with each tree adding ``by`` to one feature's values."""
    parts = treeshap._woodelf()

    def explain_tree(tree: Any, data: pd.DataFrame, values: dict, *args: Any) -> None:
        parts.explain_tree(tree, data, values, *args)
        values[feature] += by

    return lambda: parts._replace(explain_tree=explain_tree)


def test_a_wrong_value_raises_naming_the_feature_never_a_row(mixed, monkeypatch) -> None:
    booster, frame = mixed
    frame = frame.set_axis([f"person-{i:06d}" for i in range(len(frame))])
    monkeypatch.setattr(treeshap, "_woodelf", _perturbed("centred", 1e-4))
    with pytest.raises(ArithmeticError) as failure:
        exact_shap(booster, frame)
    message = str(failure.value)
    assert message.startswith("fast SHAP values differ from LightGBM's pred_contrib by up to")
    assert "(feature 'centred') on 200 checked rows" in message
    assert "person-" not in message
    # a tolerance above the error lets it through; no check, no error
    exact_shap(booster, frame, tolerance=1.0)
    exact_shap(booster, frame, check_rows=0)


def test_a_wrong_base_raises(mixed, monkeypatch) -> None:
    booster, frame = mixed
    expected = treeshap._expected_value
    monkeypatch.setattr(treeshap, "_expected_value", lambda tree: expected(tree) + 1e-3)
    with pytest.raises(ArithmeticError, match=r"base value .* differs from LightGBM's"):
        exact_shap(booster, frame)


class _RawScoreOff:
    """A booster whose raw score is off by a little, and which otherwise is itself."""

    def __init__(self, booster: Any) -> None:
        self._booster = booster

    def __getattr__(self, name: str) -> Any:
        return getattr(self._booster, name)

    def predict(self, data: pd.DataFrame, **kwargs: Any) -> np.ndarray:
        out = self._booster.predict(data, **kwargs)
        return out + 1e-3 if kwargs.get("raw_score") else out


def test_values_that_do_not_add_up_to_the_raw_score_raise(mixed) -> None:
    booster, frame = mixed
    with pytest.raises(ArithmeticError, match="do not add up to the model's raw score"):
        exact_shap(_RawScoreOff(booster), frame)


# ---- what it refuses -------------------------------------------------------------------------


def test_linear_trees_are_refused(mixed) -> None:
    _, frame = mixed
    numbers = frame[["count", "centred", "flag"]].fillna(0.0)
    y = (numbers["centred"] > 0).astype(int)
    booster = lgb.train({**PARAMS, "linear_tree": True}, lgb.Dataset(numbers, y),
                        num_boost_round=3)
    with pytest.raises(NotImplementedError) as failure:
        exact_shap(booster, numbers)
    assert str(failure.value) == treeshap.LINEAR_TREES


def test_a_frame_that_is_not_the_models_is_refused(mixed) -> None:
    booster, frame = mixed
    with pytest.raises(ValueError, match=r"column 1 is 'flag' where the booster has 'centred'"):
        exact_shap(booster, frame[["count", "flag", "centred", "band"]])
    with pytest.raises(ValueError, match="3 columns for 4 features"):
        exact_shap(booster, frame.drop(columns="flag"))
    with pytest.raises(ValueError, match="0 categorical columns where the booster was trained "
                                         "with 1"):
        exact_shap(booster, frame.assign(band=frame["band"].cat.codes.astype(float)))
    with pytest.raises(ValueError, match="chunk must be 1 or more rows"):
        exact_shap(booster, frame, chunk=0)


def test_without_woodelf_the_error_says_what_to_install(mixed, monkeypatch) -> None:
    booster, frame = mixed
    treeshap._woodelf.cache_clear()
    monkeypatch.setitem(sys.modules, "woodelf.woodelf_sparse", None)  # as if not installed
    try:
        with pytest.raises(ImportError) as failure:
            exact_shap(booster, frame)
    finally:
        treeshap._woodelf.cache_clear()
    assert str(failure.value) == treeshap.MISSING_PACKAGE.format(version="0.4.8")
    assert "pip install 'woodelf-explainer==0.4.8'" in str(failure.value)


# ---- a model the project trains --------------------------------------------------------------


@pytest.mark.slow
def test_a_trained_model_explains_the_same_fast(featured: Workspace) -> None:
    """The respiratory model trained on the small featured area, its test split explained."""
    spec = load_specs()["respiratory_admission_12m"]
    schema = _features(spec, load_catalogue())
    with duckdb.connect(str(featured.warehouse), read_only=True) as con:
        splits = load_splits(con, spec, schema)
    booster = fit(splits, spec, schema).booster
    test = splits["test"].x
    assert schema.categories  # categorical features, as in production
    fast = shap_values(booster, test, schema, method="fast")
    slow = shap_values(booster, test, schema)
    assert list(fast.values.columns) == schema.names
    assert fast.values.index.equals(test.index)
    assert np.abs(fast.values.to_numpy() - slow.values.to_numpy()).max() <= TOLERANCE
    assert abs(fast.base - slow.base) <= TOLERANCE
    np.testing.assert_array_equal(fast.raw, slow.raw)
    with pytest.raises(ValueError, match="method must be 'lightgbm' or 'fast', got 'quick'"):
        shap_values(booster, test.iloc[:5], schema, method="quick")
