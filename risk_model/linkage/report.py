"""The linkage report: one JSON for machines, one standalone HTML page for people.

Everything in it is aggregate: counts pass through :mod:`risk_model.disclosure` under the
workspace's rule (the summary's ``suppression``) before they get here (group tables) or are
whole-population totals; no pseudonym, UPRN or date of any person
appears. Charts are drawn with matplotlib and embedded, so the page is one file that can be
mailed or attached to an MLflow run.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from typing import Any

from risk_model.disclosure import SuppressionRule

__all__ = ["charts", "render_html", "render_json"]


def render_json(summary: dict[str, Any]) -> str:
    """Return the report's JSON text."""
    return json.dumps(summary, indent=2, sort_keys=True, default=str)


def charts(summary: dict[str, Any]) -> dict[str, Any]:
    """Return the report's matplotlib figures by file name (the caller closes them)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures: dict[str, Any] = {}
    hist = summary["person_linkage"]["match_weight_histogram"]
    if hist:
        fig, ax = plt.subplots(figsize=(7, 3.2))
        ax.bar([h["match_weight_bin"] for h in hist], [h["pairs"] for h in hist], width=0.9,
               color="#1d70b8")
        ax.set_yscale("log")
        ax.set_xlabel("match weight (log2 Bayes factor)")
        ax.set_ylabel("candidate pairs")
        ax.set_title("All scored candidate pairs")
        for p, style, what in ((summary["settings"]["accept_probability"], "-", "linked from"),
                               (summary["settings"]["review_probability"], "--",
                                "reviewed from")):
            ax.axvline(_weight_of(p), color="#d4351c", linestyle=style, linewidth=1,
                       label=f"{what} probability {p}")
        ax.legend(loc="upper center", fontsize=8)
        fig.tight_layout()
        figures["match_weights.png"] = fig
    truth = summary.get("person_quality_vs_truth")
    source, measure, title = (
        (truth["by_group"], "recall", "Recall by group (against truth)") if truth else
        (summary["link_rates"]["by_group"], "link_rate", "Link rate by group"))
    rows = [(f"{dim}: {r['group']}", r[measure]) for dim, rs in source.items() for r in rs
            if isinstance(r[measure], float)]
    if rows:
        fig, ax = plt.subplots(figsize=(7, 0.25 * len(rows) + 1))
        ax.barh([r[0] for r in rows][::-1], [r[1] for r in rows][::-1], color="#00703c")
        overall = truth["recall"] if truth else summary["link_rates"]["link_rate"]
        if overall is not None:
            ax.axvline(overall, color="#0b0c0c", linewidth=1)
            ax.axvline(overall - 0.03, color="#d4351c", linestyle="--", linewidth=1)
        ax.set_xlim(min(0.8, min(r[1] for r in rows) - 0.02), 1.0)
        ax.set_title(title)
        ax.tick_params(axis="y", labelsize=7)
        fig.tight_layout()
        figures["by_group.png"] = fig
    return figures


def _weight_of(probability: float) -> float:
    """The match weight at a match probability (Splink's weight includes the prior)."""
    return math.log2(probability / (1 - probability))


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values())
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pairs(d: dict[str, Any]) -> str:
    return _table([{"figure": k, "value": v} for k, v in d.items()
                   if not isinstance(v, dict | list)])


def _rule_of(summary: dict[str, Any]) -> SuppressionRule:
    """The small-number rule the summary was made under (NHS Digital's if not recorded)."""
    given = summary.get("suppression") or {}
    return SuppressionRule(**{k: given[k] for k in ("threshold", "rounding", "suppress_zero")
                              if k in given})


def render_html(summary: dict[str, Any], figures: dict[str, Any]) -> str:
    """Return the report as one standalone HTML page."""
    person = summary["person_linkage"]
    truth = summary.get("person_quality_vs_truth")
    address = summary.get("address_matching") or {}
    parts = [
        "<h1>Record linkage report</h1>",
        f"<p>Run {html.escape(summary['run_id'])}. In the group tables: "
        f"{html.escape(_rule_of(summary).describe())}</p>",
        "<h2>Housing residents to health persons</h2>", _pairs(person["counts"]),
        "<h3>Agreement with NHS-number links</h3>",
        "<p>For residents whose NHS number links them, how often the probabilistic model alone "
        "would have picked the same person. These residents are not a random sample (minority "
        "groups and children have NHS numbers recorded less often).</p>",
        _pairs(person["nhs_agreement"]),
    ]
    if "match_weights.png" in figures:
        parts.append(f'<img alt="Histogram of match weights" '
                     f'src="data:image/png;base64,{_png(figures["match_weights.png"])}">')
    rates = summary["link_rates"]
    parts += ["<h3>Link rate by group (no truth needed)</h3>",
              f"<p>Expected false links from the model's probabilities: "
              f"{rates['expected_false_links']} (rate {rates['expected_false_link_rate']}).</p>"]
    for dim, rows in rates["by_group"].items():
        parts += [f"<h4>{html.escape(dim)}</h4>", _table(rows)]
    if truth:
        parts += ["<h2>Person linkage against the synthetic truth</h2>", _pairs(truth)]
        for dim, rows in truth["by_group"].items():
            parts += [f"<h4>{html.escape(dim)}</h4>", _table(rows)]
        below = truth["groups_more_than_3_points_below"]
        parts.append("<p>Groups with recall more than 3 points below overall: "
                     + (html.escape(", ".join(f"{b['dimension']} {b['group']} ({b['recall']})"
                                              for b in below)) or "none") + ".</p>")
    if "by_group.png" in figures:
        parts.append(f'<img alt="Rates by group" '
                     f'src="data:image/png;base64,{_png(figures["by_group.png"])}">')
    parts += ["<h2>GP addresses to UPRNs</h2>",
              f"<pre>{html.escape(json.dumps(address, indent=1, default=str))}</pre>",
              "<h2>Settings</h2>", _pairs(summary["settings"])]
    style = ("body{font-family:Arial,sans-serif;max-width:60rem;margin:2rem auto;color:#0b0c0c}"
             "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #b1b4b6;"
             "padding:.2rem .5rem;text-align:left}img{max-width:100%}")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Record linkage report</title><style>{style}</style></head><body>"
            + "\n".join(parts) + "</body></html>")
