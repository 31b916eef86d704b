"""Small-number suppression: the one place it is done for anything that leaves the analyst.

Every aggregated figure that leaves the analyst's environment (reports, dashboards, tables for
partners, data-quality profiles) goes through this module, so the rule is applied the same way
everywhere. The rule follows NHS Digital's for sub-national HES/ECDS outputs:

- a count from 1 to 7 (``1 <= n < threshold``) is shown as ``"*"``;
- any other count is rounded to the nearest 5 (half-way values round up), so a suppressed cell
  cannot be recovered by subtracting rounded totals;
- zero stays ``0``, since a true zero discloses nothing about a person; set
  ``SuppressionRule(suppress_zero=True)`` to show it as ``"*"`` as well;
- a rate built on a suppressed count is suppressed too, and so is a rate whose complement
  (``denominator - numerator``) is small, as that could be back-calculated from the rate.

Rates are computed from the unrounded counts and then rounded; only counts are rounded to 5.

A deployment may set a stricter (or other) rule in its workspace's ``settings.yaml``
(``small_numbers:``, see :class:`risk_model.config.SmallNumbers`). Code that writes an output
of a workspace gets the rule with :func:`rule_for` and passes it on; the functions' default rule
is for pure use (tests, notebooks) only.

Examples
--------
>>> suppress_count(3)
'*'
>>> suppress_count(12)
10
>>> suppressed_rate(40, 120)
0.333
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import pandas as pd

from risk_model.errors import ConfigError, DataError

if TYPE_CHECKING:
    from risk_model.config import Workspace

__all__ = [
    "SUPPRESSED",
    "SuppressionRule",
    "rule_for",
    "suppress_count",
    "suppress_counts",
    "suppress_table",
    "suppressed_rate",
]

#: What a suppressed count or rate is shown as.
SUPPRESSED = "*"

_BAD_THRESHOLD = "SuppressionRule.threshold must be a whole number of at least 1, got {value!r}"
_BAD_ROUNDING = "SuppressionRule.rounding must be a whole number of at least 1, got {value!r}"
_BAD_SUPPRESS_ZERO = "SuppressionRule.suppress_zero must be True or False, got {value!r}"
_BAD_COUNT = "a count must be a whole number of 0 or more, got {value!r}"
_BAD_RATE = (
    "a rate needs 0 <= numerator <= denominator, got numerator {numerator!r} and "
    "denominator {denominator!r}"
)
_BAD_DIGITS = "digits must be a whole number of 0 or more, got {value!r}"


@dataclass(frozen=True)
class SuppressionRule:
    """How small counts are hidden and the others rounded.

    Parameters
    ----------
    threshold : int, default 8
        Counts above 0 and below this are shown as ``"*"`` (NHS Digital: 1-7).
    rounding : int, default 5
        Other counts are rounded to the nearest multiple of this (1 leaves them as they are).
    suppress_zero : bool, default False
        Show a count of 0 as ``"*"`` too.

    Raises
    ------
    ConfigError
        If ``threshold`` or ``rounding`` is not a whole number of at least 1.

    Examples
    --------
    >>> SuppressionRule()
    SuppressionRule(threshold=8, rounding=5, suppress_zero=False)
    >>> SuppressionRule(threshold=10).threshold  # the ONS rule of thumb
    10
    """

    threshold: int = 8
    rounding: int = 5
    suppress_zero: bool = False

    def __post_init__(self) -> None:
        if not _is_whole(self.threshold) or self.threshold < 1:
            raise ConfigError(
                _BAD_THRESHOLD.format(value=self.threshold),
                hint="use 8 for NHS Digital's rule (1-7 hidden) or 10 for the ONS rule of thumb",
            )
        if not _is_whole(self.rounding) or self.rounding < 1:
            raise ConfigError(
                _BAD_ROUNDING.format(value=self.rounding),
                hint="use 5 to round to the nearest 5, or 1 to leave counts unrounded",
            )
        if not isinstance(self.suppress_zero, bool):
            raise ConfigError(_BAD_SUPPRESS_ZERO.format(value=self.suppress_zero))

    def to_dict(self) -> dict[str, Any]:
        """Return the rule as JSON-ready data, for an output to say how it was suppressed.

        Returns
        -------
        dict
            ``threshold``, ``rounding``, ``suppress_zero`` and ``shown_as`` (``"*"``).

        Examples
        --------
        >>> SuppressionRule(threshold=11).to_dict()
        {'threshold': 11, 'rounding': 5, 'suppress_zero': False, 'shown_as': '*'}
        """
        return {
            "threshold": self.threshold,
            "rounding": self.rounding,
            "suppress_zero": self.suppress_zero,
            "shown_as": SUPPRESSED,
        }

    def describe(self) -> str:
        """Return the rule in one plain-English sentence, for the note under a report.

        Returns
        -------
        str
            What is hidden, how other counts are rounded and when a rate is withheld.

        Examples
        --------
        >>> SuppressionRule().describe()
        'Counts from 1 to 7 are shown as "*" and other counts are rounded to the nearest 5; \
a rate built on a hidden count, or whose complement is hidden, is hidden too.'
        """
        if self.threshold > 2:
            hidden = f"Counts from 1 to {self.threshold - 1}"
        elif self.threshold == 2:
            hidden = "Counts of 1"
        else:
            hidden = ""
        if self.suppress_zero:
            hidden = f"{hidden} (and 0)" if hidden else "Counts of 0"
        rounded = (
            "counts are not rounded"
            if self.rounding == 1
            else f"counts are rounded to the nearest {self.rounding}"
        )
        if not hidden:
            return f"No counts are hidden and {rounded}."
        return (
            f'{hidden} are shown as "{SUPPRESSED}" and other {rounded}; a rate built on a '
            "hidden count, or whose complement is hidden, is hidden too."
        )


def _is_whole(value: object) -> bool:
    """Return whether ``value`` is an integer (not a bool) or a float holding one."""
    if isinstance(value, bool):
        return False
    if isinstance(value, Integral):
        return True
    return isinstance(value, Real) and math.isfinite(float(value)) and float(value).is_integer()


#: NHS Digital's rule: the default of the functions below and of a workspace without settings.
_DEFAULT_RULE = SuppressionRule()


def rule_for(workspace: Workspace) -> SuppressionRule:
    """Return the suppression rule of a workspace: THE way to get the rule for an output.

    Parameters
    ----------
    workspace : Workspace
        The workspace whose outputs are being written.

    Returns
    -------
    SuppressionRule
        The ``small_numbers:`` section of ``<workspace>/settings.yaml``; NHS Digital's rule
        (1-7 hidden, round to 5, zero shown) when the file or the section is absent.

    Raises
    ------
    ConfigError
        Naming the settings file and the key, if the file is not valid.

    Examples
    --------
    >>> import tempfile
    >>> from risk_model.config import Workspace
    >>> ws = Workspace.at(tempfile.mkdtemp())
    >>> rule_for(ws) == SuppressionRule()
    True
    >>> _ = ws.settings_file.write_text("small_numbers: {threshold: 11}")
    >>> rule_for(ws)
    SuppressionRule(threshold=11, rounding=5, suppress_zero=False)
    """
    small = workspace.settings().small_numbers
    return SuppressionRule(
        threshold=small.threshold, rounding=small.rounding, suppress_zero=small.suppress_zero
    )


def _as_count(value: object) -> int:
    """Return ``value`` as a non-negative ``int`` or raise :class:`DataError`."""
    if not _is_whole(value) or int(value) < 0:  # type: ignore[call-overload]
        raise DataError(
            _BAD_COUNT.format(value=value),
            hint="pass counts of rows or people, with missing counts filled in first",
        )
    return int(value)  # type: ignore[call-overload]


def _is_hidden(n: int, rule: SuppressionRule) -> bool:
    """Return whether the count ``n`` (already checked) is suppressed under ``rule``."""
    if n == 0:
        return rule.suppress_zero
    return n < rule.threshold


def _round(n: int, rounding: int) -> int:
    """Round ``n`` to the nearest multiple of ``rounding``, half-way values up."""
    return (2 * n + rounding) // (2 * rounding) * rounding


def suppress_count(n: int, rule: SuppressionRule = _DEFAULT_RULE) -> int | str:
    """Return a count as it may be shown: ``"*"`` if small, otherwise rounded.

    Parameters
    ----------
    n : int
        The true count (0 or more; a float holding a whole number is accepted).
    rule : SuppressionRule, optional
        The rule to apply; NHS Digital's (1-7 hidden, round to 5) by default.

    Returns
    -------
    int or str
        ``"*"`` when ``0 < n < rule.threshold`` (or ``n == 0`` and ``rule.suppress_zero``),
        otherwise ``n`` rounded to the nearest ``rule.rounding``.

    Raises
    ------
    DataError
        If ``n`` is negative, missing or not a whole number.

    Examples
    --------
    >>> [suppress_count(n) for n in (0, 1, 7, 8, 12, 13)]
    [0, '*', '*', 10, 10, 15]
    >>> suppress_count(0, SuppressionRule(suppress_zero=True))
    '*'
    """
    count = _as_count(n)
    if _is_hidden(count, rule):
        return SUPPRESSED
    return _round(count, rule.rounding)


def suppress_counts(counts: pd.Series, rule: SuppressionRule = _DEFAULT_RULE) -> pd.Series:
    """Apply :func:`suppress_count` to every count in a Series.

    Parameters
    ----------
    counts : pandas.Series
        True counts, with no missing values.
    rule : SuppressionRule, optional
        The rule to apply; NHS Digital's by default.

    Returns
    -------
    pandas.Series
        Same index and name, ``object`` dtype, holding ``int`` or ``"*"``.

    Raises
    ------
    DataError
        If a count is missing, negative or not a whole number.

    Examples
    --------
    >>> suppress_counts(pd.Series([0, 3, 12, 13], name="admissions")).tolist()
    [0, '*', 10, 15]
    """
    missing = int(counts.isna().sum())
    if missing:
        label = "" if counts.name is None else f" {str(counts.name)!r}"
        raise DataError(
            f"count column{label} holds {missing} missing value(s); counts cannot be missing",
            hint="fill groups with no rows with 0 (for example .fillna(0)) before suppressing",
        )
    shown = [suppress_count(value, rule) for value in counts.tolist()]
    return pd.Series(shown, index=counts.index, name=counts.name, dtype=object)


def suppressed_rate(
    numerator: int,
    denominator: int,
    rule: SuppressionRule = _DEFAULT_RULE,
    digits: int = 3,
) -> float | str | None:
    """Return ``numerator / denominator`` as it may be shown, or ``"*"`` when it would disclose.

    The rate is suppressed when the numerator, the denominator or the complement
    (``denominator - numerator``) is a suppressed count, as a small complement could be
    recovered from the rate and the (rounded) denominator.

    Parameters
    ----------
    numerator : int
        The true count of rows with the property (0 or more, at most ``denominator``).
    denominator : int
        The true count of rows the rate is over.
    rule : SuppressionRule, optional
        The rule to apply; NHS Digital's by default.
    digits : int, default 3
        Decimal places the rate is rounded to.

    Returns
    -------
    float, str or None
        The rate from the unrounded counts, rounded to ``digits``; ``"*"`` if suppressed;
        ``None`` when ``denominator`` is 0 (no rate exists).

    Raises
    ------
    DataError
        If a count is negative or not a whole number, or ``numerator > denominator``.

    Examples
    --------
    >>> suppressed_rate(40, 120)
    0.333
    >>> suppressed_rate(5, 120)  # numerator 5 is suppressed
    '*'
    >>> suppressed_rate(115, 120)  # 5 rows lack the property: suppressed too
    '*'
    >>> suppressed_rate(120, 120), suppressed_rate(0, 120)
    (1.0, 0.0)
    >>> suppressed_rate(0, 0) is None
    True
    """
    num = _as_count(numerator)
    den = _as_count(denominator)
    if num > den:
        raise DataError(_BAD_RATE.format(numerator=numerator, denominator=denominator))
    if not _is_whole(digits) or digits < 0:
        raise DataError(_BAD_DIGITS.format(value=digits))
    if den == 0:
        return None
    if _is_hidden(num, rule) or _is_hidden(den, rule) or _is_hidden(den - num, rule):
        return SUPPRESSED
    return round(num / den, int(digits))


def suppress_table(
    frame: pd.DataFrame,
    count_columns: list[str],
    rule: SuppressionRule = _DEFAULT_RULE,
) -> pd.DataFrame:
    """Return a copy of ``frame`` with :func:`suppress_counts` applied to each count column.

    Other columns (group labels, already-suppressed rates) are copied as they are.

    Parameters
    ----------
    frame : pandas.DataFrame
        An aggregated table.
    count_columns : list of str
        The columns holding true counts.
    rule : SuppressionRule, optional
        The rule to apply; NHS Digital's by default.

    Returns
    -------
    pandas.DataFrame
        A new frame; ``frame`` is not changed.

    Raises
    ------
    DataError
        If a listed column is not in ``frame`` or holds a count that is not allowed.

    Examples
    --------
    >>> table = pd.DataFrame({"band": ["A", "B"], "residents": [120, 4]})
    >>> suppress_table(table, ["residents"])["residents"].tolist()
    [120, '*']
    """
    absent = [c for c in count_columns if c not in frame.columns]
    if absent:
        raise DataError(
            f"count column(s) not in the table: {', '.join(map(str, absent))}",
            hint=f"choose from the table's columns: {', '.join(map(str, frame.columns))}",
        )
    out = frame.copy()
    for column in count_columns:
        out[column] = suppress_counts(frame[column], rule)
    return out
