"""Rules for the identifiers UK housing and health data carry.

One place for the NHS number check digit, the postcode and UPRN shapes and the LSOA code shape, so
the synthetic generator, the ingest contracts and the leak scanners all agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

__all__ = [
    "LSOA_PATTERN",
    "POSTCODE_PATTERN",
    "UPRN_PATTERN",
    "is_valid_nhs_number",
    "nhs_check_digit",
    "nhs_check_digits",
    "nhs_numbers_valid",
    "postcode_district",
]

#: Looser acceptance pattern for a postcode after upper-casing (outward, optional space, inward).
POSTCODE_PATTERN = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
#: A UPRN is a positive integer of up to 12 digits.
UPRN_PATTERN = re.compile(r"^[1-9][0-9]{0,11}$")
#: LSOA codes: E01 (England) or W01 (Wales) and six digits.
LSOA_PATTERN = re.compile(r"^[EW]01[0-9]{6}$")

_WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)  # 10, 9, ..., 2 on digits 1-9


def nhs_check_digit(first_nine: str) -> int | None:
    """Return the NHS number check digit for nine digits, or ``None`` if none is valid.

    Parameters
    ----------
    first_nine : str
        The first nine digits of an NHS number.

    Returns
    -------
    int or None
        The tenth digit, or ``None`` when the modulus-11 check gives 10 (no valid number).

    Examples
    --------
    >>> nhs_check_digit("999000001")
    8
    >>> nhs_check_digit("999000000") is None  # the check gives 10: no valid number
    True
    """
    if len(first_nine) != 9 or not first_nine.isdigit():
        raise ValueError("nhs_check_digit needs exactly nine digits")
    digits = np.frombuffer(first_nine.encode("ascii"), dtype=np.uint8) - ord("0")
    check = int(nhs_check_digits(digits.reshape(1, 9))[0])
    return None if check < 0 else check


def nhs_check_digits(digits: npt.NDArray[np.integer]) -> npt.NDArray[np.int64]:
    """Vectorised check digits for an ``(n, 9)`` array of digits; -1 where no number is valid.

    Parameters
    ----------
    digits : numpy.ndarray
        Integer array of shape ``(n, 9)`` holding the first nine digits of each number.

    Returns
    -------
    numpy.ndarray
        The check digit of each row, or -1 where the modulus-11 check gives 10.
    """
    total = (np.asarray(digits, dtype=np.int64) * _WEIGHTS).sum(axis=1)
    check = 11 - total % 11
    check = np.where(check == 11, 0, check)
    return np.where(check == 10, -1, check)


def is_valid_nhs_number(value: object) -> bool:
    """Say whether ``value`` is a well-formed NHS number with a correct check digit.

    Spaces and hyphens (the 3-3-4 display form) are ignored. Numbers made of one repeated digit
    are refused, as many NHS systems do.

    Parameters
    ----------
    value : object
        The candidate, usually a string.

    Returns
    -------
    bool
        True when the value is ten digits and the check digit matches.

    Examples
    --------
    >>> is_valid_nhs_number("999 000 0018")
    True
    >>> is_valid_nhs_number("9990000019")
    False
    """
    return bool(nhs_numbers_valid([None if value is None else str(value)])[0])


def nhs_numbers_valid(values: Iterable[object]) -> npt.NDArray[np.bool_]:
    """Vectorised :func:`is_valid_nhs_number` over many values.

    Parameters
    ----------
    values : iterable
        Candidates (strings; missing values are not valid).

    Returns
    -------
    numpy.ndarray
        One boolean per value.

    Examples
    --------
    >>> nhs_numbers_valid(["999 000 0018", "9990000019", None]).tolist()
    [True, False, False]
    """
    text = [str(v).replace(" ", "").replace("-", "") if isinstance(v, str) else "" for v in values]
    shaped = np.array([len(t) == 10 and t.isdigit() for t in text], dtype=bool)
    ok = np.zeros(len(text), dtype=bool)
    if shaped.any():
        joined = "".join(t for t, s in zip(text, shaped, strict=True) if s)
        digits = (np.frombuffer(joined.encode("ascii"), dtype=np.uint8) - ord("0")).reshape(-1, 10)
        repeated = (digits == digits[:, :1]).all(axis=1)
        ok[shaped] = (nhs_check_digits(digits[:, :9]) == digits[:, 9]) & ~repeated
    return ok


def postcode_district(postcode: str) -> str:
    """Return the outward code (postcode district) of a postcode, e.g. ``"LS6"`` for ``"LS6 1AB"``.

    Parameters
    ----------
    postcode : str
        A postcode with or without its space.

    Returns
    -------
    str
        The outward code, upper-cased.
    """
    text = postcode.strip().upper().replace(" ", "")
    return text[:-3]
