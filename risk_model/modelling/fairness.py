"""Fairness by group: metrics, bootstrap intervals, disparity ratios and gates.

The audit (:mod:`risk_model.modelling.audit`) asks one question of a model version: does it work
as well for every group as for the reference group? This module answers it for one set of test
predictions and outcomes, grouped along each dimension of the spec (ethnic group, sex, age
band, deprivation quintile, ethnic group x Core20 ...):

- **Metrics.** At each capacity level (the top 1%, 2%, 5% of the cohort by risk, the people a
  service could act on) the selection rate, true and false positive rates, false negative rate
  and precision; and threshold-free, the AUROC, the Brier score, calibration in the large
  (observed / expected events) and the calibration slope. The point estimates per group come from
  fairlearn's :class:`~fairlearn.metrics.MetricFrame`.
- **Intervals.** 95% percentile intervals from a Poisson bootstrap: one draw of row weights per
  replicate serves every group, so a group's metric and the reference group's move together
  and the disparity ratio (group / reference) gets an interval of its own. The metric functions
  are the same ones MetricFrame calls, given the replicate's weights.
- **Small numbers.** Counts go through :mod:`risk_model.disclosure`; a metric resting on a
  suppressed count (for example a TPR over 5 events) is withheld, with its interval and ratio.
- **Gates.** For each gated metric and dimension, a group fails when its disparity ratio lies
  outside the tolerance with its whole interval (a clear disparity, not noise); a ratio outside
  the tolerance whose interval reaches into it is a warning.

Rows must come sorted by predicted risk, highest first (:func:`audit_groups` does it): ties are
then runs of equal scores, and every metric is a few passes over the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from risk_model.disclosure import SUPPRESSED, SuppressionRule, suppress_count, suppressed_rate
from risk_model.modelling.metrics import _auroc_of_runs, _logit, _recalibration

__all__ = ["METRICS", "METRIC_LABELS", "NOT_KNOWN_GROUP", "THRESHOLD_METRICS", "audit_groups",
           "capacity_key", "group_labels", "group_metrics"]

#: Metrics at a capacity level (the top share of the cohort is selected).
THRESHOLD_METRICS = ("selection_rate", "tpr", "fpr", "fnr", "precision")
#: Threshold-free metrics.
SCORE_METRICS = ("auroc", "brier", "observed_to_expected", "calibration_slope")
#: Every metric by name (threshold ones as ``tpr@2%`` in results).
METRICS = THRESHOLD_METRICS + SCORE_METRICS

#: Plain-English names for reports.
METRIC_LABELS = {
    "selection_rate": "share selected",
    "tpr": "share of people with an admission who are selected (TPR)",
    "fpr": "share of people without an admission who are selected (FPR)",
    "fnr": "share of people with an admission who are missed (FNR)",
    "precision": "share of selected people who have an admission (precision)",
    "auroc": "AUROC",
    "brier": "Brier score",
    "observed_to_expected": "observed / expected admissions (calibration in the large)",
    "calibration_slope": "calibration slope",
}

NOT_KNOWN_GROUP = "not known"


def capacity_key(share: float) -> str:
    """``0.02`` -> ``"2%"``."""
    return f"{share * 100:g}%"


# ---- the metrics of one group ----------------------------------------------------------------


def _ties(p: np.ndarray) -> np.ndarray:
    """Start of each run of equal scores; the scores must be sorted, highest first."""
    if len(p) > 1 and np.any(p[1:] > p[:-1]):
        raise ValueError("the rows must be sorted by predicted risk, highest first")
    return np.flatnonzero(np.r_[True, p[1:] != p[:-1]]) if len(p) else np.array([], dtype=int)


def _div(a: Any, b: Any) -> Any:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.full(np.broadcast(a, b).shape, np.nan), where=b > 0)


@dataclass(frozen=True)
class _Rows:
    """The rows of one group in rank order, with what every weighting of them needs."""

    index: np.ndarray  # positions in the whole cohort's rank order
    y: np.ndarray
    p: np.ndarray
    shares: tuple[float, ...]
    columns: np.ndarray  # rows x (1, y, p, (p - y)^2, then selected and selected & y per share)
    starts: np.ndarray  # runs of tied scores

    @classmethod
    def of(cls, index: np.ndarray, y: np.ndarray, p: np.ndarray,
           selected: Mapping[float, np.ndarray]) -> _Rows:
        starts = _ties(p)
        parts = [np.ones(len(y)), y, p, (p - y) ** 2]
        for share in selected:
            parts += [selected[share].astype(float), selected[share] * y]
        return cls(index, y, p, tuple(selected), np.column_stack(parts), starts)


def group_metrics(rows: _Rows, w: np.ndarray | None = None) -> dict[str, Any]:
    """Every metric of one group, for one weighting of its rows or one per row of ``w``.

    Parameters
    ----------
    rows : _Rows
        The group's rows (scores sorted, highest first).
    w : numpy.ndarray, optional
        Row weights: none (each row once), one weighting, or replicates x rows.

    Returns
    -------
    dict
        ``n``, ``events`` and each metric (``tpr@2%`` ... ``calibration_slope``): floats, or
        arrays with one value per replicate.
    """
    weights = np.ones(len(rows.y)) if w is None else np.asarray(w, dtype=float)
    stats = weights @ rows.columns  # one pass: weighted sums of every column
    n, events, expected, squared = (stats[..., i] for i in range(4))
    out: dict[str, Any] = {"n": n, "events": events}
    for i, share in enumerate(rows.shares):
        selected, hits = stats[..., 4 + 2 * i], stats[..., 5 + 2 * i]
        key = capacity_key(share)
        out[f"selection_rate@{key}"] = _div(selected, n)
        out[f"tpr@{key}"] = _div(hits, events)
        out[f"fpr@{key}"] = _div(selected - hits, n - events)
        out[f"fnr@{key}"] = _div(events - hits, events)
        out[f"precision@{key}"] = _div(hits, selected)
    # per run of tied scores: weighted events and rows (AUROC and the calibration slope)
    if len(rows.y):
        events_run = np.add.reduceat(weights * rows.y, rows.starts, axis=-1)
        rows_run = np.add.reduceat(weights, rows.starts, axis=-1)
        out["auroc"] = np.asarray(_auroc_of_runs(events_run, rows_run - events_run))
    else:
        events_run = rows_run = np.zeros((*np.shape(n), 0))
        out["auroc"] = np.full(np.shape(n), np.nan)
    out["brier"] = _div(squared, n)
    out["observed_to_expected"] = _div(events, expected)
    x = _logit(rows.p[rows.starts]) if len(rows.y) else np.zeros(0)
    out["calibration_slope"] = (np.array([_slope(x, e, t) for e, t in zip(events_run, rows_run,
                                                                          strict=True)])
                                if weights.ndim == 2 else np.asarray(_slope(x, events_run,
                                                                            rows_run)))
    return out


def _slope(x: np.ndarray, events: np.ndarray, total: np.ndarray) -> float:
    """Calibration slope: a logistic recalibration on logit(p), fitted per distinct score."""
    keep = total > 0
    if keep.sum() < 2 or events.sum() == 0 or events.sum() == total.sum():
        return float("nan")
    xs = np.r_[x[keep], x[keep]]
    ys = np.r_[np.ones(keep.sum()), np.zeros(keep.sum())]
    ws = np.r_[events[keep], total[keep] - events[keep]]
    return _recalibration(xs, ys, ws)[1]


def _counts_behind(metric: str, n: int, events: int, selected: int, hits: int
                   ) -> tuple[int, int]:
    """The numerator and denominator a metric rests on (for the small-number rule)."""
    return {
        "selection_rate": (selected, n), "tpr": (hits, events), "fnr": (events - hits, events),
        "fpr": (selected - hits, n - events), "precision": (hits, selected),
        "auroc": (events, n), "brier": (n, n), "observed_to_expected": (events, n),
        "calibration_slope": (events, n),
    }[metric]


# ---- groups ------------------------------------------------------------------------------------


def _label(column: str, value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) \
            or value == "not known":
        return NOT_KNOWN_GROUP
    if column == "core20":
        return "Core20" if float(value) >= 0.5 else "not Core20"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def group_labels(frame: pd.DataFrame, dimension: str) -> pd.Series:
    """Each row's group along a dimension (``"ethnic_group x core20"`` joins with " · ").

    Parameters
    ----------
    frame : pandas.DataFrame
        Holds the dimension's columns.
    dimension : str
        One column, or columns joined by ``" x "``.

    Returns
    -------
    pandas.Series
        Group labels as text; a missing value is ``"not known"``.
    """
    columns = [c.strip() for c in dimension.split(" x ")]
    parts = [frame[c].astype(object).map(lambda v, c=c: _label(c, v)) for c in columns]
    out = parts[0]
    for part in parts[1:]:
        out = out + " · " + part
    return out.rename(dimension)


def _metric_frame(y: np.ndarray, p: np.ndarray, selected: Mapping[float, np.ndarray],
                  labels: pd.Series) -> dict[str, dict[str, float]]:
    """Point estimates by group, disaggregated by fairlearn's MetricFrame.

    MetricFrame hands each group's outcomes and, as ``y_pred``, the rows' positions in the
    cohort's rank order; :func:`group_metrics` computes every metric from them at once (one
    composite metric keeps MetricFrame's per-row handling to one pass per dimension).
    """
    from fairlearn.metrics import MetricFrame

    def every_metric(y_true: Any, y_pred: Any) -> dict[str, float]:
        index = np.asarray(y_pred, dtype=np.int64)
        rows = _Rows.of(index, np.asarray(y_true, dtype=float), p[index],
                        {s: f[index] for s, f in selected.items()})
        return {k: float(v) for k, v in group_metrics(rows).items()}

    frame = MetricFrame(metrics={"all": every_metric}, y_true=y,
                        y_pred=np.arange(len(y), dtype=np.float64),
                        sensitive_features=labels)
    return {str(g): v for g, v in frame.by_group["all"].items()}


def audit_groups(y: np.ndarray, p: np.ndarray, groups: Mapping[str, pd.Series], *,
                 capacity: Sequence[float], reference: Mapping[str, str],
                 tolerance: tuple[float, float], gated: Sequence[str], gate_capacity: float,
                 min_events: int = 30, replicates: int = 200, seed: int = 1,
                 rule: SuppressionRule | None = None) -> dict[str, Any]:
    """Measure a model by group along each dimension, with intervals, ratios and gates.

    Parameters
    ----------
    y : numpy.ndarray
        Outcomes (0 or 1).
    p : numpy.ndarray
        Predicted probabilities, same order.
    groups : mapping of str to pandas.Series
        Per dimension, each row's group label (:func:`group_labels`), same order.
    capacity : sequence of float
        Shares of the cohort selected (top by risk), e.g. ``(0.01, 0.02, 0.05)``.
    reference : mapping of str to str
        Each dimension's reference group; a dimension not named, or whose reference has nobody
        in the cohort (noted in ``reference_note``), uses its largest group.
    tolerance : (float, float)
        The range a disparity ratio must stay within.
    gated : sequence of str
        Metrics whose ratios are gates (threshold metrics at ``gate_capacity``).
    gate_capacity : float
        The capacity level the gated threshold metrics use.
    min_events : int, optional
        Gates judge only groups (and reference groups) with at least this many events; the
        others are listed as too few to judge.
    replicates : int, optional
        Bootstrap replicates (Poisson(1) row weights, shared by every group).
    seed : int, optional
        Bootstrap seed.
    rule : SuppressionRule, optional
        The small-number rule (NHS Digital's by default).

    Returns
    -------
    dict
        ``overall`` (``n``, ``events``), ``thresholds`` (risk cut-off per capacity), and per
        dimension: ``reference``, ``groups`` (each with suppressed ``n``, ``events``,
        ``selected`` per capacity, and per metric ``point``/``lower``/``upper``/``ratio``/
        ``ratio_lower``/``ratio_upper``, or ``"*"`` when withheld) and ``gates`` (per gated
        metric: ``passed``, the failing and warning groups with their figures, and the groups
        too small to judge).
    """
    rule = rule or SuppressionRule()
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape or y.ndim != 1 or not len(y):
        raise ValueError(f"y and p must be 1-D, non-empty and the same length: {y.shape}, "
                         f"{p.shape}")
    order = np.lexsort((np.arange(len(p)), -p))  # highest risk first, stable
    y, p = y[order], p[order]
    cutoffs, selected = {}, {}
    for share in capacity:
        k = max(1, round(share * len(p)))
        flag = np.zeros(len(p), dtype=bool)
        flag[:k] = True
        selected[share] = flag
        cutoffs[capacity_key(share)] = round(float(p[k - 1]), 6)
    labelled = {d: pd.Series(np.asarray(v, dtype=object)[order], name=d)
                for d, v in groups.items()}
    rows = {d: _split(y, p, selected, labels) for d, labels in labelled.items()}
    # the bootstrap: each chunk of replicates draws one weight per row, shared by every group
    # of every dimension, so a group and its reference move together
    draws: dict[str, dict[str, list[dict[str, np.ndarray]]]] = {
        d: {g: [] for g in r} for d, r in rows.items()}
    rng = np.random.default_rng(seed)
    for size in _chunks(replicates, _CHUNK):
        weights = rng.poisson(1.0, size=(size, len(y))).astype(np.float64)
        for d, by_group in rows.items():
            for g, r in by_group.items():
                draws[d][g].append(group_metrics(r, weights[:, r.index]))
        del weights

    out: dict[str, Any] = {"overall": {"n": suppress_count(len(y), rule),
                                       "events": suppress_count(int(y.sum()), rule)},
                           "thresholds": cutoffs, "dimensions": {}}
    for d, labels in labelled.items():
        points = _metric_frame(y, p, selected, labels)
        stacked = {g: {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
                   for g, chunks in draws[d].items()}
        out["dimensions"][d] = _dimension(d, rows[d], points, stacked, rule, tolerance,
                                          reference.get(d), gated, gate_capacity, min_events)
    return out


_CHUNK = 25


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - start) for start in range(0, total, size)]


def _split(y: np.ndarray, p: np.ndarray, selected: Mapping[float, np.ndarray],
           labels: pd.Series) -> dict[str, _Rows]:
    codes, uniques = pd.factorize(labels, sort=True)
    out = {}
    for i, g in enumerate(uniques):
        idx = np.flatnonzero(codes == i)
        out[str(g)] = _Rows.of(idx, y[idx], p[idx], {s: f[idx] for s, f in selected.items()})
    return out


def _dimension(dimension: str, rows: dict[str, _Rows], points: dict[str, dict[str, float]],
               draws: dict[str, dict[str, np.ndarray]], rule: SuppressionRule,
               tolerance: tuple[float, float], reference: str | None, gated: Sequence[str],
               gate_capacity: float, min_events: int) -> dict[str, Any]:
    sizes = pd.Series({g: len(r.y) for g, r in rows.items()}).sort_values(ascending=False)
    note = None
    if reference is not None and reference not in rows:
        note = (f"the reference group {reference!r} has nobody in the test cohort; the "
                f"largest group, {sizes.index[0]!r}, is the reference instead")
        reference = None
    if reference is None:
        reference = str(sizes.index[0])
    low, high = tolerance
    ref_counts = _counts(rows[reference])
    groups_out: dict[str, Any] = {}
    for g, r in rows.items():
        counts = _counts(r)
        entry: dict[str, Any] = {
            "n": suppress_count(counts["n"], rule),
            "events": suppress_count(counts["events"], rule),
            "selected": {capacity_key(s): suppress_count(counts["selected"][s], rule)
                         for s in r.shares},
            "metrics": {}}
        for key in points[g]:
            if key in ("n", "events"):
                continue
            metric, _, level = key.partition("@")
            share = next((s for s in r.shares if capacity_key(s) == level), None)
            if not (_shown(metric, share, counts, rule) and
                    _shown(metric, share, ref_counts, rule)):
                entry["metrics"][key] = SUPPRESSED
                continue
            point, ref_point = points[g][key], points[reference][key]
            entry["metrics"][key] = {
                "point": _r(point), **_interval(draws[g][key]),
                "ratio": _r(float(_div(point, ref_point))),
                **{f"ratio_{k}": v for k, v in
                   _interval(_div(draws[g][key], draws[reference][key])).items()}}
        groups_out[g] = entry
    gates = {}
    for metric in gated:
        key = f"{metric}@{capacity_key(gate_capacity)}" if metric in THRESHOLD_METRICS \
            else metric
        failed, warned, too_few = [], [], []
        enough = rows[reference].y.sum() >= min_events
        for g, entry in groups_out.items():
            m = entry["metrics"].get(key)
            if g == reference:
                continue
            if not enough or rows[g].y.sum() < min_events or not isinstance(m, dict) \
                    or m["ratio"] is None:
                too_few.append(g)
                continue
            figure = {"group": g, "ratio": m["ratio"], "lower": m["ratio_lower"],
                      "upper": m["ratio_upper"], "point": m["point"]}
            if m["ratio_lower"] is not None and (m["ratio_lower"] > high
                                                 or m["ratio_upper"] < low):
                failed.append(figure)
            elif not low <= m["ratio"] <= high:
                warned.append(figure)
        gates[key] = {"passed": not failed, "failed": failed, "warnings": warned,
                      "too_few_to_judge": too_few}
    return {"reference": reference, "reference_note": note, "groups": groups_out,
            "gates": gates}


def _counts(r: _Rows) -> dict[str, Any]:
    totals = r.columns.sum(axis=0)
    return {"n": len(r.y), "events": int(r.y.sum()),
            "selected": {s: round(totals[4 + 2 * i]) for i, s in enumerate(r.shares)},
            "hits": {s: round(totals[5 + 2 * i]) for i, s in enumerate(r.shares)}}


def _shown(metric: str, share: float | None, counts: dict[str, Any],
           rule: SuppressionRule) -> bool:
    """Whether a metric may be shown: the counts it rests on are not small."""
    selected = counts["selected"][share] if share is not None else 0
    hits = counts["hits"][share] if share is not None else 0
    num, den = _counts_behind(metric, counts["n"], counts["events"], selected, hits)
    if metric in ("auroc", "calibration_slope"):  # needs enough events and non-events
        return suppressed_rate(num, den, rule) != SUPPRESSED
    return suppressed_rate(num, den, rule) not in (SUPPRESSED, None)


def _r(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def _interval(column: np.ndarray) -> dict[str, float | None]:
    finite = column[np.isfinite(column)]
    # too many undefined replicates, or none with any spread (a count of 0 resampled is always
    # 0): the percentile bootstrap says nothing there, so no interval is given
    if len(finite) < 0.9 * len(column) or not len(finite) or finite.min() == finite.max():
        return {"lower": None, "upper": None}
    lower, upper = np.percentile(finite, [2.5, 97.5])
    return {"lower": _r(lower), "upper": _r(upper)}
