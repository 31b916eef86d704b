"""UK code lists the sources use: one place for the synthetic generator and the data contracts.

Each list is the published one (NHS Data Dictionary, HHSRS guidance, EPC register, HES data
dictionary); where the synthetic area uses a subset, the generator draws from these and the
contracts accept the whole list, so a real extract is not refused for a code the generator
happens not to use.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "ADMIMETH_CODES",
    "AGE_BANDS",
    "EMERGENCY_ADMIMETH",
    "EPC_BANDS",
    "ETHNIC_CATEGORY_LABEL",
    "ETHNIC_GROUP_OF",
    "HHSRS_BANDS",
    "HHSRS_CATEGORY_1_BANDS",
    "HHSRS_HAZARDS",
    "ICD10_PATTERN",
    "age_band",
]

#: NHS ethnic category codes with the labels housing systems carry (Z = not stated).
ETHNIC_CATEGORY_LABEL: dict[str, str] = {
    "A": "White - British", "B": "White - Irish", "C": "White - Any other White background",
    "D": "Mixed - White and Black Caribbean", "E": "Mixed - White and Black African",
    "F": "Mixed - White and Asian", "G": "Mixed - Any other mixed background",
    "H": "Asian or Asian British - Indian", "J": "Asian or Asian British - Pakistani",
    "K": "Asian or Asian British - Bangladeshi", "L": "Asian or Asian British - Any other Asian",
    "M": "Black or Black British - Caribbean", "N": "Black or Black British - African",
    "P": "Black or Black British - Any other Black", "R": "Other - Chinese",
    "S": "Other - Any other ethnic group", "Z": "Not stated",
}
#: The ONS five groups (plus not stated) each category belongs to.
ETHNIC_GROUP_OF: dict[str, str] = {
    **dict.fromkeys("ABC", "White"),
    **dict.fromkeys("DEFG", "Mixed"),
    **dict.fromkeys("HJKLR", "Asian"),
    **dict.fromkeys("MNP", "Black"),
    "S": "Other",
    "Z": "Not stated",
}

#: The 29 HHSRS hazards, as named in the hazard files.
HHSRS_HAZARDS: tuple[str, ...] = (
    "Damp and mould growth", "Excess cold", "Excess heat", "Asbestos and MMF", "Biocides",
    "Carbon monoxide and fuel combustion products", "Lead", "Radiation", "Uncombusted fuel gas",
    "Volatile organic compounds", "Crowding and space", "Entry by intruders", "Lighting", "Noise",
    "Domestic hygiene, pests and refuse", "Food safety",
    "Personal hygiene, sanitation and drainage", "Water supply", "Falls associated with baths etc",
    "Falling on level surfaces", "Falling on stairs etc", "Falling between levels",
    "Electrical hazards", "Fire", "Flames, hot surfaces etc", "Collision and entrapment",
    "Explosions", "Position and operability of amenities",
    "Structural collapse and falling elements",
)
#: HHSRS bands, A (most serious) to J.
HHSRS_BANDS: tuple[str, ...] = tuple("ABCDEFGHIJ")
#: Bands A-C are Category 1 hazards (score 1,000 or more): the council has a duty to act.
HHSRS_CATEGORY_1_BANDS: frozenset[str] = frozenset("ABC")

#: EPC energy-efficiency bands.
EPC_BANDS: tuple[str, ...] = tuple("ABCDEFG")

#: HES admission method codes (NHS Data Dictionary).
ADMIMETH_CODES: tuple[str, ...] = (
    "11", "12", "13",
    "21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28",
    "31", "32",
    "81", "82", "83",
    "98", "99",
)
#: The emergency admission methods.
EMERGENCY_ADMIMETH: frozenset[str] = frozenset(
    {"21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28"}
)

#: ICD-10 code as HES writes it: a letter, two digits, then a digit or X filler, optionally a
#: fifth character (e.g. ``J441``, ``I10X``, ``S0600``), no dot.
ICD10_PATTERN = r"^[A-Z][0-9]{2}[0-9X][0-9A-Z]?$"


# ---- age bands used in reports (data quality, opt-outs, linkage) ------------------------------

AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 15, "0-15"), (16, 39, "16-39"), (40, 64, "40-64"), (65, 200, "65+"))


def age_band(birth_year: pd.Series, year: int) -> pd.Series:
    """Return the report age band (:data:`AGE_BANDS`) of people born in ``birth_year``.

    Parameters
    ----------
    birth_year : pandas.Series
        Years of birth (numbers or text); missing or unparseable gives ``"not known"``.
    year : int
        The year the ages are taken in (age reached that year).

    Returns
    -------
    pandas.Series
        Band labels, same index.
    """
    age = year - pd.to_numeric(birth_year, errors="coerce")
    band = pd.Series("not known", index=birth_year.index, dtype="object")
    for low, high, label in AGE_BANDS:
        band[((age >= low) & (age <= high)).fillna(False).astype(bool)] = label
    return band
