from __future__ import annotations

import numpy as np
import pytest

from risk_model.identifiers import (
    POSTCODE_PATTERN,
    is_valid_nhs_number,
    nhs_check_digit,
    nhs_check_digits,
    postcode_district,
)
from risk_model.synth.world import NHS_POOL_SIZE, nhs_pool


def test_check_digit_of_the_published_example():
    # 943 476 5919 is the public worked example of the modulus-11 check
    assert nhs_check_digit("943476591") == 9
    assert is_valid_nhs_number("943 476 5919")
    assert is_valid_nhs_number("943-476-5919")


@pytest.mark.parametrize(
    "value",
    ["9434765918", "943476591", "94347659190", "94347659a9", "", None, "1111111111"],
)
def test_invalid_nhs_numbers(value):
    assert not is_valid_nhs_number(value)


def test_check_of_ten_means_no_valid_number():
    assert nhs_check_digit("999000000") is None


def test_vectorised_check_digits_match_scalar():
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 10, (500, 9))
    vec = nhs_check_digits(digits)
    for row, check in zip(digits, vec, strict=True):
        scalar = nhs_check_digit("".join(map(str, row)))
        assert (scalar if scalar is not None else -1) == check


def test_never_issued_pool_is_complete_valid_and_seeded():
    pool = nhs_pool(1)
    assert pool.size == NHS_POOL_SIZE
    assert np.unique(pool).size == pool.size
    assert pool.min() >= 9_990_000_000 and pool.max() <= 9_999_999_999
    sample = pool[:: 997]
    assert all(is_valid_nhs_number(str(n)) for n in sample)
    assert not np.array_equal(pool[:100], nhs_pool(2)[:100])
    assert np.array_equal(pool[:100], nhs_pool(1)[:100])


@pytest.mark.parametrize("postcode", ["QX1 1AA", "LS6 1AB", "SW1A 1AA", "QX121AB", "M1 1AE"])
def test_postcode_pattern_accepts(postcode):
    assert POSTCODE_PATTERN.match(postcode)


@pytest.mark.parametrize("postcode", ["QX1", "1AB QX1", "QX1 1A", "qx1 1aa"])
def test_postcode_pattern_rejects(postcode):
    assert not POSTCODE_PATTERN.match(postcode)


def test_postcode_district():
    assert postcode_district("ls6 1ab") == "LS6"
    assert postcode_district("SW1A1AA") == "SW1A"


def test_vectorised_nhs_rule_agrees_with_the_scalar_one():
    from risk_model.identifiers import is_valid_nhs_number, nhs_numbers_valid

    rng = np.random.default_rng(3)
    values = [f"999{n:07d}" for n in rng.integers(0, 10**7, 2000)] + [
        "999 000 0018", "0000000000", "12345", None, "99900000AB"]
    assert nhs_numbers_valid(values).tolist() == [is_valid_nhs_number(v) for v in values]
