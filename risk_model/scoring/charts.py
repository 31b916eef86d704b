"""The charts a scoring run logs: drift by feature, and the month's scores against training.

Both are drawn from results already computed (:func:`risk_model.scoring.drift.drift` and the
model's training reference), never recomputed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["drift_figures"]

_COLOUR = {"stable": "#007f3b", "watch": "#ed8b00", "drift": "#d5281b"}
_MOST = 25


def drift_figures(result: Mapping[str, Any],
                  profile: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the drift figures by file name (none when drift was not checked).

    Parameters
    ----------
    result : mapping
        From :func:`risk_model.scoring.drift.drift`.
    profile : mapping or None
        The training reference the month was compared with.
    """
    if "score" not in result or profile is None:
        return {}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures: dict[str, Any] = {}
    moved = sorted(result["features"].items(), key=lambda item: -item[1]["psi"])
    rows = [("score", result["score"]), *moved[:_MOST - 1]]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1.5))
    names = [name for name, _ in rows][::-1]
    values = [r["psi"] for _, r in rows][::-1]
    ax.barh(names, values, color=[_COLOUR[r["status"]] for _, r in rows][::-1])
    ax.axvline(result["warn"], color=_COLOUR["watch"], linestyle="--", linewidth=1,
               label=f"watch ({result['warn']})")
    ax.axvline(result["threshold"], color=_COLOUR["drift"], linestyle="--", linewidth=1,
               label=f"alert ({result['threshold']})")
    ax.set_xlabel("population stability index against the training population")
    ax.set_title(f"Drift: the score and the {len(rows) - 1} features that moved most")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    figures["drift_psi.png"] = fig

    reference = np.asarray(profile["score"]["proportions"], dtype=float)
    now = np.asarray(result["score"]["proportions"], dtype=float)
    edges = profile["score"]["edges"]
    labels = ([f"<{edges[0]:.3f}"] + [f"{lo:.3f}-" for lo in edges[:-1]]
              + [f"≥{edges[-1]:.3f}", "missing"]) if edges else ["any", "missing"]
    labels = labels[:len(reference)]
    x = np.arange(len(reference))
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.bar(x - 0.2, reference, width=0.4, label="training population", color="#4c6272")
    ax.bar(x + 0.2, now, width=0.4, label="this month", color="#005eb8")
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("share of residents")
    ax.set_title(f"Risk scores by training decile bin (PSI {result['score']['psi']:.3f})")
    ax.legend()
    fig.tight_layout()
    figures["score_distribution.png"] = fig
    return figures
