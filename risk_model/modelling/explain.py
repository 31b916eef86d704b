"""Explanations: SHAP values, reasons in plain English for each role, attributable risk.

- :func:`shap_values` gives exact TreeSHAP contributions from the LightGBM booster (its own
  ``pred_contrib``), in log-odds, and checks they add up to the booster's raw output.
- :func:`reasons` turns each person's largest positive contributions into sentences built from
  the catalogue labels and the person's values. What a role sees follows the catalogue: a
  housing officer gets housing reasons in detail and health reasons only as their broad
  category (never a diagnosis); an analyst gets everything.
- :func:`attributable_risk` is the predicted risk minus the predicted risk with every modifiable
  housing feature set to its remedied value. It is an association, not a causal effect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from risk_model.features.catalogue import NOT_KNOWN
from risk_model.modelling.frame import FeatureSchema, lightgbm_frame

__all__ = ["ATTRIBUTABLE_NOTE", "Explanation", "attributable_risk", "reasons", "shap_values"]

#: Shown wherever the housing-attributable risk is.
ATTRIBUTABLE_NOTE = ("an association in the data, not a measured effect of the intervention: "
                     "the risk the model gives with the housing problems put right")

_ADDITIVITY_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Explanation:
    """SHAP values of a frame.

    Attributes
    ----------
    values : pandas.DataFrame
        One column per feature: its contribution to the log-odds, same index as the frame.
    base : float
        The expected log-odds (the contribution of no feature).
    raw : numpy.ndarray
        The booster's raw output (log-odds); ``values.sum(axis=1) + base`` equals it.
    """

    values: pd.DataFrame
    base: float
    raw: np.ndarray

    def importance(self) -> pd.Series:
        """Mean absolute contribution per feature, largest first."""
        return self.values.abs().mean().sort_values(ascending=False)


def shap_values(booster: Any, frame: pd.DataFrame, schema: FeatureSchema) -> Explanation:
    """Return exact TreeSHAP values of a canonical frame, checked for additivity.

    Parameters
    ----------
    booster : lightgbm.Booster
        The model.
    frame : pandas.DataFrame
        The model frame (:func:`risk_model.modelling.frame.model_frame`).
    schema : FeatureSchema
        The model's features.

    Raises
    ------
    ArithmeticError
        If the contributions do not add up to the raw output (they always should).
    """
    data = lightgbm_frame(frame, schema)
    contrib = np.asarray(booster.predict(data, pred_contrib=True))
    raw = np.asarray(booster.predict(data, raw_score=True))
    gap = np.abs(contrib.sum(axis=1) - raw)
    if len(gap) and gap.max() > _ADDITIVITY_TOLERANCE * max(1.0, np.abs(raw).max()):
        raise ArithmeticError(f"SHAP values do not add up to the model's output (largest gap "
                              f"{gap.max():.2e})")
    values = pd.DataFrame(contrib[:, :-1], columns=schema.names, index=frame.index)
    return Explanation(values, float(contrib[0, -1]) if len(contrib) else 0.0, raw)


def _value_text(entry: dict[str, Any], value: Any) -> str | None:
    kind = entry["type"]
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == NOT_KNOWN:
        return None
    if kind == "flag":
        return "yes" if float(value) >= 0.5 else "no"
    if kind in ("count", "days"):
        return f"{round(float(value)):,}"
    if kind == "number":
        number = float(value)
        return f"{number:,.0f}" if abs(number) >= 10 else f"{number:,.1f}"
    return str(value)


def _sentence(entry: dict[str, Any], value: Any) -> str | None:
    """``"<label>: <value>"``, or the label alone for a flag that is set."""
    text = _value_text(entry, value)
    if text is None:
        return None
    if entry["type"] == "flag":
        return entry["label"] if text == "yes" else None
    if entry["type"] == "count" and text == "0":
        return None  # none of something is never a reason
    unit = entry.get("unit")
    return f"{entry['label']}: {text}" + (f" {unit}" if unit and unit != "days" else "")


def reasons(explanation: Explanation, frame: pd.DataFrame, entries: Sequence[dict[str, Any]],
            *, role: str, top: int = 3) -> list[list[str]]:
    """Return, for each row, up to ``top`` reasons pushing the risk up, for a role.

    Parameters
    ----------
    explanation : Explanation
        SHAP values of ``frame``.
    frame : pandas.DataFrame
        The model frame.
    entries : sequence of dict
        The catalogue entries of the model's features (``label``, ``type``, ``sensitivity``,
        ``roles``, ``broad_category``, ``unit``), as bundled with the model.
    role : str
        ``housing_officer``, ``analyst`` or ``administrator``.
    top : int, optional
        How many reasons at most.

    Returns
    -------
    list of list of str
        Sentences, strongest first. A feature the role may not see appears only as its broad
        category (once), or not at all if it has none. Only features that raise the risk, and
        whose value is known (a flag that is set, a count above 0), give a reason. The
        sentences are ``"<label>: <value>"``; wording templates per feature are still to come.
    """
    by_name = {e["name"]: e for e in entries}
    values = explanation.values
    order = np.argsort(-values.to_numpy(), axis=1)
    out: list[list[str]] = []
    for i, row_order in enumerate(order):
        said: list[str] = []
        for j in row_order:
            if len(said) >= top:
                break
            contribution = values.iat[i, j]
            if contribution <= 0:
                break
            name = values.columns[j]
            entry = by_name[name]
            sentence = _sentence(entry, frame.iat[i, frame.columns.get_loc(name)])
            if sentence is None:
                continue
            if role not in entry.get("roles", ()):
                broad = entry.get("broad_category")
                if not broad:
                    continue
                sentence = f"Health: {broad}"
            if sentence not in said:
                said.append(sentence)
        out.append(said)
    return out


def attributable_risk(predict: Callable[[pd.DataFrame], np.ndarray], frame: pd.DataFrame,
                      entries: Sequence[dict[str, Any]]) -> np.ndarray:
    """Return the housing-attributable risk of each row (see :data:`ATTRIBUTABLE_NOTE`).

    Parameters
    ----------
    predict : callable
        Calibrated probabilities for a model frame.
    frame : pandas.DataFrame
        The model frame.
    entries : sequence of dict
        The catalogue entries (``modifiable``, ``remedied_value``, ``type``).

    Returns
    -------
    numpy.ndarray
        ``predict(frame) - predict(remedied frame)``; where nothing is modifiable or already
        remedied the two are equal and the difference is 0.
    """
    remedied = frame.copy()
    for entry in entries:
        name, value = entry["name"], entry.get("remedied_value")
        if not entry.get("modifiable") or value is None or name not in remedied:
            continue
        column = remedied[name]
        known = column.notna() & (column.astype(str) != NOT_KNOWN)
        if entry["type"] == "category":
            remedied[name] = column.where(~known, str(value))
        else:
            remedied[name] = column.where(~known, float(value))
    return np.asarray(predict(frame)) - np.asarray(predict(remedied))
