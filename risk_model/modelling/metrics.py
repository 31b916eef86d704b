"""Test metrics with bootstrap intervals, and the curves the reports plot.

:func:`evaluate` gives, for one set of predicted probabilities against observed outcomes:
AUROC, AUPRC (average precision), Brier score, calibration intercept (calibration in the
large) and slope, and at each capacity level (the top 1%, 2%, 5% of the cohort by risk) the
precision, recall and lift, each with a point estimate and a 95% percentile bootstrap interval.
:func:`curves` gives the ROC and precision-recall curves, the calibration curve by decile, the
observed rate by decile (lift) and the decision curve (net benefit).

The bootstrap reweights rows with Poisson(1) counts, so every replicate costs a few passes over
sorted arrays rather than a resample and a re-sort; ties in the scores (isotonic calibration
makes many) are handled exactly, with half credit for tied pairs in the AUROC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["curves", "evaluate"]

_EPS = 1e-6


@dataclass(frozen=True)
class _Ranked:
    """Rows sorted by score (descending) and grouped by tied score."""

    starts: np.ndarray  # start of each tie group in ``order``
    y: np.ndarray  # outcomes in ``order``
    p: np.ndarray  # scores in ``order``


def _rank(y: np.ndarray, p: np.ndarray) -> _Ranked:
    order = np.lexsort((np.arange(len(p)), -p))
    sp = p[order]
    starts = np.flatnonzero(np.r_[True, sp[1:] != sp[:-1]])
    return _Ranked(starts, y[order].astype(float), sp)


def _auroc(r: _Ranked, w: np.ndarray) -> Any:
    """Weighted AUROC; ``w`` is one weighting (a float back) or one per row of a 2-D array."""
    pos = np.add.reduceat(w * r.y, r.starts, axis=-1)
    neg = np.add.reduceat(w * (1 - r.y), r.starts, axis=-1)
    return _auroc_of_runs(pos, neg)


def _auroc_of_runs(pos: np.ndarray, neg: np.ndarray) -> Any:
    """AUROC from weighted events and non-events per run of tied scores, highest first."""
    total_pos, total_neg = pos.sum(-1), neg.sum(-1)
    # runs are in descending score: negatives below a run are those after it
    below = total_neg[..., None] - np.cumsum(neg, axis=-1)
    pairs = total_pos * total_neg
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = np.where(pairs > 0, (pos * (below + 0.5 * neg)).sum(-1) / pairs, np.nan)
    return float(auc) if auc.ndim == 0 else auc


def _auprc(r: _Ranked, w: np.ndarray) -> float:
    pos = np.add.reduceat(w * r.y, r.starts)
    tot = np.add.reduceat(w, r.starts)
    total_pos = pos.sum()
    if total_pos == 0:
        return float("nan")
    tp, seen = np.cumsum(pos), np.cumsum(tot)
    precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
    return float((pos / total_pos * precision).sum())


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1 - _EPS)
    return np.log(q / (1 - q))


def _recalibration(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Calibration intercept (slope fixed at 1) and slope: logistic fits on logit(p).

    NaN when the scores separate the outcomes completely (no finite estimate exists).
    """
    from scipy.special import expit

    def newton(design: np.ndarray, offset: np.ndarray) -> np.ndarray:
        beta = np.zeros(design.shape[1])
        for _ in range(50):
            mu = expit(offset + design @ beta)
            grad = design.T @ (w * (y - mu))
            hess = (design * (w * mu * (1 - mu))[:, None]).T @ design
            step = np.linalg.solve(hess + 1e-9 * np.eye(len(beta)), grad)
            beta += step
            if np.max(np.abs(step)) < 1e-8:
                return beta
        # no convergence: the scores separate the outcomes and no finite fit exists
        return np.full(design.shape[1], np.nan)

    ones = np.ones((len(x), 1))
    intercept = newton(ones, x)[0]
    slope = newton(np.column_stack([ones, x]), np.zeros(len(x)))[1]
    return float(intercept), float(slope)


