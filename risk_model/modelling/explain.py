"""Explanations: SHAP values, reasons in plain English for each role, attributable risk.

- :func:`shap_values` gives exact TreeSHAP contributions of the LightGBM booster, in log-odds,
  and checks they add up to the booster's raw output: by LightGBM's own ``pred_contrib``, or
  with ``method="fast"`` the same values about ten times faster
  (:func:`risk_model.modelling.treeshap.exact_shap`, for scoring everyone each month).
- :func:`reasons` turns each person's largest positive contributions into plain-English
  sentences from the catalogue's ``reason`` templates and the person's values, one per
  ``reason_group`` ("Damp and mould reported twice in the last year; confirmed by
  investigation once"). What a role sees follows the catalogue: a housing officer gets
  housing reasons in detail and health reasons only as their broad category (never a
  diagnosis); an analyst gets everything.
- :func:`attributable_risk` is the predicted risk minus the predicted risk with every modifiable
  housing feature set to its remedied value. It is an association, not a causal effect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from risk_model.features.catalogue import NOT_KNOWN, reason_forms
from risk_model.modelling.frame import FeatureSchema, lightgbm_frame
from risk_model.modelling.treeshap import exact_shap

__all__ = ["ATTRIBUTABLE_NOTE", "Explanation", "attributable_risk", "priority", "reasons",
           "shap_values"]

#: Shown wherever the housing-attributable risk is.
ATTRIBUTABLE_NOTE = ("an association in the data, not a measured effect of the intervention: "
                     "the risk the model gives with the housing problems put right")

_ADDITIVITY_TOLERANCE = 1e-6
_METHODS = ("lightgbm", "fast")
_CHUNK = 100_000  # rows explained at a time, to bound the memory reasons() uses


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


def shap_values(booster: Any, frame: pd.DataFrame, schema: FeatureSchema, *,
                method: str = "lightgbm") -> Explanation:
    """Return exact TreeSHAP values of a canonical frame, checked for additivity.

    Parameters
    ----------
    booster : lightgbm.Booster
        The model.
    frame : pandas.DataFrame
        The model frame (:func:`risk_model.modelling.frame.model_frame`).
    schema : FeatureSchema
        The model's features.
    method : {"lightgbm", "fast"}, optional
        ``"lightgbm"``: LightGBM's own ``pred_contrib``. ``"fast"``: the same values
        computed by :func:`risk_model.modelling.treeshap.exact_shap` (about ten times
        faster; it checks a sample of rows against ``pred_contrib`` itself).

    Raises
    ------
    ValueError
        If ``method`` is neither.
    ArithmeticError
        If the contributions do not add up to the raw output (they always should), or the
        fast values differ from LightGBM's on the rows it checks.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be 'lightgbm' or 'fast', got {method!r}")
    data = lightgbm_frame(frame, schema)
    if method == "fast":
        contributions, base = exact_shap(booster, data)
    else:
        contrib = np.asarray(booster.predict(data, pred_contrib=True))
        contributions = contrib[:, :-1]
        base = float(contrib[0, -1]) if len(contrib) else 0.0
    raw = np.asarray(booster.predict(data, raw_score=True))
    gap = np.abs(contributions.sum(axis=1) + base - raw)
    if len(gap) and gap.max() > _ADDITIVITY_TOLERANCE * max(1.0, np.abs(raw).max()):
        raise ArithmeticError(f"SHAP values do not add up to the model's output (largest gap "
                              f"{gap.max():.2e})")
    values = pd.DataFrame(contributions, columns=schema.names, index=frame.index)
    return Explanation(values, base, raw)


def _times(count: int) -> str:
    """``"once"``, ``"twice"``, ``"3 times"``."""
    return {1: "once", 2: "twice"}.get(count, f"{count:,} times")


def _value_text(kind: str, value: Any) -> str:
    """A known value as a reason shows it: digits for counts and numbers, a category as is."""
    if kind == "flag":
        return "yes" if float(value) >= 0.5 else "no"
    if kind in ("count", "days"):
        return f"{round(float(value)):,}"
    if kind == "number":
        number = float(value)
        if abs(number) >= 10 or number == round(number):
            return f"{number:,.0f}"
        return f"{number:,.1f}"
    return str(value)


