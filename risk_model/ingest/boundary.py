"""Cross the boundary: turn accepted landing rows into pseudonymised warehouse rows.

Each field is handled as its contract says (:mod:`risk_model.ingest.contracts`): identifiers
become keyed pseudonyms, quasi-identifiers are coarsened, addresses and postcodes are dropped or
cut to the district, free text is scrubbed. Nothing identifiable leaves this function.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from risk_model.ingest.contracts import Contract, Field
from risk_model.ingest.pseudonymise import (
    PseudonymKey,
    birth_year_month,
    normalise_name,
    phonetic_code,
    pseudonymise,
    scrub_free_text,
)

__all__ = ["key_columns", "to_warehouse", "warehouse_name"]


def warehouse_name(f: Field) -> str:
    """Return the warehouse column that carries field ``f`` (its key column if it splits)."""
    return {
        "nhs_number": "nhs_pseudo",
        "pseudonymise": f"{f.name.lower()}_pseudo",
        "forename": "forename_pseudo",
        "surname": "surname_pseudo",
        "dob": "dob_pseudo",
        "postcode": "postcode_district",
        "sex": "sex",
        "ethnicity": "ethnic_category",
    }.get(f.handling, f.name.lower())


def key_columns(contract: Contract) -> list[str]:
    """Return the warehouse columns that hold a contract's key."""
    return [warehouse_name(contract.field(k)) for k in contract.key]


def to_warehouse(frame: pd.DataFrame, contract: Contract, *, key: PseudonymKey,
                 known_names: Iterable[str] = ()) -> pd.DataFrame:
    """Turn a source's accepted rows into its warehouse rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        Accepted rows parsed to the contract's types, indexed by row position; a
        ``source_row`` column is added from the index (1-based, as in the landing file).
    contract : Contract
        The source's contract.
    key : PseudonymKey
        The pseudonymisation key.
    known_names : iterable of str
        Name words from the landing zone, for scrubbing free text.

    Returns
    -------
    pandas.DataFrame
        The warehouse columns: kept fields lower-cased, pseudonyms, coarsened
        quasi-identifiers, scrubbed text, and ``source_row``.
    """
    out: dict[str, pd.Series] = {}
    for f in contract.fields:
        values = frame[f.name]
        match f.handling:
            case "keep":
                out[f.name.lower()] = values
            case "drop":
                pass
            case "nhs_number":
                digits = values.str.replace(r"[ -]", "", regex=True)
                out["nhs_pseudo"] = pseudonymise(digits, key, domain="nhs_number")
            case "pseudonymise":
                out[f"{f.name.lower()}_pseudo"] = pseudonymise(
                    values, key, domain=f"{contract.source}.{f.name}")
            case "forename" | "surname":
                name = normalise_name(values)
                out[f"{f.handling}_pseudo"] = pseudonymise(name, key, domain=f.handling)
                out[f"{f.handling}_phonetic"] = pseudonymise(
                    phonetic_code(name), key, domain=f"{f.handling}_phonetic")
            case "dob":
                year, month = birth_year_month(values)
                out["birth_year"] = year
                out["birth_month"] = month
                out["dob_pseudo"] = pseudonymise(values.dt.strftime("%Y-%m-%d"), key,
                                                 domain="dob")
                # the same pseudonym of the date read the other way round (day and month
                # swapped, where that is a different valid date), so linkage can recognise the
                # commonest date-of-birth error without ever seeing a date
                day, mon = values.dt.day.astype("Int64"), values.dt.month.astype("Int64")
                swappable = ((day <= 12) & (day != mon)).fillna(False)
                swapped = (values.dt.strftime("%Y-") + day.astype("string").str.zfill(2)
                           + "-" + mon.astype("string").str.zfill(2))
                out["dob_swapped_pseudo"] = pseudonymise(swapped.where(swappable), key,
                                                         domain="dob")
            case "postcode":
                text = values.str.upper().str.replace(" ", "", regex=False)
                out["postcode_district"] = text.str.slice(0, -3).mask(text.isna())
            case "free_text":
                scrubbed, changed = scrub_free_text(values, known_names=known_names)
                out[f.name.lower()] = scrubbed
                out[f"{f.name.lower()}_scrubbed"] = changed
            case "sex" | "ethnicity":
                recoded = values.map(f.recode or {}, na_action="ignore").astype("string")
                out[warehouse_name(f)] = recoded.mask(recoded == "")
    result = pd.DataFrame(out, index=frame.index)
    result["source_row"] = (frame.index.to_numpy() + 1).astype("int64")
    return result.reset_index(drop=True)