def _compressed(y: np.ndarray, w: np.ndarray, inverse: np.ndarray,
                groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct score: weighted events and weighted rows (for the calibration fits)."""
    events = np.bincount(inverse, weights=w * y, minlength=groups)
    rows = np.bincount(inverse, weights=w, minlength=groups)
    return events, rows


def _capacity(r: _Ranked, w: np.ndarray, share: float) -> tuple[float, float, float]:
    """Precision, recall and lift among the top ``share`` of the (weighted) cohort."""
    cw = np.cumsum(w)  # w is in rank order
    total = cw[-1]
    k = int(np.searchsorted(cw, share * total, side="left")) + 1
    hits = float((w[:k] * r.y[:k]).sum())
    taken = float(cw[k - 1])
    events = float((w * r.y).sum())
    precision = hits / taken if taken else float("nan")
    recall = hits / events if events else float("nan")
    prevalence = events / total if total else float("nan")
    lift = precision / prevalence if prevalence else float("nan")
    return precision, recall, lift


def _all(r: _Ranked, w: np.ndarray, x_unique: np.ndarray, inverse: np.ndarray,
         capacity: tuple[float, ...]) -> dict[str, float]:
    """Every scalar metric for one weighting of the rows (``w`` in rank order)."""
    values = {"auroc": _auroc(r, w), "auprc": _auprc(r, w)}
    total = w.sum()
    values["brier"] = float((w * (r.p - r.y) ** 2).sum() / total)
    values["prevalence"] = float((w * r.y).sum() / total)
    values["mean_predicted"] = float((w * r.p).sum() / total)
    events, rows = _compressed(r.y, w, inverse, len(x_unique))
    keep = rows > 0
    # weighted logistic fit on distinct scores: events and non-events as two weighted rows
    xs = np.r_[x_unique[keep], x_unique[keep]]
    ys = np.r_[np.ones(keep.sum()), np.zeros(keep.sum())]
    ws = np.r_[events[keep], rows[keep] - events[keep]]
    values["calibration_intercept"], values["calibration_slope"] = _recalibration(xs, ys, ws)
    for share in capacity:
        precision, recall, lift = _capacity(r, w, share)
        key = f"top_{share * 100:g}pct"
        values[f"{key}.precision"] = precision
        values[f"{key}.recall"] = recall
        values[f"{key}.lift"] = lift
    return values


def evaluate(y: np.ndarray, p: np.ndarray, *, capacity: tuple[float, ...] = (0.01, 0.02, 0.05),
             replicates: int = 200, seed: int = 1) -> dict[str, Any]:
    """Measure predicted probabilities against outcomes, with 95% bootstrap intervals.

    Parameters
    ----------
    y : numpy.ndarray
        Outcomes, 0 or 1.
    p : numpy.ndarray
        Predicted probabilities, same length.
    capacity : tuple of float, optional
        Shares of the cohort that services can act on.
    replicates : int, optional
        Bootstrap replicates (Poisson(1) row weights).
    seed : int, optional
        Random seed of the bootstrap.

    Returns
    -------
    dict
        ``n``, ``events`` and, for each metric (``auroc``, ``auprc``, ``brier``,
        ``calibration_intercept``, ``calibration_slope``, ``prevalence``, ``mean_predicted``,
        ``top_1pct.precision``/``.recall``/``.lift`` ...), a dict of ``point``, ``lower`` and
        ``upper``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0, 0.3, 5000)
    >>> y = (rng.uniform(size=5000) < p).astype(int)
    >>> m = evaluate(y, p, replicates=50)
    >>> 0.6 < m["auroc"]["point"] < 0.8 and 0.8 < m["calibration_slope"]["point"] < 1.2
    True
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape or y.ndim != 1 or len(y) == 0:
        raise ValueError(f"y and p must be 1-D and the same length, got {y.shape}, {p.shape}")
    r = _rank(y, p)
    x_unique, inverse = np.unique(_logit(r.p), return_inverse=True)
    point = _all(r, np.ones(len(y)), x_unique, inverse, capacity)
    rng = np.random.default_rng(seed)
    draws = np.array([list(_all(r, rng.poisson(1.0, len(y)).astype(float), x_unique, inverse,
                                capacity).values()) for _ in range(replicates)])
    out: dict[str, Any] = {"n": len(y), "events": int(y.sum())}
    for i, (name, value) in enumerate(point.items()):
        column = draws[:, i]
        column = column[np.isfinite(column)]
        lower, upper = (np.percentile(column, [2.5, 97.5]) if len(column)
                        else (float("nan"), float("nan")))
        out[name] = {"point": round(float(value), 6), "lower": round(float(lower), 6),
                     "upper": round(float(upper), 6)}
    return out


def curves(y: np.ndarray, p: np.ndarray, *, points: int = 200) -> dict[str, Any]:
    """The curves for plots and reports (point estimates only).

    Returns
    -------
    dict
        ``roc`` (``fpr``, ``tpr``), ``pr`` (``recall``, ``precision``), ``calibration``
        (``predicted``, ``observed``, ``n`` per decile of predicted risk), ``lift_by_decile``
        (observed rate per decile, highest risk first, divided by the overall rate) and
        ``decision`` (``threshold``, ``net_benefit`` for the model, for treating all and
        treating none).
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    r = _rank(y, p)
    pos = np.add.reduceat(r.y, r.starts)
    tot = np.add.reduceat(np.ones_like(r.y), r.starts)
    tp, seen = np.cumsum(pos), np.cumsum(tot)
    fp = seen - tp
    events, n = y.sum(), len(y)
    keep = np.unique(np.linspace(0, len(tp) - 1, min(points, len(tp))).astype(int))
    roc = {"fpr": np.r_[0, fp[keep] / max(n - events, 1)].round(5).tolist(),
           "tpr": np.r_[0, tp[keep] / max(events, 1)].round(5).tolist()}
    pr = {"recall": (tp[keep] / max(events, 1)).round(5).tolist(),
          "precision": (tp[keep] / seen[keep]).round(5).tolist()}
    deciles = np.array_split(np.argsort(p, kind="stable"), 10)
    calibration = {"predicted": [round(float(p[d].mean()), 5) for d in deciles],
                   "observed": [round(float(y[d].mean()), 5) for d in deciles],
                   "n": [len(d) for d in deciles]}
    rate = events / n if n else float("nan")
    lift = [round(float(y[d].mean() / rate), 4) if rate else None for d in deciles[::-1]]
    thresholds = np.round(np.arange(0.01, 0.51, 0.01), 2)
    net, treat_all = [], []
    for t in thresholds:
        chosen = p >= t
        tp_t, fp_t = float(y[chosen].sum()), float((1 - y[chosen]).sum())
        net.append(round(tp_t / n - fp_t / n * t / (1 - t), 6))
        treat_all.append(round(rate - (1 - rate) * t / (1 - t), 6))
    decision = {"threshold": thresholds.tolist(), "net_benefit": net,
                "treat_all": treat_all, "treat_none": [0.0] * len(thresholds)}
    return {"roc": roc, "pr": pr, "calibration": calibration, "lift_by_decile": lift,
            "decision": decision}
