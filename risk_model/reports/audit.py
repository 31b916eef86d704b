"""The fairness audit's HTML report: gates, metrics by group with intervals, charts.

:func:`render_audit` takes the summary :func:`risk_model.modelling.audit.audit` wrote (already
suppressed) and returns one standalone page: the charts are PNGs embedded in it, so it opens
from a file, in MLflow's artifact viewer or by e-mail, with no network and no JavaScript.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from risk_model.modelling.fairness import METRIC_LABELS, capacity_key

__all__ = ["render_audit"]

_COLOURS = {"pass": "#00703c", "fail": "#d4351c", "ref": "#0b0c0c", "band": "#f3f2f1"}


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _chart(dimension: str, d: dict[str, Any], keys: list[str],
           tolerance: tuple[float, float]) -> str | None:
    """Disparity ratios with 95% intervals per group, one panel per metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [g for g in d["groups"] if g != d["reference"]]
    if not groups:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 0.35 * len(groups) + 1.4),
                             sharey=True, squeeze=False)
    low, high = tolerance
    for ax, key in zip(axes[0], keys, strict=True):
        ax.axvspan(low, high, color=_COLOURS["band"])
        ax.axvline(1.0, color=_COLOURS["ref"], linewidth=0.8)
        for i, g in enumerate(groups):
            m = d["groups"][g]["metrics"].get(key)
            if not isinstance(m, dict) or m.get("ratio") is None:
                ax.text(1.0, i, "withheld", va="center", ha="center", fontsize=7)
                continue
            lo, hi = m.get("ratio_lower"), m.get("ratio_upper")
            clear = lo is not None and (lo > high or hi < low)
            colour = _COLOURS["fail"] if clear else _COLOURS["pass"]
            if lo is not None:
                ax.plot([lo, hi], [i, i], color=colour, linewidth=1.5)
            ax.plot([m["ratio"]], [i], "o", color=colour, markersize=4)
        ax.set_title(key, fontsize=8)
        ax.set_xscale("log")
        ax.minorticks_off()  # log-scale minor labels ("3 x 10^-1") would crowd the axis
        ax.set_xlim(0.25, 4)
        ax.set_xticks([0.5, low, 1, high, 2])
        ax.set_xticklabels(["0.5", f"{low:g}", "1", f"{high:g}", "2"], fontsize=7)
    axes[0][0].set_yticks(range(len(groups)))
    axes[0][0].set_yticklabels(groups, fontsize=7)
    axes[0][0].invert_yaxis()
    fig.suptitle(f"{dimension}: ratio to {d['reference']} (shaded: tolerance)", fontsize=9)
    fig.tight_layout()
    return _png(fig)


def _fmt(m: Any) -> str:
    if not isinstance(m, dict):
        return str(m)
    point = "–" if m.get("point") is None else f"{m['point']:.3f}"
    if m.get("lower") is not None:
        point += f" ({m['lower']:.3f}–{m['upper']:.3f})"
    return point


def _ratio(m: Any) -> str:
    if not isinstance(m, dict) or m.get("ratio") is None:
        return "*" if m == "*" else "–"
    text = f"{m['ratio']:.2f}"
    if m.get("ratio_lower") is not None:
        text += f" ({m['ratio_lower']:.2f}–{m['ratio_upper']:.2f})"
    return text


def render_audit(summary: dict[str, Any]) -> str:
    """Return the audit report as one standalone HTML page.

    Parameters
    ----------
    summary : dict
        What :func:`risk_model.modelling.audit.audit` writes as ``audit.json``.

    Returns
    -------
    str
        The page (every value HTML-escaped by the template).
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("risk_model.reports", "templates"),
                      autoescape=select_autoescape(["html"]))
    env.filters["fmt"] = _fmt
    env.filters["ratio"] = _ratio
    gate_level = capacity_key(summary["gate_capacity"])
    shown = [f"tpr@{gate_level}", f"precision@{gate_level}", "observed_to_expected", "auroc"]
    tolerance = tuple(summary["tolerance"])
    dimensions = []
    for name, d in summary["fairness"]["dimensions"].items():
        dimensions.append({
            "name": name, "reference": d["reference"], "groups": d["groups"],
            "note": d.get("reference_note"),
            "chart": _chart(name, d, shown, tolerance),
            "availability": summary["availability"]["by_group"].get(name),
        })
    first = next(iter(summary["fairness"]["dimensions"].values()))
    metric_keys = list(next(iter(first["groups"].values()))["metrics"])
    return env.get_template("audit.html").render(
        s=summary, dimensions=dimensions, shown=shown, metric_keys=metric_keys,
        labels=METRIC_LABELS, gate_level=gate_level)
