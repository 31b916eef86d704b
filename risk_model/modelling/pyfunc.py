"""The registered model: an MLflow pyfunc that turns a feature frame into probabilities.

What is bundled with each version (``artifacts``):

- ``booster``: the LightGBM model (text format);
- ``calibration``: the calibration map from the booster's raw score to a probability
  (isotonic: the fitted step points; sigmoid: intercept and slope);
- ``features``: the catalogue entries of the features it uses (name, type, category levels,
  label, family), with the catalogue digest, so model and feature definitions cannot drift;
- ``drift_reference``: the training population's feature and score distributions
  (:func:`risk_model.scoring.drift.reference_profile`), which scoring compares each month with.

``predict`` takes the feature frame (a snapshot's columns; extra columns are ignored) and
returns the calibrated probability for each row, never a class label. A feature the model uses
that is missing from the frame is an error naming it.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

try:  # the base class only matters inside MLflow; keep importing this module cheap otherwise
    from mlflow.pyfunc import PythonModel
except ImportError:  # pragma: no cover
    PythonModel = object  # type: ignore[assignment,misc]

from risk_model.modelling.frame import FeatureSchema, lightgbm_frame

__all__ = ["Calibration", "RiskPyfunc"]


class Calibration:
    """A calibration map from a raw score to a probability.

    Parameters
    ----------
    method : {"isotonic", "sigmoid"}
        The method.
    params : dict
        Isotonic: ``x`` and ``y`` (increasing step points). Sigmoid: ``a`` and ``b`` in
        ``1 / (1 + exp(-(a + b * score)))``.
    """

    def __init__(self, method: str, params: dict[str, Any]) -> None:
        self.method = method
        self.params = params

    @classmethod
    def fit(cls, method: str, score: np.ndarray, y: np.ndarray) -> Calibration:
        """Fit on held-out raw scores and outcomes."""
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            iso.fit(score, y)
            return cls(method, {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()})
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1e6).fit(score.reshape(-1, 1), y)
        return cls("sigmoid", {"a": float(lr.intercept_[0]), "b": float(lr.coef_[0, 0])})

    def __call__(self, score: np.ndarray) -> np.ndarray:
        """Map raw scores to probabilities."""
        if self.method == "isotonic":
            return np.interp(score, self.params["x"], self.params["y"])
        return 1.0 / (1.0 + np.exp(-(self.params["a"] + self.params["b"] * score)))

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready data."""
        return {"method": self.method, "params": self.params}


class RiskPyfunc(PythonModel):
    """The pyfunc model: LightGBM raw score, then the calibration map.

    After loading: ``booster``, ``calibration``, ``schema`` (:class:`FeatureSchema`),
    ``catalogue_digest`` and ``drift_reference`` (the profile, or ``None`` if not bundled).
    """

    def load_context(self, context: Any) -> None:
        """Load the booster, the calibration and the feature schema from the artifacts."""
        import lightgbm as lgb

        self.booster = lgb.Booster(model_file=context.artifacts["booster"])
        with open(context.artifacts["calibration"], encoding="utf-8") as fh:
            cal = json.load(fh)
        self.calibration = Calibration(cal["method"], cal["params"])
        with open(context.artifacts["features"], encoding="utf-8") as fh:
            bundle = json.load(fh)
        self.schema = FeatureSchema(bundle["features"])
        self.catalogue_digest = bundle.get("catalogue_digest")
        self.drift_reference = None  # versions registered before it was bundled have none
        if "drift_reference" in context.artifacts:
            with open(context.artifacts["drift_reference"], encoding="utf-8") as fh:
                self.drift_reference = json.load(fh)

    def predict(self, context: Any, model_input: pd.DataFrame,
                params: dict[str, Any] | None = None) -> pd.Series:
        """Return the calibrated probability of the outcome for each row.

        Parameters
        ----------
        context : mlflow.pyfunc.PythonModelContext
            Unused (artifacts are read in :meth:`load_context`).
        model_input : pandas.DataFrame
            The feature frame.
        params : dict, optional
            Unused.

        Returns
        -------
        pandas.Series
            Probabilities in [0, 1], named ``probability``, same index.
        """
        frame = lightgbm_frame(model_input, self.schema)
        raw = self.booster.predict(frame, raw_score=True)
        return pd.Series(np.clip(self.calibration(raw), 0.0, 1.0), index=model_input.index,
                         name="probability")
