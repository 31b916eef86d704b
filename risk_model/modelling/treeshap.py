"""Fast exact SHAP values of a LightGBM booster, for explaining every resident each month.

This module is the one place that computes path-dependent TreeSHAP values fast: the values
LightGBM's own ``booster.predict(X, pred_contrib=True)`` gives (exact Shapley values of the
trees, in log-odds), which take LightGBM about 13 minutes for a million residents on two
threads with a model of the project's size (300 trees of 31 leaves, 50 features).
:func:`exact_shap` gets the same values with the WOODELF algorithm of the
``woodelf-explainer`` package in about 71 seconds on one core, with about 65 MB of working
memory beyond the values it returns (``benchmarks/bench_exact_shap.py``).

woodelf's own model loader refuses LightGBM's categorical splits and routes missing values
its own way, so the trees are rebuilt here from ``booster.dump_model()`` with nodes that send
every row where LightGBM sends it: numerical splits (``<=``, with ``default_left`` and the
``missing_type`` None, Zero or NaN), categorical splits (``==`` on a set of categories;
missing and unknown categories go right) and single-leaf trees. Path-dependent TreeSHAP needs
nothing else from a tree: where each row goes, and how many training rows reached each node.
woodelf sums its contributions in 32-bit floats; here they are kept in 64-bit, so the values
agree with LightGBM's to about 1e-14 (woodelf's own sums are about 1e-6 out at this size).

Every call checks itself: the values of a fixed sample of rows are compared with LightGBM's
``pred_contrib``, and each sampled row's values plus the base value with its raw score. A
difference larger than the tolerance raises :class:`ArithmeticError`, so a change in either
library cannot silently give wrong explanations.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = ["ExactShap", "exact_shap"]

logger = logging.getLogger(__name__)

#: the woodelf-explainer release the tree adapter is written against (it uses its internals)
WOODELF_VERSION = "0.4.8"
#: rows explained at a time unless told: bounds the working memory (see :func:`exact_shap`)
DEFAULT_CHUNK = 250_000

MISSING_PACKAGE = ("fast exact SHAP values need the woodelf-explainer package, which is not "
                   "installed. Fix: pip install 'woodelf-explainer=={version}', or explain with "
                   "method='lightgbm'")
VALUES_DIFFER = ("fast SHAP values differ from LightGBM's pred_contrib by up to {diff:.2e} "
                 "(feature {feature!r}) on {rows:,} checked rows, more than the tolerance "
                 "{tolerance:.0e}. Fix: explain with method='lightgbm' and report the model and "
                 "package versions")
BASE_DIFFERS = ("the fast SHAP base value {base!r} differs from LightGBM's pred_contrib bias "
                "by {diff:.2e}, more than the tolerance {tolerance:.0e}. Fix: explain with "
                "method='lightgbm' and report the model and package versions")
NOT_ADDITIVE = ("fast SHAP values and the base value do not add up to the model's raw score: "
                "largest gap {gap:.2e} on {rows:,} checked rows, more than the tolerance "
                "{tolerance:.0e}. Fix: explain with method='lightgbm' and report the model and "
                "package versions")
LINEAR_TREES = ("fast exact SHAP values cannot explain a booster trained with linear_tree "
                "(its leaves are linear models). Fix: explain with method='lightgbm'")
MULTIPLE_OUTPUTS = ("fast exact SHAP values explain one output per row; this booster has "
                    "{outputs} trees per iteration (num_class). Fix: explain with "
                    "method='lightgbm'")
AVERAGED_OUTPUT = ("fast exact SHAP values cannot explain a booster that averages its trees "
                   "(boosting=rf). Fix: explain with method='lightgbm'")
COLUMNS_DIFFER = ("the frame's columns are not the booster's features: {detail}. Fix: give the "
                  "frame the model was trained on (risk_model.modelling.frame.lightgbm_frame)")

#: LightGBM's kZeroThreshold (a float literal, 1e-35f): |x| <= it counts as zero
_ZERO = float(np.float32(1e-35))


class ExactShap(NamedTuple):
    """SHAP values of a frame and the base value they start from.

    Attributes
    ----------
    values : numpy.ndarray
        Rows x features, float64: each feature's contribution to the raw score (log-odds for
        a binary model), in the frame's row and column order.
    base : float
        The expected raw score: each row's values plus ``base`` is its raw score.
    """

    values: np.ndarray
    base: float


def exact_shap(booster: Any, data: pd.DataFrame, *, check_rows: int = 200,
               tolerance: float = 1e-5, chunk: int | None = None) -> ExactShap:
    """Return exact path-dependent TreeSHAP values of a LightGBM booster, fast.

    The values are LightGBM's ``booster.predict(data, pred_contrib=True)`` without its last
    (bias) column, computed by WOODELF (``woodelf-explainer``) on trees rebuilt from
    ``booster.dump_model()``: about ten times faster than ``pred_contrib`` on two threads,
    on one core.

    Parameters
    ----------
    booster : lightgbm.Booster
        A binary or regression model (one output per row) with ordinary trees. Like
        ``predict``, its best iteration is used if it has one, else every tree.
    data : pandas.DataFrame
        The frame LightGBM would be given: the booster's features in its order, numbers as
        numbers, categories as pandas Categorical
        (:func:`risk_model.modelling.frame.lightgbm_frame`).
    check_rows : int, optional
        How many rows, spread evenly over the frame, to check against LightGBM's
        ``pred_contrib`` and raw score (0 skips the check).
    tolerance : float, optional
        The largest absolute difference the check allows, in log-odds.
    chunk : int, optional
        Rows explained at a time (default :data:`DEFAULT_CHUNK`, 250,000). The working
        memory grows with the rows explained at once: for a 300-tree model, a million rows
        at once need about 170 MB beyond the 400 MB of values returned, chunks of 250,000
        about 65 MB, and take the same time (71 to 73 s a million).

    Returns
    -------
    ExactShap
        ``values`` (rows x features, float64) and the ``base`` value: the sum over the trees
        of the mean leaf value weighted by the training rows in each leaf (LightGBM's bias).

    Raises
    ------
    ImportError
        If ``woodelf-explainer`` is not installed.
    ValueError
        If the frame's columns are not the booster's features, or an argument is out of
        range.
    NotImplementedError
        If the booster has linear trees, more than one output (multiclass) or averages its
        trees (random forest).
    ArithmeticError
        If the checked rows' values differ from ``pred_contrib``, or do not add up to the raw
        score, by more than ``tolerance`` (the message gives the largest difference and the
        feature, never a row).

    Examples
    --------
    >>> values, base = exact_shap(booster, lightgbm_frame(frame, schema))  # doctest: +SKIP
    """
    if check_rows < 0:
        raise ValueError(f"check_rows must be 0 or more, got {check_rows}")
    if not tolerance > 0:
        raise ValueError(f"tolerance must be more than 0, got {tolerance}")
    if chunk is not None and chunk < 1:
        raise ValueError(f"chunk must be 1 or more rows (or None for {DEFAULT_CHUNK:,}), "
                         f"got {chunk}")
    woodelf = _woodelf()
    model = booster.dump_model()
    names = _features(model, data)
    trees = [tree["tree_structure"] for tree in model["tree_info"]]
    base = math.fsum(_expected_value(tree) for tree in trees)
    roots = [_build(woodelf, tree, names) for tree in trees if "split_index" in tree]
    values = np.zeros((len(data), len(names)), order="F")  # a contiguous column per feature
    started = time.perf_counter()
    if roots and len(data):
        depth = min(max(root.depth for root in roots), len(names))
        p2s = woodelf.Float64Shapley(woodelf.ShapleyValues(), max_depth=depth)
        step = chunk or DEFAULT_CHUNK
        for start in range(0, len(data), step):
            part = _numbers(data.iloc[start:start + step], booster.pandas_categorical)
            block = values[start:start + len(part)]
            # woodelf adds each tree's contributions to these column views in place
            out = {name: block[:, j] for j, name in enumerate(names)}
            for root in roots:
                woodelf.explain_tree(root, part, out, p2s, False, True)
    logger.debug("fast SHAP values of %d rows and %d trees in %.1f s", len(data), len(trees),
                 time.perf_counter() - started)
    if check_rows and len(data):
        _check(booster, data, values, base, names, check_rows, tolerance)
    return ExactShap(values, base)


# ---- checking ---------------------------------------------------------------------------------


def _check(booster: Any, data: pd.DataFrame, values: np.ndarray, base: float,
           names: Sequence[str], rows: int, tolerance: float) -> None:
    """Compare ``rows`` rows spread over the frame with LightGBM's pred_contrib and raw score."""
    at = np.unique(np.linspace(0, len(data) - 1, min(rows, len(data))).round().astype(np.intp))
    sample = data.iloc[at]
    reference = np.asarray(booster.predict(sample, pred_contrib=True), dtype=np.float64)
    raw = np.asarray(booster.predict(sample, raw_score=True), dtype=np.float64)
    mine = values[at]
    by_feature = np.abs(mine - reference[:, :-1]).max(axis=0)
    worst = int(np.argmax(by_feature))
    if not by_feature[worst] <= tolerance:  # NaN fails too
        raise ArithmeticError(VALUES_DIFFER.format(diff=by_feature[worst], feature=names[worst],
                                                   rows=len(at), tolerance=tolerance))
    bias = float(np.abs(reference[:, -1] - base).max())
    if not bias <= tolerance:
        raise ArithmeticError(BASE_DIFFERS.format(base=base, diff=bias, tolerance=tolerance))
    gap = float(np.abs(mine.sum(axis=1) + base - raw).max())
    if not gap <= tolerance:
        raise ArithmeticError(NOT_ADDITIVE.format(gap=gap, rows=len(at), tolerance=tolerance))


# ---- the model and the frame as LightGBM sees them ------------------------------------------


def _features(model: dict[str, Any], data: pd.DataFrame) -> list[str]:
    """The booster's feature names, checked against the frame and what the adapter explains."""
    if model.get("num_tree_per_iteration", 1) != 1:
        raise NotImplementedError(MULTIPLE_OUTPUTS.format(
            outputs=model["num_tree_per_iteration"]))
    if model.get("average_output"):
        raise NotImplementedError(AVERAGED_OUTPUT)
    names = [str(n) for n in model["feature_names"]]
    columns = [str(c) for c in data.columns]
    if len(columns) != len(names):
        raise ValueError(COLUMNS_DIFFER.format(
            detail=f"{len(columns)} columns for {len(names)} features"))
    if columns != names:
        j = next(j for j, (c, n) in enumerate(zip(columns, names, strict=True)) if c != n)
        raise ValueError(COLUMNS_DIFFER.format(
            detail=f"column {j} is {columns[j]!r} where the booster has {names[j]!r}"))
    return names


def _numbers(data: pd.DataFrame, pandas_categorical: list[list[Any]] | None) -> pd.DataFrame:
    """The frame as LightGBM's ``predict`` turns it into numbers, one column a feature.

    As ``lightgbm.basic._data_from_pandas``: categories take the codes of the levels the
    booster was trained with (missing and unknown levels NaN to LightGBM); they stay integer
    codes here, -1 for missing, as the categorical nodes read them fastest that way. Numbers
    become float64: LightGBM casts the frame to one dtype (float32 if nothing needs more) and
    compares in double precision, and float64 holds every value either way exactly.
    """
    categorical = [c for c in data.columns if isinstance(data[c].dtype, pd.CategoricalDtype)]
    levels = list(pandas_categorical or [])
    if len(categorical) != len(levels):
        raise ValueError(COLUMNS_DIFFER.format(
            detail=f"{len(categorical)} categorical columns where the booster was trained with "
                   f"{len(levels)}"))
    known = dict(zip(categorical, levels, strict=True))
    columns: dict[str, np.ndarray] = {}
    for name in data.columns:
        column = data[name]
        if name in known:
            if list(column.cat.categories) != list(known[name]):
                column = column.cat.set_categories(known[name])
            columns[str(name)] = np.ascontiguousarray(column.cat.codes.to_numpy())
            continue
        try:
            number = column.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise ValueError(COLUMNS_DIFFER.format(
                detail=f"column {name!r} of dtype {column.dtype} is not numeric")) from exc
        columns[str(name)] = np.ascontiguousarray(number)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(data)), copy=False)