def _opening(text: str) -> str:
    """The first sentence of a reason starts with a capital."""
    return text[:1].upper() + text[1:]


def _following(text: str) -> str:
    """A later sentence of a reason starts lower case, unless with an acronym (EPC, A&E)."""
    word = text.split(" ", 1)[0].strip("(),;:")
    if len(word) > 1 and word.upper() == word and any(c.isalpha() for c in word):
        return text
    return text[:1].lower() + text[1:]


class _Member:
    """One feature in a reason: where a row's value qualifies, and its words for each value.

    Sentences are built once per distinct value of the column, and only for values of rows
    whose reasons the feature is part of.
    """

    def __init__(self, entry: dict[str, Any], column: pd.Series) -> None:
        self.entry = entry
        kind = entry["type"]
        template = entry.get("reason")
        self.forms = reason_forms(template) if template else None
        if kind == "category":
            text = column.to_numpy(dtype=object)
            known = pd.notna(text) & (text != NOT_KNOWN)
            remedied = entry.get("remedied_value")
            if remedied is not None:
                known &= text != str(remedied)
        else:
            if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                number = column.to_numpy(dtype=float, na_value=np.nan)
            else:
                number = pd.to_numeric(column.astype("object"), errors="coerce").to_numpy(float)
            known = np.isfinite(number)
            if kind == "flag":
                known &= number >= 0.5  # an unset flag is never a reason
            elif kind == "count":
                known &= np.round(np.nan_to_num(number)) != 0  # nor is none of something
        self.qualifies = np.asarray(known, dtype=bool)
        self.codes, self.uniques = pd.factorize(column, use_na_sentinel=True)
        # by value code: the sentence opening a reason, and following another ("" if none)
        self._opening = np.full(len(self.uniques), None, dtype=object)
        self._following = np.full(len(self.uniques), None, dtype=object)

    def words(self, codes: np.ndarray, first: np.ndarray) -> np.ndarray:
        """The sentences for value codes, opening their reason where ``first``, else following."""
        todo = np.unique(codes[pd.isna(self._opening[codes])])
        for code in todo.tolist():
            self._opening[code], self._following[code] = self._words(self.uniques[code])
        return np.where(first, self._opening[codes], self._following[codes])

    def _words(self, value: Any) -> tuple[str, str]:
        entry, kind = self.entry, self.entry["type"]
        text = _value_text(kind, value)
        if self.forms is None:  # no wording in the catalogue: "<label>: <value>"
            if kind == "flag":
                sentence = entry["label"]
            else:
                unit = entry.get("unit")
                sentence = f"{entry['label']}: {text}" + (
                    f" {unit}" if unit and unit != "days" else "")
            return _opening(sentence), _following(sentence)
        times = _times(round(float(value))) if kind == "count" else ""
        opening, following = (form.format(value=text, times=times) for form in self.forms)
        return _opening(opening), _following(following) if following else ""


