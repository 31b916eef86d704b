"""Modelling: model specifications, and (to come) training, calibration, evaluation, SHAP, fairness.

A model is declared in ``models/<name>.yaml`` and loaded by :func:`load_specs`.
"""

from __future__ import annotations

from risk_model.modelling.spec import (
    MODELS_ENV,
    Cohort,
    ModelSpec,
    Outcome,
    default_models_path,
    load_spec,
    load_specs,
)

__all__ = [
    "MODELS_ENV",
    "Cohort",
    "ModelSpec",
    "Outcome",
    "default_models_path",
    "load_spec",
    "load_specs",
]
