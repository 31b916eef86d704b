from __future__ import annotations

import pandas as pd
import pytest

from risk_model.disclosure import (
    SUPPRESSED,
    SuppressionRule,
    suppress_count,
    suppress_counts,
    suppress_table,
    suppressed_rate,
)
from risk_model.errors import ConfigError, DataError


@pytest.mark.parametrize(
    ("n", "shown"),
    [(0, 0), (1, "*"), (7, "*"), (8, 10), (9, 10), (12, 10), (13, 15), (15, 15), (1002, 1000)],
)
def test_count_boundaries(n, shown):
    assert suppress_count(n) == shown


def test_suppressed_marker_is_a_star():
    assert SUPPRESSED == "*"
    assert suppress_count(3) is SUPPRESSED


def test_zero_can_be_suppressed_too():
    assert suppress_count(0, SuppressionRule(suppress_zero=True)) == "*"


def test_other_rules():
    ons = SuppressionRule(threshold=10, rounding=5)
    assert suppress_count(9, ons) == "*"
    assert suppress_count(10, ons) == 10
    unrounded = SuppressionRule(threshold=5, rounding=1)
    assert suppress_count(4, unrounded) == "*"
    assert suppress_count(6, unrounded) == 6
    # half-way values round up with an even rounding base
    assert suppress_count(15, SuppressionRule(rounding=10)) == 20


def test_counts_that_are_whole_floats_are_accepted():
    assert suppress_count(13.0) == 15
    assert isinstance(suppress_count(13.0), int)


@pytest.mark.parametrize("bad", [-1, 2.5, None, "12", True])
def test_bad_counts_are_refused(bad):
    with pytest.raises(DataError, match="a count must be a whole number of 0 or more, got"):
        suppress_count(bad)


def test_series_keeps_index_and_name():
    counts = pd.Series([0, 1, 7, 8, 12, 13], index=list("abcdef"), name="admissions", dtype="Int64")
    shown = suppress_counts(counts)
    assert shown.dtype == object
    assert shown.name == "admissions"
    assert list(shown.index) == list("abcdef")
    assert shown.tolist() == [0, "*", "*", 10, 10, 15]
    assert all(type(v) in (int, str) for v in shown)


def test_series_with_missing_counts_is_refused():
    counts = pd.Series([1, None], dtype="Int64", name="admissions")
    with pytest.raises(DataError, match="'admissions' holds 1 missing value"):
        suppress_counts(counts)


def test_rate_from_unrounded_counts():
    assert suppressed_rate(40, 120) == 0.333
    assert suppressed_rate(40, 120, digits=1) == 0.3
    assert suppressed_rate(12, 13, SuppressionRule(threshold=1)) == 0.923


def test_rate_on_small_counts_is_suppressed():
    assert suppressed_rate(7, 120) == "*"
    assert suppressed_rate(1, 120) == "*"
    assert suppressed_rate(8, 120) == 0.067
    assert suppressed_rate(3, 5) == "*"  # denominator suppressed
    assert suppressed_rate(0, 5) == "*"


def test_rate_with_small_complement_is_suppressed():
    # 118 of 120: 2 lack it, which the rate and the total would reveal
    assert suppressed_rate(118, 120) == "*"
    assert suppressed_rate(113, 120) == "*"  # complement 7
    assert suppressed_rate(112, 120) == 0.933  # complement 8
    assert suppressed_rate(120, 120) == 1.0  # complement 0 is not suppressed by default
    assert suppressed_rate(120, 120, SuppressionRule(suppress_zero=True)) == "*"


def test_rate_zero_and_empty_denominator():
    assert suppressed_rate(0, 120) == 0.0
    assert suppressed_rate(0, 0) is None


def test_rate_with_numerator_above_denominator_is_refused():
    with pytest.raises(DataError, match="0 <= numerator <= denominator"):
        suppressed_rate(10, 9)


def test_table_applies_to_listed_columns_only():
    frame = pd.DataFrame(
        {"band": ["A", "B", "C"], "residents": [120, 4, 0], "admitted": [13, 0, 0]}
    )
    out = suppress_table(frame, ["residents", "admitted"])
    assert out["band"].tolist() == ["A", "B", "C"]
    assert out["residents"].tolist() == [120, "*", 0]
    assert out["admitted"].tolist() == [15, 0, 0]
    assert frame["residents"].tolist() == [120, 4, 0]  # input unchanged


def test_table_with_unknown_column_is_refused():
    frame = pd.DataFrame({"band": ["A"], "residents": [120]})
    with pytest.raises(DataError, match="not in the table: people"):
        suppress_table(frame, ["people"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 0}, "SuppressionRule.threshold must be a whole number of at least 1, got 0"),
        (
            {"threshold": -3},
            "SuppressionRule.threshold must be a whole number of at least 1, got -3",
        ),
        ({"rounding": 0}, "SuppressionRule.rounding must be a whole number of at least 1, got 0"),
        (
            {"rounding": 2.5},
            "SuppressionRule.rounding must be a whole number of at least 1, got 2.5",
        ),
    ],
)
def test_bad_rule_message(kwargs, message):
    with pytest.raises(ConfigError) as caught:
        SuppressionRule(**kwargs)
    assert caught.value.message == message
    assert str(caught.value).startswith(message + ". Fix: ")


def test_rule_is_frozen():
    rule = SuppressionRule()
    with pytest.raises(AttributeError):
        rule.threshold = 1  # type: ignore[misc]
