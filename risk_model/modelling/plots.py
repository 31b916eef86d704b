"""The figures every training run logs, the model and the baseline side by side.

ROC, precision-recall, calibration, lift by decile, decision curve and feature importance; on
synthetic data the true risk is drawn too, as the limit. :func:`explanation_figures` adds the
SHAP beeswarm and the importance of each feature family, drawn from SHAP values already
computed (:func:`risk_model.modelling.explain.shap_values`), never recomputed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from risk_model.modelling.explain import Explanation
    from risk_model.modelling.frame import FeatureSchema

__all__ = ["explanation_figures", "training_figures"]

_STYLE = {"lightgbm": ("#005eb8", "-"), "baseline": ("#ed8b00", "--"),
          "true_risk": ("#4c6272", ":")}


def training_figures(curves: dict[str, dict[str, Any]],
                     importance: dict[str, float]) -> dict[str, Any]:
    """Return the matplotlib figures of a training run, by file name.

    Parameters
    ----------
    curves : dict
        Per scorer (``lightgbm``, ``baseline``, ``true_risk``), the output of
        :func:`risk_model.modelling.metrics.curves`.
    importance : dict of str to float
        LightGBM gain importance by feature.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures: dict[str, Any] = {}

    def axes(title: str, xlabel: str, ylabel: str) -> Any:
        fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
        ax.grid(alpha=0.3)
        figures[title.lower().replace(" ", "_").replace("-", "_") + ".png"] = fig
        return ax

    ax = axes("ROC", "false positive rate", "true positive rate")
    for name, c in curves.items():
        colour, line = _STYLE[name]
        ax.plot(c["roc"]["fpr"], c["roc"]["tpr"], line, color=colour, label=name)
    ax.plot([0, 1], [0, 1], color="#aeb7bd", lw=0.8)
    ax.legend()

    ax = axes("Precision-recall", "recall", "precision")
    for name, c in curves.items():
        colour, line = _STYLE[name]
        ax.plot(c["pr"]["recall"], c["pr"]["precision"], line, color=colour, label=name)
    ax.legend()

    ax = axes("Calibration", "mean predicted risk (decile)", "observed rate")
    top = 0.0
    for name, c in curves.items():
        colour, line = _STYLE[name]
        cal = c["calibration"]
        ax.plot(cal["predicted"], cal["observed"], line, marker="o", color=colour, label=name)
        top = max(top, *cal["predicted"], *cal["observed"])
    ax.plot([0, top], [0, top], color="#aeb7bd", lw=0.8)
    ax.legend()

    ax = axes("Lift by decile", "decile of predicted risk (1 = highest)",
              "observed rate / overall rate")
    width = 0.8 / max(len(curves), 1)
    for i, (name, c) in enumerate(curves.items()):
        colour, _ = _STYLE[name]
        ax.bar([d + 1 + (i - (len(curves) - 1) / 2) * width for d in range(10)],
               c["lift_by_decile"], width=width, color=colour, label=name)
    ax.axhline(1, color="#aeb7bd", lw=0.8)
    ax.legend()

    ax = axes("Decision curve", "risk threshold", "net benefit")
    first = next(iter(curves.values()))["decision"]
    for name, c in curves.items():
        colour, line = _STYLE[name]
        ax.plot(c["decision"]["threshold"], c["decision"]["net_benefit"], line, color=colour,
                label=name)
    ax.plot(first["threshold"], first["treat_all"], color="#aeb7bd", lw=0.8, label="treat all")
    ax.axhline(0, color="#212b32", lw=0.8, label="treat none")
    ax.set_ylim(bottom=min(-0.01, min(first["net_benefit"])), top=max(first["treat_all"][0],
                                                                       0.01) * 1.2)
    ax.legend()

    ranked = sorted(importance.items(), key=lambda kv: kv[1])[-20:]
    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    ax.barh([k for k, _ in ranked], [v for _, v in ranked], color="#005eb8")
    ax.set(title="Feature importance (LightGBM gain, top 20)", xlabel="total gain")
    fig.tight_layout()
    figures["feature_importance.png"] = fig
    return figures


def explanation_figures(explanation: Explanation, frame: pd.DataFrame, schema: FeatureSchema,
                        by_family: Mapping[str, float], *, top: int = 20) -> dict[str, Any]:
    """Return the SHAP figures of a training run, by file name.

    Parameters
    ----------
    explanation : Explanation
        SHAP values of ``frame`` (log-odds).
    frame : pandas.DataFrame
        The model frame that was explained (same rows as ``explanation.values``).
    schema : FeatureSchema
        The model's features; a category is coloured by its level's position in the
        catalogue's list, "not known" is grey.
    by_family : mapping of str to float
        Mean absolute SHAP value per feature family.
    top : int, optional
        How many features the beeswarm shows (the rest are summed in one row).

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        ``shap_beeswarm.png`` (made with :func:`shap.plots.beeswarm` from a
        :class:`shap.Explanation` of these values) and ``shap_importance_by_family.png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    from risk_model.modelling.frame import lightgbm_frame

    data = lightgbm_frame(frame, schema)
    numeric = np.empty((len(data), len(schema.names)))
    for j, name in enumerate(schema.names):
        if name in schema.categories:
            codes = data[name].cat.codes.to_numpy(dtype=float)
            numeric[:, j] = np.where(codes < 0, np.nan, codes)  # -1: not known
        else:
            numeric[:, j] = data[name].to_numpy(dtype=float)
    values = explanation.values
    wrapped = shap.Explanation(values=values.to_numpy(dtype=float),
                               base_values=np.full(len(values), explanation.base),
                               data=numeric, feature_names=list(values.columns))
    figures: dict[str, Any] = {}
    fig, ax = plt.subplots(figsize=(8, 7), dpi=100)
    shap.plots.beeswarm(wrapped, max_display=top, ax=ax, show=False, plot_size=None)
    ax.set_title(f"SHAP values on the test date ({len(values):,} people, log-odds)")
    fig.tight_layout()
    figures["shap_beeswarm.png"] = fig

    ranked = sorted(by_family.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.barh([k for k, _ in ranked], [v for _, v in ranked], color="#005eb8")
    ax.set(title="Importance by feature family (SHAP)",
           xlabel="mean |SHAP value|, summed over the family's features (log-odds)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    figures["shap_importance_by_family.png"] = fig
    return figures