@dataclass(frozen=True)
class _Unit:
    """What gives one reason: a feature, a ``reason_group``, or a broad health category."""

    members: tuple[int, ...]
    broad: str | None = None
    #: features the role may not see that share the group: they add to its strength (the
    #: group's SHAP values add up) but never speak; an officer's age reason is ranked by age
    #: in years and age band together and worded from the band alone
    silent: tuple[int, ...] = ()

    def say(self, rows: np.ndarray, speaks: np.ndarray, members: dict[int, _Member],
            offset: int) -> np.ndarray:
        """The unit's reason for ``rows`` of a chunk starting at row ``offset``.

        Its speaking members' sentences joined with "; ", the first as it opens a reason.
        """
        if self.broad is not None:
            return np.full(len(rows), f"Health: {self.broad}", dtype=object)
        said = np.full(len(rows), "", dtype=object)
        for j in self.members:
            member = members[j]
            at = np.flatnonzero(speaks[rows, j])
            if not len(at):
                continue
            so_far = said[at]
            first = so_far == ""
            part = member.words(member.codes[rows[at] + offset], first)
            joined = np.where(first | (part == ""), so_far + part, so_far + "; " + part)
            said[at] = joined
        return said


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
        The catalogue entries of the model's features (``label``, ``type``, ``roles``,
        ``broad_category``, ``unit``, ``remedied_value``, ``reason``, ``reason_group``), as
        bundled with the model, in catalogue order.
    role : str
        ``housing_officer``, ``analyst`` or ``administrator``.
    top : int, optional
        How many reasons at most.

    Returns
    -------
    list of list of str
        Sentences, strongest first, worded by each feature's ``reason`` template (or
        ``"<label>: <value>"`` without one). A feature gives a sentence only where it raises
        the risk and its value says something: not "not known", not a count of 0, not an
        unset flag, not a category at its remedied value. Features of one ``reason_group``
        give one reason, their sentences joined with "; " in catalogue order, ranked by the
        sum of their contributions. A feature the role may not see appears only as
        ``"Health: <broad category>"`` (once, ranked by the sum of the contributions behind
        it), or not at all if it has none: never with its label or value.

    Raises
    ------
    ValueError
        If the explanation has a feature without a catalogue entry.
    """
    by_name = {e["name"]: e for e in entries}
    names = list(explanation.values.columns)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"no catalogue entry for {', '.join(unknown)}: pass the entries "
                         "bundled with the model that gave these SHAP values")
    rank = {e["name"]: i for i, e in enumerate(entries)}
    contributions = explanation.values.to_numpy(dtype=float)
    members: dict[int, _Member] = {}
    keyed: dict[tuple[str, str], list[int]] = {}
    for j, name in sorted(enumerate(names), key=lambda item: rank[item[1]]):
        entry = by_name[name]
        if role in entry.get("roles", ()):
            key = ("group", entry["reason_group"]) if entry.get("reason_group") \
                else ("feature", name)
        elif entry.get("broad_category"):
            key = ("health", entry["broad_category"])
        else:
            continue  # the role may not see it and there is nothing broader to say
        members[j] = _Member(entry, frame[name])
        keyed.setdefault(key, []).append(j)
    silent: dict[tuple[str, str], list[int]] = {}
    for j, name in enumerate(names):
        entry = by_name[name]
        key = ("group", entry.get("reason_group") or "")
        if j not in members and key in keyed:
            members[j] = _Member(entry, frame[name])
            silent.setdefault(key, []).append(j)
    units = [_Unit(tuple(js), key[1] if key[0] == "health" else None,
                   tuple(silent.get(key, ()))) for key, js in keyed.items()]
    n = len(contributions)
    if not units or top < 1:
        return [[] for _ in range(n)]
    out: list[list[str]] = []
    for start in range(0, n, _CHUNK):
        out += _top_reasons(contributions[start:start + _CHUNK], start, members, units, top)
    return out


def _top_reasons(contributions: np.ndarray, offset: int, members: dict[int, _Member],
                 units: list[_Unit], top: int) -> list[list[str]]:
    """:func:`reasons` for one chunk of rows, starting at row ``offset`` of the frame."""
    n = len(contributions)
    # a member speaks for a row where it qualifies and raises the risk; a unit's strength is
    # the sum of its speaking members' contributions (SHAP values of a group add up)
    speaks = np.zeros(contributions.shape, dtype=bool)
    for j, member in members.items():
        speaks[:, j] = member.qualifies[offset:offset + n] & (contributions[:, j] > 0)
    strength = np.zeros((n, len(units)))
    for u, unit in enumerate(units):
        js = list(unit.members)
        voiced = speaks[:, js].any(axis=1)  # a unit with no member to word it says nothing
        every = js + list(unit.silent)
        total = np.where(speaks[:, every], contributions[:, every], 0.0).sum(axis=1)
        strength[:, u] = np.where(voiced, total, 0.0)
    k = min(top, len(units))
    chosen = np.argpartition(-strength, k - 1, axis=1)[:, :k] if k < len(units) \
        else np.tile(np.arange(len(units)), (n, 1))
    chosen_strength = np.take_along_axis(strength, chosen, axis=1)
    order = np.argsort(-chosen_strength, axis=1, kind="stable")
    chosen = np.take_along_axis(chosen, order, axis=1)
    counts = (np.take_along_axis(chosen_strength, order, axis=1) > 0).sum(axis=1)

    said = np.full((n, k), "", dtype=object)
    for t in range(k):
        rows = np.flatnonzero(counts > t)
        slot = chosen[rows, t]
        by_unit = np.argsort(slot, kind="stable")
        starts = np.flatnonzero(np.diff(slot[by_unit], prepend=-1))
        for group in np.split(by_unit, starts[1:]):
            if len(group):
                said[rows[group], t] = units[slot[group[0]]].say(rows[group], speaks, members,
                                                                 offset)
    if (said[np.arange(k) < counts[:, None]] == "").any():  # a reason with no words
        return [[text for text in row if text] for row in said.tolist()]
    return [row[:c] for row, c in zip(said.tolist(), counts.tolist(), strict=True)]


def attributable_risk(predict: Callable[[pd.DataFrame], np.ndarray], frame: pd.DataFrame,
                      entries: Sequence[dict[str, Any]], *,
                      risk: np.ndarray | None = None) -> np.ndarray:
    """Return the housing-attributable risk of each row (see :data:`ATTRIBUTABLE_NOTE`).

    Parameters
    ----------
    predict : callable
        Calibrated probabilities for a model frame.
    frame : pandas.DataFrame
        The model frame.
    entries : sequence of dict
        The catalogue entries (``modifiable``, ``remedied_value``, ``type``).
    risk : numpy.ndarray, optional
        ``predict(frame)``, when already computed (saves predicting it again).

    Returns
    -------
    numpy.ndarray
        ``predict(frame) - predict(remedied frame)``; where nothing is modifiable or already
        remedied the two are equal and the difference is 0 (those rows are not predicted
        again).
    """
    remedied = frame.copy()
    changed = np.zeros(len(frame), dtype=bool)
    for entry in entries:
        name, value = entry["name"], entry.get("remedied_value")
        if not entry.get("modifiable") or value is None or name not in remedied:
            continue
        column = remedied[name]
        known = column.notna() & (column.astype(str) != NOT_KNOWN)
        fixed = str(value) if entry["type"] == "category" else float(value)
        changed |= (known & (column != fixed)).to_numpy()
        remedied[name] = column.where(~known, fixed)
    before = np.asarray(predict(frame), dtype=float) if risk is None \
        else np.asarray(risk, dtype=float)
    out = np.zeros(len(frame))
    if changed.any():  # a row with nothing to put right keeps its risk: only the rest are run
        rows = np.flatnonzero(changed)
        out[rows] = before[rows] - np.asarray(predict(remedied.iloc[rows]), dtype=float)
    return out

def priority(risk: np.ndarray, attributable: np.ndarray, rank_by: str = "risk",
             blend_weight: float = 0.5) -> np.ndarray:
    """Return the score the lists are ordered by (the spec's ``priority`` section).

    Parameters
    ----------
    risk : numpy.ndarray
        Calibrated probabilities.
    attributable : numpy.ndarray
        Housing-attributable risk (:func:`attributable_risk`), same length.
    rank_by : {"risk", "attributable", "blend"}
        The risk; what putting the home right might change; or ``(1 - w) * risk + w *
        attributable``.
    blend_weight : float
        ``w`` for the blend, from 0 to 1.

    Returns
    -------
    numpy.ndarray
        Higher means sooner on the list.

    Examples
    --------
    >>> priority(np.array([0.3, 0.2]), np.array([0.0, 0.1]), "blend", 0.5).round(2).tolist()
    [0.15, 0.15]
    """
    risk, attributable = np.asarray(risk, dtype=float), np.asarray(attributable, dtype=float)
    if rank_by == "risk":
        return risk
    if rank_by == "attributable":
        return attributable
    if rank_by == "blend":
        if not 0 <= blend_weight <= 1:
            raise ValueError(f"blend_weight must be from 0 to 1, got {blend_weight}")
        return (1 - blend_weight) * risk + blend_weight * attributable
    raise ValueError(f"rank_by must be risk, attributable or blend, got {rank_by!r}")
