"""Identifier noise: the ways names, dates of birth and addresses differ between records.

Each function takes clean values and a boolean mask of the rows to spoil, and returns the new
values. The callers record every spoiled row in ``truth/record_errors.parquet`` so tests can
check the configured rates and linkage can be evaluated error type by error type.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from risk_model.synth import names

__all__ = [
    "abbreviate_street",
    "hyphen_variant",
    "nickname",
    "swap_day_month",
    "transliterate",
    "typo",
    "typo_date",
]

StrArray = npt.NDArray[np.object_]
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_ABBREV = {
    "Road": "Rd", "Street": "St", "Avenue": "Ave", "Lane": "Ln", "Close": "Cl", "Drive": "Dr",
    "Crescent": "Cres", "Gardens": "Gdns", "Terrace": "Terr", "Place": "Pl", "Court": "Ct",
    "Grove": "Gr",
}


def _one_typo(s: str, r: np.random.Generator) -> str:
    if len(s) < 3:
        return s + s[-1:]
    i = int(r.integers(1, len(s) - 1))
    op = int(r.integers(0, 4))
    if op == 0:  # substitute
        c = _LETTERS[int(r.integers(0, 26))]
        c = c.upper() if s[i].isupper() else c
        return s[:i] + (c if c != s[i] else ("e" if s[i] != "e" else "a")) + s[i + 1 :]
    if op == 1:  # delete
        return s[:i] + s[i + 1 :]
    if op == 2 and s[i] != s[i + 1]:  # transpose
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    return s[:i] + s[i] + s[i:]  # double a letter


def typo(values: StrArray, mask: npt.NDArray[np.bool_], rng: np.random.Generator) -> StrArray:
    """Introduce one keyboard-style error (substitution, deletion, transposition, doubling).

    Parameters
    ----------
    values : numpy.ndarray
        Strings.
    mask : numpy.ndarray of bool
        Rows to spoil.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    numpy.ndarray
        A copy with the masked rows changed (always to a different string).
    """
    out = values.copy()
    for i in np.flatnonzero(mask):
        s = str(out[i])
        new = _one_typo(s, rng)
        out[i] = new if new != s else s + s[-1]
    return out


def _substitute(table: dict[str, list[str]], values: StrArray, mask: npt.NDArray[np.bool_],
                rng: np.random.Generator) -> tuple[StrArray, npt.NDArray[np.bool_]]:
    out = values.copy()
    changed = np.zeros(values.size, dtype=bool)
    for i in np.flatnonzero(mask):
        opts = table.get(str(out[i]))
        if opts:
            out[i] = opts[int(rng.integers(0, len(opts)))]
            changed[i] = True
    return out, changed


def nickname(values: StrArray, mask: npt.NDArray[np.bool_], rng: np.random.Generator
             ) -> tuple[StrArray, npt.NDArray[np.bool_]]:
    """Replace first names by a known-as form (William -> Bill) where one exists.

    Returns
    -------
    tuple
        The new values and the mask of rows actually changed.
    """
    return _substitute(names.NICKNAMES, values, mask, rng)


def transliterate(values: StrArray, mask: npt.NDArray[np.bool_], rng: np.random.Generator
                  ) -> tuple[StrArray, npt.NDArray[np.bool_]]:
    """Replace names by another romanisation (Mohammed -> Muhammad) where one is known.

    Returns
    -------
    tuple
        The new values and the mask of rows actually changed.
    """
    return _substitute(names.VARIANTS, values, mask, rng)


def hyphen_variant(first_part: StrArray, second_part: StrArray, rng: np.random.Generator
                   ) -> StrArray:
    """Write a double-barrelled surname another way: one part only, or a space not a hyphen."""
    k = first_part.size
    choice = rng.integers(0, 4, k)
    out = np.where(choice == 0, first_part,
                   np.where(choice == 1, second_part,
                            np.where(choice == 2, first_part + " " + second_part,
                                     first_part + second_part)))
    return out.astype(object)


def swap_day_month(days: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_]
                   ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Swap day and month of dates (days since 1970) where both are 12 or less and differ.

    Returns
    -------
    tuple
        New dates and the mask of rows actually changed.
    """
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = (d.astype("datetime64[M]") - y.astype("datetime64[M]")).astype(int) + 1
    dd = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1
    can = mask & (dd <= 12) & (dd != m)
    out = days.copy()
    if can.any():
        yy = y[can].astype(int) + 1970
        swapped = np.array(
            [f"{a:04d}-{b:02d}-{c:02d}" for a, b, c in zip(yy, dd[can], m[can], strict=True)],
            dtype="datetime64[D]",
        )
        out[can] = swapped.astype(np.int64)
    return out, can


def typo_date(days: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_],
              rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Mistype a date: the day out by up to nine or the year out by one or ten."""
    out = days.copy()
    k = int(mask.sum())
    shift = np.where(rng.random(k) < 0.6, rng.integers(1, 10, k) * rng.choice([-1, 1], k),
                     rng.choice([-3652, -365, 365, 3652], k))
    out[mask] = days[mask] + shift
    return out


def abbreviate_street(street: StrArray) -> StrArray:
    """Abbreviate the street suffix (Road -> Rd), as people often write it."""
    out = street.copy()
    for i, s in enumerate(out):
        head, _, tail = str(s).rpartition(" ")
        if tail in _ABBREV:
            out[i] = f"{head} {_ABBREV[tail]}"
    return out
