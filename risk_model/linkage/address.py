"""GP-registered addresses to gazetteer UPRNs, with uk-address-matcher.

This is the one linkage step that reads an address, so ingest runs it inside the boundary
(:mod:`risk_model.ingest.run`): it takes the landing rows, and only the UPRN, the match score,
whether the match was accepted and how it was made reach the warehouse, never the address.

Identical addresses (household members share one) are matched once, in three passes:

1. exact: the address, cleaned of case, punctuation, layout and street-type abbreviations, is
   exactly one gazetteer address at the same postcode;
2. fuzzy (:func:`_fuzzy_matches`, vectorised in DuckDB): at the same postcode, with the same
   numbers (flat and house), the letters are within :data:`FUZZY_MAX_EDITS` edits
   (Damerau-Levenshtein) of exactly one home's address, written in full, without the
   building's street number, or without the flat (a building with one flat). An address that
   is exactly the address of several homes (a building of several flats named without the
   flat number; a building name used twice at one postcode) is ambiguous by construction and
   left unmatched, without asking the matcher;
3. the rest go to the Ministry of Justice's ``uk-address-matcher`` (an exact stage, then its
   pretrained Splink model) in a throwaway in-memory DuckDB connection with its own memory
   limit and spill folder.

A UPRN a practice supplied is checked, not trusted: it is kept when the gazetteer knows it and
the matcher finds the same home; replaced when the matcher finds another home exactly, or
confidently while the supplied home is at another postcode than the row's; otherwise kept only
when its gazetteer postcode is the row's postcode.

The warehouse columns (``uprn_match_method`` values are :data:`METHODS`):

- ``uprn``: the accepted UPRN, null when no match was accepted;
- ``uprn_match_score``: the Splink match weight (log2 Bayes factor) of the best gazetteer
  candidate, :data:`EXACT_SCORE` for an exact match, or :data:`FUZZY_SCORE` less the number of
  edits for a fuzzy match; null when there was no candidate;
- ``uprn_match_accepted``: whether ``uprn`` holds a match;
- ``uprn_match_method``: how the row was decided;
- ``uprn_supplied``, ``uprn_supplied_valid``: whether the practice supplied a UPRN, and whether
  the gazetteer knows it.

The warehouse-only summary (:func:`summarise_address_matching`) and the quality against a
synthetic area's truth (:func:`address_matching_quality`) read the warehouse, never addresses.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from risk_model.codes import ETHNIC_GROUP_OF, age_band
from risk_model.disclosure import SuppressionRule, suppress_count, suppressed_rate
from risk_model.engine import column_names, table_names
from risk_model.errors import ConfigError, DataError

__all__ = [
    "ADDRESS_COLUMNS",
    "EXACT_SCORE",
    "FUZZY_MAX_EDITS",
    "FUZZY_SCORE",
    "GAZETTEER_COLUMNS",
    "MATCHING_RUNS_TABLE",
    "METHODS",
    "MatchSettings",
    "address_matching_quality",
    "match_addresses",
    "summarise_address_matching",
]

log = logging.getLogger(__name__)

#: Landing columns of a GP address row that :func:`match_addresses` reads.
ADDRESS_COLUMNS = ("ADDRESS_LINE_1", "ADDRESS_LINE_2", "ADDRESS_LINE_3", "ADDRESS_LINE_4",
                   "POSTCODE", "UPRN")
#: Landing columns of the gazetteer that :func:`match_addresses` reads.
GAZETTEER_COLUMNS = ("UPRN", "SAO_TEXT", "PAO_TEXT", "PAO_START_NUMBER", "STREET_DESCRIPTION",
                     "LOCALITY", "TOWN_NAME", "POSTCODE_LOCATOR")
#: ``uprn_match_score`` of an exact match (the matcher gives it no weight): a fixed value well
#: above the acceptance threshold; select exact matches by ``uprn_match_method``, not by score.
EXACT_SCORE = 50.0
#: ``uprn_match_score`` of a fuzzy match is this less the number of edits (so 28 to 30): well
#: above the acceptance threshold; select fuzzy matches by ``uprn_match_method``.
FUZZY_SCORE = 30.0
#: Most Damerau-Levenshtein edits (on the letters, numbers equal) for a fuzzy match.
FUZZY_MAX_EDITS = 2

#: Every ``uprn_match_method``, with its meaning.
METHODS: dict[str, str] = {
    "exact": "no UPRN supplied; the address is exactly a gazetteer address (accepted)",
    "fuzzy": "no UPRN supplied; at the same postcode and with the same numbers, the address "
             f"is within {FUZZY_MAX_EDITS} letter edits of exactly one home's (accepted)",
    "probabilistic": "no UPRN supplied; the Splink model's best candidate clears the "
                     "thresholds (accepted)",
    "supplied_confirmed": "the supplied UPRN is the home the matcher finds (accepted)",
    "supplied_corrected": "the matcher finds another home exactly, or confidently while the "
                          "supplied UPRN is at another postcode; its UPRN replaces the "
                          "supplied one (accepted)",
    "supplied_postcode": "the matcher does not override it, and the supplied UPRN is in the "
                         "gazetteer at the row's postcode (accepted)",
    "supplied_rejected": "the supplied UPRN is unknown or at another postcode and the matcher "
                         "is not confident (not accepted)",
    "unmatched": "no UPRN supplied and no candidate clears the thresholds, or the address is "
                 "exactly that of several homes (a building of several flats without the flat "
                 "number): ambiguous, so not asked of the matcher (not accepted)",
}
_ACCEPTED = ("exact", "fuzzy", "probabilistic", "supplied_confirmed", "supplied_corrected",
             "supplied_postcode")

#: Warehouse table of the matching's counts by method, per run and file (no UPRNs).
MATCHING_RUNS_TABLE = "address_matching_runs"

#: Common street-type abbreviations, spelt out before the exact join.
_STREET_TYPES = {
    "RD": "ROAD", "ST": "STREET", "AVE": "AVENUE", "AV": "AVENUE", "LN": "LANE",
    "CL": "CLOSE", "DR": "DRIVE", "CRES": "CRESCENT", "CRESC": "CRESCENT", "GDNS": "GARDENS",
    "TER": "TERRACE", "TERR": "TERRACE", "PL": "PLACE", "CT": "COURT", "GR": "GROVE",
    "GRO": "GROVE", "SQ": "SQUARE", "PK": "PARK", "GRN": "GREEN", "WLK": "WALK",
    "HTS": "HEIGHTS", "MDW": "MEADOW", "PDE": "PARADE", "BLDGS": "BUILDINGS",
}
_STREET_TYPE_PATTERN = r"\b(?:" + "|".join(sorted(_STREET_TYPES, key=len, reverse=True)) + r")\b"

_BAD_SETTING = "MatchSettings.{name} must be {allowed}, got {value!r}"
_MISSING_COLUMNS = "{what} lacks column(s) {columns}"


@dataclass(frozen=True)
class MatchSettings:
    """How addresses are matched and which matches are accepted.

    Parameters
    ----------
    min_match_weight : float, default 4.0
        A Splink candidate is accepted only if its match weight is at least this.
    min_distinguishability : float, default 2.0
        ... and if it beats the next best candidate by at least this much match weight (a lone
        candidate has no competitor and passes).
    memory_limit : str, default "4GB"
        DuckDB's ``memory_limit`` for the matching connection (it spills beyond it).
    threads : int, optional
        DuckDB threads; default DuckDB's own (the number of cores).
    temp_directory : pathlib.Path, optional
        Where DuckDB spills; default a fresh temporary folder, removed afterwards.
    search_outside_postcode : bool, default False
        Also look for candidates at other postcodes (the matcher's broader blocking rules):
        finds homes whose postcode was written wrongly, at many times the run time.
    log_stages : bool, default False
        Let uk-address-matcher log its stage boundaries (names and timings, no addresses).

    Raises
    ------
    ConfigError
        If a threshold is not a finite number, or ``threads`` is not a positive integer.
    """

    min_match_weight: float = 4.0
    min_distinguishability: float = 2.0
    memory_limit: str = "4GB"
    threads: int | None = None
    temp_directory: Path | None = None
    search_outside_postcode: bool = False
    log_stages: bool = False

    def __post_init__(self) -> None:
        for name in ("min_match_weight", "min_distinguishability"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(
                    value):
                raise ConfigError(_BAD_SETTING.format(name=name, allowed="a finite number",
                                                      value=value))
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(
                self.threads, int) or self.threads < 1):
            raise ConfigError(_BAD_SETTING.format(name="threads",
                                                  allowed="a whole number of at least 1",
                                                  value=self.threads))


def match_addresses(addresses: pd.DataFrame, gazetteer: pd.DataFrame, *,
                    settings: MatchSettings | None = None) -> pd.DataFrame:
    """Match GP-registered addresses to gazetteer UPRNs.

    Parameters
    ----------
    addresses : pandas.DataFrame
        One row per address row, with :data:`ADDRESS_COLUMNS` (``UPRN`` is the supplied UPRN,
        null where none was supplied).
    gazetteer : pandas.DataFrame
        One row per home, with :data:`GAZETTEER_COLUMNS`.
    settings : MatchSettings, optional
        Thresholds and resources; the defaults otherwise.

    Returns
    -------
    pandas.DataFrame
        Same index as ``addresses``, with ``uprn`` (Int64, null unless accepted),
        ``uprn_match_score`` (Float64, see the module docstring), ``uprn_match_accepted``
        (boolean), ``uprn_match_method`` (one of :data:`METHODS`), ``uprn_supplied`` and
        ``uprn_supplied_valid`` (boolean). No address text.

    Raises
    ------
    DataError
        If a required column is missing.
    """
    settings = settings or MatchSettings()
    _require(addresses, ADDRESS_COLUMNS, "the GP address rows")
    _require(gazetteer, GAZETTEER_COLUMNS, "the gazetteer")
    if addresses.empty:
        return pd.DataFrame({
            "uprn": pd.array([], dtype="Int64"), "uprn_match_score": pd.array([], "Float64"),
            "uprn_match_accepted": pd.array([], "boolean"),
            "uprn_match_method": pd.array([], "string"),
            "uprn_supplied": pd.array([], "boolean"),
            "uprn_supplied_valid": pd.array([], "boolean")}, index=addresses.index)
    t0 = time.perf_counter()
    messy = _messy_text(addresses)
    canonical = _canonical_text(gazetteer)
    # identical addresses are matched once
    keys = messy["address_concat"] + "|" + messy["postcode"].fillna("")
    codes, _ = pd.factorize(keys, sort=False)
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    distinct = messy.iloc[first].reset_index(drop=True)
    distinct["unique_id"] = np.arange(len(distinct), dtype="int64")
    best = _exact_matches(distinct, canonical)
    best["fuzzy"] = pd.array(np.zeros(len(best), dtype=bool), dtype="boolean")
    rest = best["candidate"].isna().to_numpy()
    t1 = time.perf_counter()
    fuzzy, ambiguous = _fuzzy_matches(distinct[rest], _home_keys(gazetteer))
    best.loc[fuzzy.index, list(fuzzy.columns)] = fuzzy
    n_exact, n_fuzzy = int((~rest).sum()), len(fuzzy)
    rest = rest & ~(distinct.index.isin(fuzzy.index) | distinct.index.isin(ambiguous))
    t2 = time.perf_counter()
    residual = distinct[rest].reset_index(drop=True)
    residual["unique_id"] = np.arange(len(residual), dtype="int64")
    found = _run_matcher(residual, canonical, settings)
    found.index = distinct.index[rest]
    found["fuzzy"] = pd.array(np.zeros(len(found), dtype=bool), dtype="boolean")
    best = pd.concat([best[~rest], found]).sort_index()
    log.info("address matching: %d distinct addresses, %d matched exactly, %d fuzzily and %d "
             "left unmatched as ambiguous (%.1f s) before the matcher, %d through "
             "uk-address-matcher in %.1f s", len(distinct), n_exact, n_fuzzy, len(ambiguous),
             t2 - t1, int(rest.sum()), time.perf_counter() - t2)
    per_row = best.reindex(codes)
    candidate = pd.array(per_row["candidate"].to_numpy(), dtype="Int64")
    score = pd.array(per_row["score"].to_numpy(), dtype="Float64")
    confident = per_row["confident"].fillna(False).to_numpy(dtype=bool)
    exact = per_row["exact"].fillna(False).to_numpy(dtype=bool)
    fuzzy_row = per_row["fuzzy"].fillna(False).to_numpy(dtype=bool)

    supplied = pd.array(pd.to_numeric(addresses["UPRN"], errors="coerce"), dtype="Int64")
    has_supplied = ~pd.isna(supplied)
    known_postcode = pd.Series(canonical["postcode"].to_numpy(),
                               index=canonical["unique_id"].to_numpy())
    supplied_postcode = pd.Series(supplied).map(known_postcode)
    valid = has_supplied & supplied_postcode.notna().to_numpy()
    same_postcode = valid & (
        supplied_postcode.astype("string").reset_index(drop=True)
        == messy["postcode"].astype("string").reset_index(drop=True)
    ).fillna(False).to_numpy(dtype=bool)
    agrees = valid & ~pd.isna(candidate) & (candidate == supplied).fillna(False).to_numpy(bool)

    method = np.full(len(addresses), "unmatched", dtype=object)
    method[~has_supplied & confident & exact] = "exact"
    method[~has_supplied & confident & ~exact & ~fuzzy_row] = "probabilistic"
    method[~has_supplied & confident & fuzzy_row] = "fuzzy"
    method[has_supplied] = "supplied_rejected"
    # within the supplied home's postcode the matcher may confuse flats: only an exact
    # address, or a confident (or fuzzy) match when the supplied home is at another postcode,
    # overrides
    overrides = confident & (exact | ~same_postcode)
    method[has_supplied & same_postcode & ~overrides] = "supplied_postcode"
    method[has_supplied & overrides & ~agrees] = "supplied_corrected"
    method[agrees] = "supplied_confirmed"
    accepted = np.isin(method, _ACCEPTED)
    uprn = pd.array(np.where(method == "supplied_postcode", supplied, candidate), dtype="Int64")
    uprn[~accepted] = pd.NA
    out = pd.DataFrame({
        "uprn": uprn,
        "uprn_match_score": score,
        "uprn_match_accepted": pd.array(accepted, dtype="boolean"),
        "uprn_match_method": pd.array(method, dtype="string"),
        "uprn_supplied": pd.array(has_supplied, dtype="boolean"),
        "uprn_supplied_valid": pd.array(valid, dtype="boolean"),
    }, index=addresses.index)
    log.info("matched %d address rows (%d distinct) to %d homes in %.1f s: %s",
             len(out), len(distinct), len(canonical), time.perf_counter() - t0,
             out["uprn_match_method"].value_counts().to_dict())
    return out


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(_MISSING_COLUMNS.format(what=what, columns=", ".join(missing)),
                        hint=f"pass the landing columns {', '.join(columns)}")


def _text(values: pd.Series) -> pd.Series:
    """Strings with blanks as null, outer spaces stripped."""
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _postcode(values: pd.Series) -> pd.Series:
    """Upper case with one space before the inward code (``QX11AA`` -> ``QX1 1AA``)."""
    text = _text(values).str.upper().str.replace(r"\s+", "", regex=True)
    return (text.str.slice(0, -3) + " " + text.str.slice(-3)).mask(text.str.len() < 5)


def _concat(parts: list[pd.Series]) -> pd.Series:
    """Address parts joined with commas, blanks skipped, upper case, spaces collapsed."""
    text = [_text(p).fillna("") for p in parts]
    joined = text[0].str.cat(text[1:], sep=", ").str.upper()
    joined = joined.str.replace(r"\s+", " ", regex=True)
    return joined.str.replace(r"(\s*,\s*)+", ", ", regex=True).str.strip(", ")


def _messy_text(addresses: pd.DataFrame) -> pd.DataFrame:
    concat = _concat([addresses[f"ADDRESS_LINE_{i}"] for i in range(1, 5)])
    return pd.DataFrame({"address_concat": concat.to_numpy(dtype=object),
                         "postcode": _postcode(addresses["POSTCODE"]).to_numpy(dtype=object)})


def _canonical_text(gazetteer: pd.DataFrame) -> pd.DataFrame:
    g = gazetteer.drop_duplicates("UPRN", keep="last")
    number = pd.to_numeric(g["PAO_START_NUMBER"], errors="coerce").astype("Int64")
    street = (number.astype("string").fillna("") + " "
              + _text(g["STREET_DESCRIPTION"]).fillna("")).str.strip()
    parts = pd.DataFrame({
        "sao": _text(g["SAO_TEXT"]), "pao": _text(g["PAO_TEXT"]),
        "street": street.mask(street == ""), "locality": _text(g["LOCALITY"]),
        "town": _text(g["TOWN_NAME"]),
    })
    concat = _concat([parts[c] for c in parts])
    named = (parts["sao"].notna() | parts["pao"].notna()) & number.notna()
    without = _concat([parts["sao"], parts["pao"], _text(g["STREET_DESCRIPTION"]),
                       parts["locality"], parts["town"]]).where(named)
    return pd.DataFrame({
        "unique_id": pd.to_numeric(g["UPRN"]).astype("int64").to_numpy(),
        "address_concat": concat.to_numpy(dtype=object),
        "postcode": _postcode(g["POSTCODE_LOCATOR"]).to_numpy(dtype=object),
        "address_without_number": without.to_numpy(dtype=object),
    })


def _exact_key(concat: pd.Series) -> pd.Series:
    """Letters and digits only, street types spelt out (``RD`` -> ``ROAD``), for exact joins."""
    words = concat.astype("string").str.upper().str.replace(r"[^A-Z0-9]+", " ", regex=True)
    words = words.str.replace(_STREET_TYPE_PATTERN, lambda m: _STREET_TYPES[m.group(0)],
                              regex=True)
    return words.str.strip()


def _exact_matches(messy: pd.DataFrame, canonical: pd.DataFrame) -> pd.DataFrame:
    """Match addresses equal to one gazetteer address at the same postcode.

    Layout, case, punctuation and street-type abbreviations are set aside. The rest (null
    ``candidate``) go on to :func:`_fuzzy_matches`, then the matcher. This is a cheaper,
    stricter form of the matcher's own exact stage, run first so that the matcher sees only
    the harder addresses.
    """
    forms = [canonical["address_concat"]]
    if "address_without_number" in canonical:  # a flat by its building's name, no number
        forms.append(canonical["address_without_number"])
    homes = pd.concat([pd.DataFrame({
        "key": _exact_key(form).to_numpy(object),
        "postcode": canonical["postcode"].to_numpy(dtype=object),
        "uprn": canonical["unique_id"].to_numpy()}) for form in forms], ignore_index=True)
    homes = homes[homes["postcode"].notna() & homes["key"].notna()].drop_duplicates()
    homes = homes[~homes.duplicated(["key", "postcode"], keep=False)]  # ambiguous: no
    rows = pd.DataFrame({"key": _exact_key(messy["address_concat"]).to_numpy(dtype=object),
                         "postcode": messy["postcode"].to_numpy(dtype=object)})
    uprn = rows.merge(homes, on=["key", "postcode"], how="left")["uprn"]
    hit = uprn.notna().to_numpy()
    return pd.DataFrame({
        "candidate": pd.array(uprn.to_numpy(), dtype="Int64"),
        "score": pd.Series(EXACT_SCORE, index=messy.index, dtype="Float64").where(hit),
        "exact": pd.array(hit, dtype="boolean"),
        "confident": pd.array(hit, dtype="boolean"),
        "margin": pd.array(np.full(len(rows), np.nan), dtype="Float64"),
    }, index=messy.index)


def _part_key(values: pd.Series) -> pd.Series:
    """:func:`_exact_key` of one address part, computed once per distinct value; blank as null."""
    text = _text(values)
    uniques = pd.Series(text.dropna().unique(), dtype="string")
    keys = pd.Series(_exact_key(uniques).to_numpy(object), index=uniques.to_numpy(object))
    out = text.map(keys)
    return out.mask(out == "").astype(object)


def _home_keys(gazetteer: pd.DataFrame) -> pd.DataFrame:
    """Per home: its postcode and the exact keys of its parts (flat, building, number, ...)."""
    g = gazetteer.drop_duplicates("UPRN", keep="last")
    number = pd.to_numeric(g["PAO_START_NUMBER"], errors="coerce").astype("Int64")
    return pd.DataFrame({
        "uprn": pd.to_numeric(g["UPRN"]).astype("int64").to_numpy(),
        "postcode": _postcode(g["POSTCODE_LOCATOR"]).to_numpy(dtype=object),
        "sao": _part_key(g["SAO_TEXT"]).to_numpy(object),
        "pao": _part_key(g["PAO_TEXT"]).to_numpy(object),
        "number": number.astype("string").astype(object).where(number.notna(), None).to_numpy(),
        "street": _part_key(g["STREET_DESCRIPTION"]).to_numpy(object),
        "locality": _part_key(g["LOCALITY"]).to_numpy(object),
        "town": _part_key(g["TOWN_NAME"]).to_numpy(object),
    })


def _fuzzy_matches(messy: pd.DataFrame, homes: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index]:
    """Match addresses within a few letter edits of exactly one home at the same postcode.

    Each home is written four ways (in full; without the building's street number; without
    the flat; without both), each as its exact key (:func:`_exact_key`) split into its numbers
    and its letters. An address is a candidate for a home when the postcode and the numbers are
    equal and the letters are within :data:`FUZZY_MAX_EDITS` Damerau-Levenshtein edits of one
    of its forms. With exactly one candidate home the address is matched (score
    :data:`FUZZY_SCORE` less the fewest edits). An address that is exactly (no edit) a form of
    several homes, such as a building of several flats named without the flat number, is
    ambiguous by construction: its index is returned apart, to be left unmatched. Any other
    address with several candidates is left to the matcher.

    Returns the matches (``candidate``, ``score``, ``exact``, ``confident``, ``margin``,
    ``fuzzy``, indexed like ``messy``) and the index of the ambiguous addresses.
    """
    empty = pd.DataFrame({"candidate": pd.array([], dtype="Int64"),
                          "score": pd.array([], dtype="Float64"),
                          "exact": pd.array([], dtype="boolean"),
                          "confident": pd.array([], dtype="boolean"),
                          "margin": pd.array([], dtype="Float64"),
                          "fuzzy": pd.array([], dtype="boolean")})
    if messy.empty or homes.empty:
        return empty, pd.Index([], dtype="int64")
    rows = pd.DataFrame({"row": np.arange(len(messy), dtype="int64"),
                         "key": _exact_key(messy["address_concat"]).to_numpy(dtype=object),
                         "postcode": messy["postcode"].to_numpy(dtype=object)})
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET preserve_insertion_order = false")
        con.register("rows_df", rows)
        con.register("homes_df", homes)
        found = con.execute(f"""
            WITH forms AS (
                SELECT uprn, postcode,
                       concat_ws(' ', sao, pao, number, street, locality, town) AS key
                FROM homes_df
                UNION
                SELECT uprn, postcode, concat_ws(' ', sao, pao, street, locality, town)
                FROM homes_df WHERE number IS NOT NULL AND (sao IS NOT NULL OR pao IS NOT NULL)
                UNION
                SELECT uprn, postcode, concat_ws(' ', pao, number, street, locality, town)
                FROM homes_df WHERE sao IS NOT NULL
                UNION
                SELECT uprn, postcode, concat_ws(' ', pao, street, locality, town)
                FROM homes_df WHERE sao IS NOT NULL AND pao IS NOT NULL AND number IS NOT NULL
            ),
            split_forms AS (
                SELECT uprn, postcode,
                       array_to_string(regexp_extract_all(key, '[0-9]+'), ' ') AS digits,
                       trim(regexp_replace(regexp_replace(key, '[0-9]+', ' ', 'g'),
                                           ' +', ' ', 'g')) AS letters
                FROM forms WHERE postcode IS NOT NULL AND key <> ''
            ),
            split_rows AS (
                SELECT row, postcode,
                       array_to_string(regexp_extract_all(key, '[0-9]+'), ' ') AS digits,
                       trim(regexp_replace(regexp_replace(key, '[0-9]+', ' ', 'g'),
                                           ' +', ' ', 'g')) AS letters
                FROM rows_df WHERE postcode IS NOT NULL AND key IS NOT NULL AND key <> ''
            ),
            pairs AS (
                SELECT r.row, f.uprn,
                       min(damerau_levenshtein(r.letters, f.letters)) AS edits
                FROM split_rows r
                JOIN split_forms f USING (postcode, digits)
                WHERE abs(length(r.letters) - length(f.letters)) <= {FUZZY_MAX_EDITS}
                  AND damerau_levenshtein(r.letters, f.letters) <= {FUZZY_MAX_EDITS}
                GROUP BY r.row, f.uprn
            )
            SELECT row, count(*) AS homes, count(*) FILTER (WHERE edits = 0) AS exactly,
                   min(uprn) AS uprn, min(edits) AS edits
            FROM pairs GROUP BY row
        """).df()
    finally:
        con.close()
    unique = found[found["homes"] == 1]
    ambiguous = found.loc[found["exactly"] >= 2, "row"].to_numpy(dtype="int64")
    index = messy.index[unique["row"].to_numpy(dtype="int64")]
    matches = pd.DataFrame({
        "candidate": pd.array(unique["uprn"].to_numpy(dtype="int64"), dtype="Int64"),
        "score": pd.array(FUZZY_SCORE - unique["edits"].to_numpy(dtype=float), dtype="Float64"),
        "exact": pd.array(np.zeros(len(unique), dtype=bool), dtype="boolean"),
        "confident": pd.array(np.ones(len(unique), dtype=bool), dtype="boolean"),
        "margin": pd.array(np.full(len(unique), np.nan), dtype="Float64"),
        "fuzzy": pd.array(np.ones(len(unique), dtype=bool), dtype="boolean"),
    }, index=index)
    return matches, messy.index[ambiguous]


def _run_matcher(messy: pd.DataFrame, canonical: pd.DataFrame,
                 settings: MatchSettings) -> pd.DataFrame:
    """Best candidate per distinct address: candidate, score, exact, confident."""
    from uk_address_matcher import AddressMatcher, ExactMatchStage, SplinkStage

    empty = pd.DataFrame({"candidate": pd.array([], dtype="Int64"),
                          "score": pd.array([], dtype="Float64"),
                          "exact": pd.array([], dtype="boolean"),
                          "confident": pd.array([], dtype="boolean")})
    if messy.empty or canonical.empty:
        return empty.reindex(range(len(messy)))
    with tempfile.TemporaryDirectory(prefix="risk-model-address-") as spill:
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"SET memory_limit = '{settings.memory_limit}'")
            con.execute(f"SET temp_directory = '{settings.temp_directory or spill}'")
            con.execute("SET preserve_insertion_order = false")
            if settings.threads:
                con.execute(f"SET threads = {int(settings.threads)}")
            canonical_rel = con.from_df(canonical[["unique_id", "address_concat", "postcode"]])
            messy_rel = con.from_df(messy[["unique_id", "address_concat", "postcode"]])
            stage = SplinkStage(
                final_match_weight_threshold=-20.0, final_distinguishability_threshold=None,
                include_full_postcode_block=True,
                include_outside_postcode_block=settings.search_outside_postcode)
            matcher = AddressMatcher(canonical_addresses=canonical_rel,
                                     addresses_to_match=messy_rel, con=con,
                                     stages=[ExactMatchStage(), stage],
                                     show_progress="stages" if settings.log_stages else "off")
            result = matcher.match()
            try:
                found = result.matches().select(
                    "unique_id, resolved_canonical_id, match_reason, match_weight, "
                    "distinguishability").df()
            finally:
                result.close()
        finally:
            con.close()
    found["unique_id"] = pd.to_numeric(found["unique_id"]).astype("int64")
    found = found.drop_duplicates("unique_id").set_index("unique_id")
    exact = found["match_weight"].isna() & found["resolved_canonical_id"].notna()
    exact &= found["match_reason"].astype("string").str.contains("exact", case=False)
    score = found["match_weight"].astype("Float64").mask(exact, EXACT_SCORE)
    distinct = found["distinguishability"].astype("Float64")
    confident = exact | ((score >= settings.min_match_weight)
                         & (distinct.isna() | (distinct >= settings.min_distinguishability))
                         ).fillna(False)
    best = pd.DataFrame({
        "candidate": pd.array(pd.to_numeric(found["resolved_canonical_id"], errors="coerce"),
                              dtype="Int64"),
        "score": score,
        "exact": pd.array(exact.to_numpy(), dtype="boolean"),
        "confident": pd.array(confident.to_numpy(dtype=bool), dtype="boolean"),
        "margin": distinct,
    }, index=found.index)
    return best.reindex(range(len(messy)))


# ---- reporting -------------------------------------------------------------------------

def summarise_address_matching(con: duckdb.DuckDBPyConnection, *, as_of: date | None = None,
                               rule: SuppressionRule | None = None) -> dict[str, Any]:
    """Summarise the address matching from the warehouse alone (no truth, no addresses).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection to the warehouse (``gp_registrations`` and ``gazetteer``).
    as_of : datetime.date, optional
        The day ages are taken at; default the latest ingest's ``as_of``, else today.
    rule : SuppressionRule, optional
        The small-number rule: a step passes :func:`~risk_model.disclosure.rule_for` of its
        workspace; ``None`` means NHS Digital's.

    Returns
    -------
    dict
        JSON-ready: ``rows``, ``rows_by_method``, ``match_rate``, then ``unmatched_by_tenure``,
        ``unmatched_by_area`` (postcode district), ``unmatched_by_ethnic_group`` and
        ``unmatched_by_age_band``, each ``{group: {"rows", "unmatched", "unmatched_rate"}}``,
        ``suppression`` (the rule) and ``notes``. Counts pass through
        :func:`risk_model.disclosure.suppress_count` and rates through
        :func:`~risk_model.disclosure.suppressed_rate`. An unmatched row has no UPRN,
        so its tenure is estimated: the most common tenure of the gazetteer's homes in its
        postcode district (``notes`` says so).

    Raises
    ------
    DataError
        If the warehouse has no matched ``gp_registrations`` table.
    """
    rule = rule or SuppressionRule()
    tables = table_names(con)
    if "gp_registrations" not in tables or \
            "uprn_match_method" not in column_names(con, "gp_registrations"):
        raise DataError("the warehouse has no gp_registrations with address matches",
                        hint="run `risk-model ingest` on a landing zone with gp_registrations")
    if as_of is None:
        as_of = date.today()
        if "ingest_runs" in tables:
            latest = con.execute("SELECT max(as_of) FROM ingest_runs").fetchone()
            if latest and latest[0] is not None:
                as_of = pd.Timestamp(latest[0]).date()
    has_gazetteer = "gazetteer" in tables
    tenure_sql = "CAST(NULL AS VARCHAR)"
    joins = ""
    if has_gazetteer:
        joins = """
            LEFT JOIN gazetteer g ON g.uprn = r.uprn
            LEFT JOIN (SELECT postcode_district, mode(tenure) AS tenure FROM gazetteer
                       GROUP BY postcode_district) d ON d.postcode_district = r.postcode_district
        """
        tenure_sql = "CASE WHEN r.uprn_match_accepted THEN g.tenure ELSE d.tenure END"
    rows = con.execute(f"""
        SELECT r.uprn_match_method AS method, r.uprn_match_accepted AS accepted,
               r.postcode_district, r.ethnic_category, r.birth_year,
               {tenure_sql} AS tenure
        FROM gp_registrations r {joins}
    """).df()
    accepted = rows["accepted"].fillna(False).astype(bool)
    groups = {
        "tenure": rows["tenure"].astype("object").fillna("not known"),
        "area": rows["postcode_district"].astype("object").fillna("not known"),
        "ethnic_group": rows["ethnic_category"].map(
            ETHNIC_GROUP_OF, na_action="ignore").astype("object").fillna("Not stated"),
        "age_band": age_band(rows["birth_year"], as_of.year),
    }
    methods = rows["method"].value_counts()
    summary: dict[str, Any] = {
        "rows": suppress_count(len(rows), rule),
        "rows_by_method": {m: suppress_count(int(methods.get(m, 0)), rule) for m in METHODS},
        "match_rate": suppressed_rate(int(accepted.sum()), len(rows), rule),
    }
    for name, labels in groups.items():
        table = pd.DataFrame({"label": labels.to_numpy(), "unmatched": (~accepted).to_numpy()})
        by = table.groupby("label")["unmatched"].agg(["size", "sum"])
        summary[f"unmatched_by_{name}"] = {
            str(label): {"rows": suppress_count(int(r["size"]), rule),
                         "unmatched": suppress_count(int(r["sum"]), rule),
                         "unmatched_rate": suppressed_rate(int(r["sum"]), int(r["size"]), rule)}
            for label, r in by.iterrows()}
    summary["suppression"] = rule.to_dict()
    summary["notes"] = [
        "unmatched_by_tenure: an unmatched row has no UPRN, so its tenure is estimated as the "
        "most common tenure of the gazetteer's homes in its postcode district; a matched row's "
        "is its home's",
        rule.describe() + " Rates are from the unrounded counts.",
        f"age bands at {as_of.isoformat()}",
    ]
    return summary


def address_matching_quality(con: duckdb.DuckDBPyConnection,
                             truth_dir: Path) -> dict[str, Any] | None:
    """Match rate and precision of the address matching against a synthetic area's truth.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection to the warehouse (``gp_registrations``).
    truth_dir : pathlib.Path
        The synthetic area's ``truth/`` folder (``record_identity.parquet``, ``homes.parquet``).

    Returns
    -------
    dict or None
        ``None`` without a truth folder. Otherwise JSON-ready ``overall``, ``by_tenure`` (the
        true home's tenure) and ``by_method``, each with ``rows``, ``accepted``, ``correct``,
        ``match_rate`` (accepted / rows), ``precision`` (correct / accepted) and ``recall``
        (correct / rows), plus the ``goal`` and whether it is ``met``. The truth is synthetic,
        so counts are not suppressed.
    """
    identity = Path(truth_dir) / "record_identity.parquet"
    if not identity.exists():
        return None
    homes = Path(truth_dir) / "homes.parquet"
    truth = pd.read_parquet(identity, columns=["source", "row_number", "uprn"])
    truth = truth.loc[truth["source"] == "gp_registrations", ["row_number", "uprn"]]
    homes = Path(truth_dir) / "homes.parquet"
    tenure = (pd.read_parquet(homes, columns=["uprn", "tenure"]) if homes.exists()
              else pd.DataFrame({"uprn": pd.Series([], dtype="Int64"),
                                 "tenure": pd.Series([], dtype="object")}))
    con.register("_truth_gp", truth)
    con.register("_truth_homes", tenure)
    try:
        rows = con.execute("""
            SELECT r.uprn_match_method AS method,
                   coalesce(r.uprn_match_accepted, false) AS accepted,
                   coalesce(r.uprn_match_accepted AND r.uprn = t.uprn, false) AS correct,
                   coalesce(h.tenure, 'not known') AS tenure
            FROM gp_registrations r
            JOIN _truth_gp t ON t.row_number = r.source_row
            LEFT JOIN _truth_homes h ON h.uprn = t.uprn
        """).df()
    finally:
        con.unregister("_truth_gp")
        con.unregister("_truth_homes")

    def figures(frame: pd.DataFrame) -> dict[str, Any]:
        n, acc, ok = len(frame), int(frame["accepted"].sum()), int(frame["correct"].sum())
        return {"rows": n, "accepted": acc, "correct": ok,
                "match_rate": round(acc / n, 4) if n else None,
                "precision": round(ok / acc, 4) if acc else None,
                "recall": round(ok / n, 4) if n else None}

    overall = figures(rows)
    goal = {"precision": 0.99, "match_rate": 0.95}
    return {
        "overall": overall,
        "by_tenure": {str(k): figures(g) for k, g in rows.groupby("tenure")},
        "by_method": {str(k): figures(g) for k, g in rows.groupby("method")},
        "goal": goal,
        "met": bool(overall["rows"]) and (overall["precision"] or 0) >= goal["precision"]
        and (overall["match_rate"] or 0) >= goal["match_rate"],
        "notes": ["against truth/record_identity (the home each GP address row describes); "
                  "synthetic data, so counts are not suppressed"],
    }