def _expected_value(node: dict[str, Any]) -> float:
    """A tree's expected value as LightGBM's ``Tree::ExpectedValue``: its bias contribution.

    The leaf values weighted by the training rows that reached each leaf, over the rows that
    reached the root.
    """
    if "split_index" not in node:
        return float(node["leaf_value"])
    total = float(node["internal_count"])
    leaves: list[float] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if "split_index" in current:
            stack += [current["left_child"], current["right_child"]]
        else:
            leaves.append(float(current["leaf_count"]) / total * float(current["leaf_value"]))
    return math.fsum(leaves)


# ---- the adapter: woodelf trees that route rows as LightGBM does ----------------------------


class _Woodelf(NamedTuple):
    """What the adapter takes from woodelf (its internals, hence the exact version pin)."""

    Leaf: type
    Numeric: type
    Categorical: type
    Float64Shapley: type
    ShapleyValues: type
    explain_tree: Any


@cache
def _woodelf() -> _Woodelf:
    """The pieces of woodelf the adapter uses, and LightGBM's routing as woodelf nodes."""
    try:
        from woodelf.core.cube_metric import ShapleyValues
        from woodelf.core.path_to_s_vectors.lts_recursive_p2s import LTSRecursivePathToSVectors
        from woodelf.core.trees.decision_trees_ensemble import DecisionTreeNode
        from woodelf.woodelf_sparse import sparse_path_dependent_single_tree
    except ImportError as exc:
        raise ImportError(MISSING_PACKAGE.format(version=WOODELF_VERSION)) from exc
    try:
        installed = version("woodelf-explainer")
    except PackageNotFoundError:  # importable without metadata (a source checkout)
        installed = "unknown"
    if installed != WOODELF_VERSION:
        logger.warning("woodelf-explainer %s is installed; the LightGBM adapter is written for "
                       "%s (each call still checks its values against LightGBM)", installed,
                       WOODELF_VERSION)

    class Numeric(DecisionTreeNode):  # type: ignore[misc,valid-type]
        """LightGBM's ``NumericalDecision``.

        missing_type None: NaN counts as 0. Zero: NaN and |x| <= 1e-35 are missing. NaN: NaN
        is missing. A missing value goes to the default child, any other left iff x <= threshold.
        """

        missing: str = "None"

        def shall_go_left(self, row: pd.DataFrame, GPU: bool = False) -> pd.Series:
            x = row[self.feature_name].to_numpy()
            if x.dtype.kind in "iu":  # category codes (never split on as numbers by LightGBM)
                x = np.where(x < 0, np.nan, x.astype(np.float64))
            if self.missing == "Zero":
                below = x <= self.value
                with np.errstate(invalid="ignore"):
                    zero = np.isnan(x) | ((x >= -_ZERO) & (x <= _ZERO))
                left = below | zero if self.nan_go_left else below & ~zero
            elif (self.missing == "NaN" and self.nan_go_left) or \
                    (self.missing == "None" and self.value >= 0.0):
                left = ~(x > self.value)  # NaN goes left
            else:
                left = x <= self.value  # NaN goes right
            return pd.Series(left, index=row.index, copy=False)

    class Categorical(DecisionTreeNode):  # type: ignore[misc,valid-type]
        """LightGBM's ``CategoricalDecision``.

        Missing (NaN, code -1) and negative values go right; otherwise the value (truncated to
        an integer) goes left iff it is in the split's set of categories.
        """

        table: np.ndarray = np.zeros(2, dtype=bool)

        def shall_go_left(self, row: pd.DataFrame, GPU: bool = False) -> pd.Series:
            x = row[self.feature_name].to_numpy()
            size = len(self.table) - 1  # the last entry is False: missing, negative, too large
            if x.dtype.kind == "i":  # pandas category codes: -1 is missing and takes table[-1]
                code = np.minimum(x, size).astype(np.intp)
            else:  # numbers given to LightGBM as a categorical feature
                with np.errstate(invalid="ignore"):
                    code = np.where((x > -1) & (x < size), x, size).astype(np.intp)
            return pd.Series(self.table.take(code), index=row.index, copy=False)

    class Float64Shapley(LTSRecursivePathToSVectors):  # type: ignore[misc,valid-type]
        """woodelf's path-dependent Shapley vectors, kept in float64 (woodelf casts to float32)."""

        def get_path_dependent_s_matrix(self, features_in_path: list[Any],
                                        consumer_patterns: np.ndarray, covers: np.ndarray,
                                        w: float, w_neighbor: float | None = None,
                                        ) -> dict[Any, np.ndarray]:
            if not features_in_path:
                return {}
            s = self._get_s_matrix(covers, consumer_patterns, w, w_neighbor)
            return {feature: s[:, i] for i, feature in enumerate(features_in_path)}

    return _Woodelf(DecisionTreeNode, Numeric, Categorical, Float64Shapley, ShapleyValues,
                    sparse_path_dependent_single_tree)


