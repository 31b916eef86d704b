"""Fitting: the temporal splits, LightGBM with early stopping, the baseline, calibration.

- **Splits** come from ``feature_snapshots`` joined to ``outcome_labels`` for the model's
  train, validation and test as-of dates; only people with a label (not censored) are used.
- **Validation** people are split in two halves by a hash of their pseudonym: one half stops
  the boosting early, the other fits the calibration, so neither is fitted on the rows it is
  judged on. Test rows are touched only by evaluation.
- **LightGBM** (binary objective, categorical features with fixed catalogue levels,
  deterministic on 2 threads) and the **baseline**, an L2-regularised logistic regression on
  the same features (median imputation with missing indicators, scaling, one-hot categories),
  are both calibrated the same way on the calibration half, so both output probabilities.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from risk_model.errors import DataError
from risk_model.features.outcomes import LABELS_TABLE
from risk_model.features.run import SNAPSHOTS_TABLE
from risk_model.modelling.frame import FeatureSchema, lightgbm_frame, model_frame
from risk_model.modelling.pyfunc import Calibration
from risk_model.modelling.spec import ModelSpec

__all__ = ["Fitted", "Split", "fit", "load_splits"]

log = logging.getLogger(__name__)


@dataclass
class Split:
    """The rows of one split: features (canonical frame), outcomes, pseudonyms, as-of dates."""

    x: pd.DataFrame
    y: np.ndarray
    person_id: pd.Series
    as_of: pd.Series

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, mask: np.ndarray) -> Split:
        """The rows where ``mask`` is true."""
        return Split(self.x[mask].reset_index(drop=True), self.y[mask],
                     self.person_id[mask].reset_index(drop=True),
                     self.as_of[mask].reset_index(drop=True))


def load_splits(con: duckdb.DuckDBPyConnection, spec: ModelSpec,
                schema: FeatureSchema) -> dict[str, Split]:
    """Read the train, validation and test rows of a model from the warehouse.

    Returns
    -------
    dict of str to Split
        ``train``, ``validation`` and ``test``.

    Raises
    ------
    DataError
        If a split has no labelled rows or only one outcome class.
    """
    assert spec.dates is not None
    wanted = {"train": list(spec.dates.train), "validation": [spec.dates.validation],
              "test": [spec.dates.test]}
    columns = ", ".join(f's."{n}"' for n in schema.names)
    out: dict[str, Split] = {}
    for split, dates in wanted.items():
        frame = con.execute(f"""
            SELECT s.person_id, s.as_of, CAST(l.label AS INTEGER) AS label, {columns}
            FROM {SNAPSHOTS_TABLE} s JOIN {LABELS_TABLE} l USING (person_id, as_of)
            WHERE l.model = ? AND l.label IS NOT NULL AND s.as_of IN ({", ".join("?" * len(dates))})
            ORDER BY s.as_of, s.person_id""", [spec.name, *dates]).df()
        y = frame["label"].to_numpy(dtype=int)
        if len(frame) == 0 or y.min() == y.max():
            raise DataError(
                f"model {spec.name!r}: the {split} date(s) {', '.join(map(str, dates))} have "
                f"{len(frame)} labelled people and {int(y.sum()) if len(y) else 0} events",
                hint="check the dates in the spec fall inside the data with complete follow-up")
        out[split] = Split(model_frame(frame, schema), y, frame["person_id"],
                           frame["as_of"])
    return out


@dataclass
class Fitted:
    """What :func:`fit` produces."""

    booster: Any
    calibration: Calibration
    baseline: Any
    baseline_calibration: Calibration
    best_iteration: int
    early_rows: int
    calibration_rows: int

    def predict(self, x: pd.DataFrame, schema: FeatureSchema) -> np.ndarray:
        """Calibrated LightGBM probabilities for a canonical frame."""
        raw = self.booster.predict(lightgbm_frame(x, schema), raw_score=True)
        return np.clip(self.calibration(raw), 0.0, 1.0)

    def predict_baseline(self, x: pd.DataFrame) -> np.ndarray:
        """Calibrated baseline probabilities for a canonical frame."""
        return np.clip(self.baseline_calibration(self.baseline.decision_function(x)), 0.0, 1.0)


def _halves(person_id: pd.Series) -> np.ndarray:
    """True for the half of people who stop the boosting; the rest fit the calibration."""
    return (pd.util.hash_pandas_object(person_id, index=False).to_numpy() % 2 == 0)


def _baseline(schema: FeatureSchema, c: float) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [n for n in schema.names if n not in schema.categories]
    categories = list(schema.categories)
    prepare = ColumnTransformer([
        ("numbers", Pipeline([
            ("impute", SimpleImputer(strategy="median", add_indicator=True,
                                     keep_empty_features=True)),
            ("scale", StandardScaler())]), numeric),
        ("categories", OneHotEncoder(categories=[schema.categories[n] for n in categories],
                                     handle_unknown="ignore"), categories),
    ])
    return Pipeline([("prepare", prepare),
                     ("logistic", LogisticRegression(C=c, max_iter=2000))])


def fit(splits: dict[str, Split], spec: ModelSpec, schema: FeatureSchema) -> Fitted:
    """Fit LightGBM and the baseline on ``train`` and calibrate both on held-out validation.

    Parameters
    ----------
    splits : dict of str to Split
        From :func:`load_splits`.
    spec : ModelSpec
        The model's settings.
    schema : FeatureSchema
        Its features.

    Returns
    -------
    Fitted
        The booster, the baseline and their calibrations.
    """
    import lightgbm as lgb

    train, validation = splits["train"], splits["validation"]
    early_mask = _halves(validation.person_id)
    early, calib = validation.subset(early_mask), validation.subset(~early_mask)
    p = spec.lightgbm
    params = {
        "objective": "binary", "metric": "binary_logloss", "learning_rate": p.learning_rate,
        "num_leaves": p.num_leaves, "min_data_in_leaf": p.min_child_samples,
        "feature_fraction": p.feature_fraction, "bagging_fraction": p.bagging_fraction,
        "bagging_freq": p.bagging_freq, "lambda_l2": p.lambda_l2, "seed": p.seed,
        "deterministic": True, "force_row_wise": True, "num_threads": 2, "verbosity": -1,
    }
    categorical = list(schema.categories)
    train_set = lgb.Dataset(lightgbm_frame(train.x, schema), train.y,
                            categorical_feature=categorical, free_raw_data=False)
    early_set = lgb.Dataset(lightgbm_frame(early.x, schema), early.y, reference=train_set,
                            categorical_feature=categorical)
    booster = lgb.train(params, train_set, num_boost_round=p.max_rounds,
                        valid_sets=[early_set],
                        callbacks=[lgb.early_stopping(p.early_stopping_rounds, verbose=False)])
    best = int(booster.best_iteration or booster.current_iteration())
    raw = booster.predict(lightgbm_frame(calib.x, schema), raw_score=True,
                          num_iteration=best)
    calibration = Calibration.fit(spec.calibration, raw, calib.y)
    log.debug("lightgbm: best iteration %d of %d", best, booster.current_iteration())

    baseline = _baseline(schema, spec.baseline.C).fit(train.x, train.y)
    baseline_calibration = Calibration.fit(spec.calibration,
                                           baseline.decision_function(calib.x), calib.y)
    # keep only the rounds that early stopping chose, so the saved model is what was judged
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return Fitted(booster, calibration, baseline, baseline_calibration, best, len(early),
                  len(calib))