def _build(woodelf: _Woodelf, tree: dict[str, Any], names: Sequence[str]) -> Any:
    """A woodelf tree of one ``dump_model()`` tree (with at least one split)."""
    counter = [0]

    def node(spec: dict[str, Any], parent: Any) -> Any:
        index = counter[0]
        counter[0] += 1
        if "split_index" not in spec:
            if "leaf_coeff" in spec:
                raise NotImplementedError(LINEAR_TREES)
            out = woodelf.Leaf(None, spec["leaf_value"], None, None, index=index,
                               cover=float(spec["leaf_count"]))
        else:
            name = names[spec["split_feature"]]
            cover = float(spec["internal_count"])
            if spec["decision_type"] == "==":
                out = woodelf.Categorical(name, 0.0, None, None, index=index, cover=cover)
                categories = [int(c) for c in str(spec["threshold"]).split("||")]
                out.table = np.zeros(max(categories) + 2, dtype=bool)
                out.table[categories] = True
            elif spec["decision_type"] == "<=":
                out = woodelf.Numeric(name, float(spec["threshold"]), None, None,
                                      nan_go_left=bool(spec["default_left"]), index=index,
                                      cover=cover)
                out.missing = str(spec["missing_type"])
                if out.missing not in ("None", "Zero", "NaN"):
                    raise NotImplementedError(f"unknown LightGBM missing_type "
                                              f"{out.missing!r}; use method='lightgbm'")
            else:
                raise NotImplementedError(f"unknown LightGBM decision_type "
                                          f"{spec['decision_type']!r}; use method='lightgbm'")
            out.left = node(spec["left_child"], out)
            out.right = node(spec["right_child"], out)
        out.parent = parent
        return out

    root = node(tree, None)
    root.depth = root.get_depth()
    return root
