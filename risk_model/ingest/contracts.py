"""Data contracts: one per landing source, declared as data and turned into pandera schemas.

A :class:`Contract` says what a source's file must hold: its columns (each a :class:`Field` with
its meaning, type, rule and how it crosses the boundary), its key, the date orders that must hold
within a row, and the references it makes to other sources. :func:`contract_schema` turns the
row-level rules into a ``pandera`` schema; :mod:`risk_model.ingest.validate` runs it and turns
failures into quarantine records. ``docs/data-contracts.md`` is generated from these
declarations (:mod:`risk_model.ingest.documentation`), so the documentation cannot drift.

How a field crosses the boundary (``handling``):

- ``keep``: into the warehouse as it is (column name lower-cased);
- ``drop``: never leaves the landing zone (addresses, which are resolved to UPRNs instead);
- ``pseudonymise``: replaced by a keyed pseudonym (``<name>_pseudo``);
- ``nhs_number``: replaced by ``nhs_pseudo``;
- ``forename`` / ``surname``: replaced by pseudonyms of the normalised name and of its
  phonetic code (``forename_pseudo``, ``forename_phonetic``);
- ``dob``: replaced by ``birth_year``, ``birth_month`` and ``dob_pseudo``;
- ``postcode``: replaced by ``postcode_district`` (the outward code);
- ``free_text``: scrubbed of names, NHS numbers, phone numbers and e-mails;
- ``sex`` / ``ethnicity``: recoded to one coding across sources (``F``/``M``; NHS letters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa

from risk_model.codes import (
    ADMIMETH_CODES,
    EPC_BANDS,
    ETHNIC_CATEGORY_LABEL,
    HHSRS_BANDS,
    HHSRS_HAZARDS,
    ICD10_PATTERN,
)
from risk_model.identifiers import LSOA_PATTERN, POSTCODE_PATTERN, nhs_numbers_valid

__all__ = [
    "CONTRACTS",
    "INGEST_ORDER",
    "RULE_HINTS",
    "Contract",
    "Field",
    "Reference",
    "contract_schema",
    "source_of_file",
]

Kind = Literal["text", "int", "decimal", "date", "bool"]
Handling = Literal[
    "keep", "drop", "pseudonymise", "nhs_number", "forename", "surname", "dob", "postcode",
    "free_text", "sex", "ethnicity",
]
#: Handlings whose values are identifiers: never shown in quarantine or reports.
IDENTIFYING: frozenset[str] = frozenset(
    {"drop", "pseudonymise", "nhs_number", "forename", "surname", "dob", "postcode", "free_text"}
)

#: Earliest plausible date of birth and of any event.
EARLIEST_BIRTH = pd.Timestamp("1880-01-01")
EARLIEST_EVENT = pd.Timestamp("1900-01-01")


@dataclass(frozen=True)
class Field:
    """One column of a landing file: its meaning, type, rule and handling.

    Parameters
    ----------
    name : str
        Column name in the landing file.
    kind : {"text", "int", "decimal", "date", "bool"}
        The type the value is parsed to.
    meaning : str
        What the value is, in plain English (for the generated documentation).
    nullable : bool
        Whether a value may be missing.
    codes : tuple of str, optional
        The allowed values (text fields).
    pattern : str, optional
        A regular expression text values must match.
    check : str, optional
        A named rule: ``nhs_number``, ``postcode``, ``uprn``, ``birth_date``, ``event_date``.
    minimum, maximum : float, optional
        Allowed range of a number.
    sentinel : str, optional
        A text the source uses for "missing" (the EPC register's ``NO DATA!``).
    handling : str
        How the field crosses the boundary (module docstring).
    recode : mapping, optional
        For ``sex`` and ``ethnicity``: the source's codes to the warehouse coding.
    """

    name: str
    kind: Kind
    meaning: str
    nullable: bool = True
    codes: tuple[str, ...] | None = None
    pattern: str | None = None
    check: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    sentinel: str | None = None
    handling: Handling = "keep"
    recode: Mapping[str, str] | None = None

    @property
    def identifying(self) -> bool:
        """Whether the value is an identifier that must never be shown outside the landing."""
        return self.handling in IDENTIFYING

    @property
    def rule(self) -> str:
        """The field's rule in words, for the generated documentation."""
        parts = [] if self.nullable else ["required"]
        if self.codes is not None:
            shown = ", ".join(f"`{c}`" for c in self.codes[:12])
            parts.append(f"one of {shown}" + (", ..." if len(self.codes) > 12 else ""))
        if self.pattern is not None:
            parts.append(f"matches `{self.pattern}`")
        if self.check is not None:
            parts.append(_CHECK_WORDS[self.check])
        if self.minimum is not None or self.maximum is not None:
            parts.append(f"from {_num(self.minimum)} to {_num(self.maximum)}")
        if self.sentinel is not None:
            parts.append(f"`{self.sentinel}` means missing")
        return "; ".join(parts) or "any value"


@dataclass(frozen=True)
class Reference:
    """A column whose values must exist as a key of another source."""

    column: str
    source: str
    target: str


@dataclass(frozen=True)
class Contract:
    """The data contract of one landing source.

    Parameters
    ----------
    source : str
        Source name: the landing file's stem, and the warehouse table's name.
    owner : str
        Who supplies it.
    description : str
        One row per what, in plain English.
    fields : tuple of Field
        The columns, all required to be present in the file.
    key : tuple of str
        Columns that identify a row: unique within a file, and the key a later extract's row
        replaces an earlier one's by. A natural key (what a later extract repeats), not a row
        number of one extract.
    date_order : tuple of (str, str)
        Pairs ``(earlier, later)``: where both are present, ``later`` must not be before
        ``earlier`` (end after start; events not before birth).
    references : tuple of Reference
        Values that must exist in another source (referential integrity).
    health : bool
        Health data about a person: subject to the national data opt-out.
    snapshot : bool
        Each extract is the whole list (opt-outs, reference tables): it replaces the previous one
        instead of adding to it.
    frequency : str
        How often an extract arrives ("monthly", "whole list monthly", ...).
    purpose : str
        Why risk_model uses the source, in plain English (for the data dictionary).
    legal_basis : str
        The purpose's legal basis as the data sharing agreement records it: the UK GDPR
        Article 6 basis and, for health data, the Article 9 condition, the common-law duty of
        confidentiality route and the national data opt-out.
    """

    source: str
    owner: str
    description: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    date_order: tuple[tuple[str, str], ...] = ()
    references: tuple[Reference, ...] = ()
    health: bool = False
    snapshot: bool = False
    frequency: str = ""
    purpose: str = ""
    legal_basis: str = ""
    _by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    @property
    def columns(self) -> list[str]:
        """The column names, in order."""
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        """Return the field called ``name``."""
        return self._by_name[name]


# --------------------------------------------------------------------------------------------
# Rules: names, hints and the checks that implement them
# --------------------------------------------------------------------------------------------

#: The fix hint for each rule a quarantine record can carry.
RULE_HINTS: dict[str, str] = {
    "missing_value": "fill in the value; this field is required",
    "not_a_date": "write dates as YYYY-MM-DD",
    "not_a_whole_number": "write a whole number with digits only",
    "not_a_number": "write a number with digits and at most one decimal point",
    "not_true_false": "write True or False",
    "code_not_allowed": "use one of the codes listed in docs/data-contracts.md for this field",
    "pattern": "correct the value's format (docs/data-contracts.md shows the pattern)",
    "out_of_range": "correct the value; it is outside the allowed range",
    "nhs_number_check_digit": "correct the NHS number (10 digits whose last is the "
    "modulus-11 check digit), or leave it empty if unknown",
    "postcode_shape": "write a full UK postcode, e.g. `LS6 1AB`",
    "uprn_shape": "write the UPRN as a whole number of 1 to 12 digits",
    "date_in_future": "correct the date; it is after the day of the ingest",
    "date_too_early": "correct the date; it is implausibly early",
    "date_order": "correct the dates; the later one is before the earlier one "
    "(an end before its start, or an event before birth)",
    "duplicate_key": "remove the repeated row or give it its own key; the first row with this "
    "key was kept",
    "unknown_reference": "the referenced record is missing from its source or was quarantined: "
    "supply or fix it, then ingest again",
}

_CHECK_WORDS = {
    "nhs_number": "10 digits with a valid modulus-11 check digit",
    "postcode": "a UK postcode",
    "uprn": "a whole number of 1 to 12 digits",
    "birth_date": "from 1880-01-01, not in the future",
    "event_date": "from 1900-01-01, not in the future",
}


def _num(value: float | None) -> str:
    if value is None:
        return "any"
    return f"{value:g}"


def _nhs_valid(values: pd.Series) -> pd.Series:
    return pd.Series(nhs_numbers_valid(values.astype(object).where(values.notna(), None)),
                     index=values.index)


def _column_checks(f: Field, today: pd.Timestamp) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if f.codes is not None:
        checks.append(pa.Check.isin(list(f.codes), error="code_not_allowed"))
    if f.pattern is not None:
        checks.append(pa.Check.str_matches(f"^(?:{f.pattern})$", error="pattern"))
    if f.check == "nhs_number":
        checks.append(pa.Check(_nhs_valid, name="nhs_number_check_digit"))
    elif f.check == "postcode":
        checks.append(
            pa.Check(
                lambda s: s.str.upper().str.strip().str.fullmatch(POSTCODE_PATTERN.pattern),
                name="postcode_shape",
            )
        )
    elif f.check == "uprn":
        checks.append(pa.Check.in_range(1, 999_999_999_999, error="uprn_shape"))
    elif f.check in ("birth_date", "event_date"):
        earliest = EARLIEST_BIRTH if f.check == "birth_date" else EARLIEST_EVENT
        checks.append(pa.Check.le(today, error="date_in_future"))
        checks.append(pa.Check.ge(earliest, error="date_too_early"))
    if f.minimum is not None or f.maximum is not None:
        low = -np.inf if f.minimum is None else f.minimum
        high = np.inf if f.maximum is None else f.maximum
        checks.append(pa.Check.in_range(low, high, error="out_of_range"))
    return checks


_DTYPES = {"text": "string", "int": "Int64", "decimal": "Float64", "date": "datetime64[us]",
           "bool": "boolean"}


def contract_schema(contract: Contract, *, today: date) -> pa.DataFrameSchema:
    """Build the pandera schema of a contract's row-level rules.

    The frame it validates is already parsed to the contract's types (``validate.parse``):
    values that could not be parsed are missing there and were reported by the parser.

    Parameters
    ----------
    contract : Contract
        The source's contract.
    today : datetime.date
        The day of the ingest: no date may be after it.

    Returns
    -------
    pandera.pandas.DataFrameSchema
        Column checks named by rule (see :data:`RULE_HINTS`), the key's uniqueness (the first
        row with a key is kept) and the date orders as row-wise checks.
    """
    stamp = pd.Timestamp(today)
    columns = {
        f.name: pa.Column(
            _DTYPES[f.kind], checks=_column_checks(f, stamp), nullable=f.nullable, coerce=False
        )
        for f in contract.fields
    }
    frame_checks = [
        pa.Check(
            lambda df, a=earlier, b=later: ~(df[b] < df[a]).fillna(False).astype(bool),
            name=f"date_order:{earlier}:{later}",
        )
        for earlier, later in contract.date_order
    ]
    return pa.DataFrameSchema(
        columns,
        checks=frame_checks,
        unique=list(contract.key),
        report_duplicates="exclude_first",
        strict=False,
        name=contract.source,
    )


# --------------------------------------------------------------------------------------------
# Field shorthands
# --------------------------------------------------------------------------------------------


def _text(name: str, meaning: str, **kw: object) -> Field:
    return Field(name, "text", meaning, **kw)  # type: ignore[arg-type]


def _date(name: str, meaning: str, *, birth: bool = False, **kw: object) -> Field:
    return Field(name, "date", meaning, check="birth_date" if birth else "event_date",
                 **kw)  # type: ignore[arg-type]


def _int(name: str, meaning: str, **kw: object) -> Field:
    return Field(name, "int", meaning, **kw)  # type: ignore[arg-type]


def _bool(name: str, meaning: str, **kw: object) -> Field:
    return Field(name, "bool", meaning, **kw)  # type: ignore[arg-type]


def _uprn(name: str = "UPRN", meaning: str = "Unique property reference of the home",
          **kw: object) -> Field:
    return Field(name, "int", meaning, check="uprn", **{"nullable": False, **kw})  # type: ignore[arg-type]


def _nhs(name: str = "NHS_NUMBER", *, nullable: bool = False) -> Field:
    return Field(name, "text", "NHS number of the person", nullable=nullable, check="nhs_number",
                 handling="nhs_number")


_HAZARD = _text("HAZARD", "HHSRS hazard found", nullable=False, codes=HHSRS_HAZARDS)
_HAZARD_SCORE = _int("HAZARD_SCORE", "HHSRS hazard score", nullable=False, minimum=0,
                     maximum=100_000)
_HAZARD_BAND = _text("HAZARD_BAND", "HHSRS band, A (most serious) to J; A-C are Category 1",
                     nullable=False, codes=HHSRS_BANDS)
_ETHNIC_CODES = (*ETHNIC_CATEGORY_LABEL, "X", "99")
_ETHNIC_LETTER = {c: c for c in ETHNIC_CATEGORY_LABEL} | {"X": "Z", "99": "Z"}
_SEX_NUMERIC = {"1": "M", "2": "F", "0": "", "9": ""}
_TENURE = ("Owner occupied", "Private rented", "Social rented (council)",
           "Social rented (housing association)")
_NO_DATA = "NO DATA!"

# --------------------------------------------------------------------------------------------
# The contracts
# --------------------------------------------------------------------------------------------

_GP_DATES = (("DATE_OF_BIRTH", "REGISTRATION_DATE"), ("REGISTRATION_DATE", "DEREGISTRATION_DATE"),
             ("DATE_OF_BIRTH", "ADDRESS_FROM"), ("ADDRESS_FROM", "ADDRESS_TO"))

# Governance text for the data dictionary, as the data sharing agreement records it. Phrases
# shared by several sources are kept once here; each contract below states its own purpose.
_DSA = "shared under the data sharing agreement between the ICB, the council and the landlords"
_NHS_BASIS = (
    "UK GDPR Article 6(1)(e) public task; Article 9(2)(h) health or social care; common-law "
    "duty of confidentiality met by section 251 support (NHS Act 2006) for risk stratification, "
    "with identifiers pseudonymised at the boundary and the national data opt-out applied; "
    + _DSA
)
_COUNCIL_BASIS = (
    "UK GDPR Article 6(1)(e) public task (Housing Act 2004 duties to review housing conditions "
    "and act on hazards); " + _DSA
)
_LANDLORD_BASIS = (
    "UK GDPR Article 6(1)(e) public task for a council landlord, Article 6(1)(c) legal obligation "
    "or 6(1)(f) legitimate interests for a housing association (Housing Act 2004 duties, "
    "Awaab's Law for damp and mould); " + _DSA
)
_ETHNICITY_BASIS = (
    "ethnic origin is special category data, kept only for fairness audits under Article "
    "9(2)(g) substantial public interest (Data Protection Act 2018, Schedule 1, paragraph 8, "
    "equality of opportunity or treatment)"
)

CONTRACTS: dict[str, Contract] = {
    c.source: c
    for c in (
        Contract(
            "gazetteer", "Council (property)",
            "One row per home (every UPRN, occupied or empty): the local address gazetteer.",
            (
                _uprn(),
                _text("SAO_TEXT", "Secondary addressable object (flat)", handling="drop"),
                _text("PAO_TEXT", "Building name", handling="drop"),
                _int("PAO_START_NUMBER", "Street number", handling="drop"),
                _text("STREET_DESCRIPTION", "Street name", handling="drop"),
                _text("LOCALITY", "Locality", handling="drop"),
                _text("TOWN_NAME", "Town", handling="drop"),
                _text("POSTCODE_LOCATOR", "Postcode of the home", check="postcode",
                      nullable=False, handling="postcode"),
                _text("CLASSIFICATION_CODE", "AddressBase class (RD02 detached house or "
                      "bungalow, RD03 semi-detached, RD04 terraced, RD06 flat)",
                      pattern=r"R[A-Z][0-9]{2}"),
                _text("LSOA_CODE", "LSOA of the home", nullable=False,
                      pattern=LSOA_PATTERN.pattern),
                _text("TENURE", "The council's tenure flag", codes=_TENURE),
            ),
            key=("UPRN",),
            references=(Reference("LSOA_CODE", "lsoa_imd", "LSOA_CODE"),),
            frequency="monthly",
            purpose=("To place every resident's home: the UPRN that ties people to housing "
                     "records, and the tenure, kind of building and neighbourhood (LSOA) of each "
                     "home."),
            legal_basis=("UK GDPR Article 6(1)(e) public task (the council's address gazetteer; "
                         "Housing Act 2004 duties); addresses only, no names; " + _DSA),
        ),
        Contract(
            "epc_certificates", "Council (national EPC register)",
            "One row per domestic energy performance certificate.",
            (
                _text("LMK_KEY", "Certificate identifier", nullable=False),
                _text("ADDRESS1", "Address line 1", handling="drop"),
                _text("ADDRESS2", "Address line 2", handling="drop"),
                _text("POSTCODE", "Postcode", check="postcode", handling="postcode"),
                _uprn(nullable=True, meaning="UPRN of the home; may be missing"),
                _date("LODGEMENT_DATE", "Date the certificate was lodged", nullable=False),
                _text("PROPERTY_TYPE", "House, Flat, Maisonette, Bungalow or Park home",
                      codes=("House", "Flat", "Maisonette", "Bungalow", "Park home"),
                      sentinel=_NO_DATA),
                _text("BUILT_FORM", "Built form", sentinel=_NO_DATA,
                      codes=("Detached", "Semi-Detached", "Mid-Terrace", "End-Terrace",
                             "Enclosed Mid-Terrace", "Enclosed End-Terrace")),
                _text("CONSTRUCTION_AGE_BAND", "Construction age band", sentinel=_NO_DATA),
                Field("TOTAL_FLOOR_AREA", "decimal", "Total floor area in square metres",
                      minimum=1, maximum=5_000, sentinel=_NO_DATA),
                _int("NUMBER_HABITABLE_ROOMS", "Habitable rooms", minimum=0, maximum=100),
                _text("CURRENT_ENERGY_RATING", "EPC band A-G", nullable=False, codes=EPC_BANDS),
                _int("CURRENT_ENERGY_EFFICIENCY", "SAP score", nullable=False, minimum=1,
                     maximum=150),
                _text("MAINS_GAS_FLAG", "Y if heated by mains gas", codes=("Y", "N"),
                      sentinel=_NO_DATA),
                _text("MAIN_FUEL", "Main heating fuel", sentinel=_NO_DATA),
                _text("MAINHEAT_DESCRIPTION", "Main heating system", sentinel=_NO_DATA),
                _text("WALLS_DESCRIPTION", "Walls and their insulation", sentinel=_NO_DATA),
                _text("TENURE", "Tenure on the certificate", sentinel=_NO_DATA,
                      codes=("Owner-occupied", "Rented (private)", "Rented (social)")),
            ),
            key=("LMK_KEY",),
            references=(Reference("UPRN", "gazetteer", "UPRN"),),
            frequency="quarterly",
            purpose=("For the energy efficiency (EPC band, SAP score), age and size of a home: "
                     "features a retrofit could change, and an estimate of bedrooms where no "
                     "tenancy records them."),
            legal_basis=("The EPC register is public under the Energy Performance of Buildings "
                         "Regulations 2012 (Open Government Licence); linked to a resident's home "
                         "it is personal data, used under UK GDPR Article 6(1)(e) public task "
                         "(Housing Act 2004 duties); " + _DSA),
        ),
        Contract(
            "private_sector_inspections", "Council (private sector housing)",
            "One row per HHSRS inspection of a private rented home.",
            (
                _text("INSPECTION_REFERENCE", "Inspection reference", nullable=False),
                _uprn(),
                _date("INSPECTION_DATE", "Date of the inspection", nullable=False),
                _text("REASON", "Why the home was inspected"),
                _text("OUTCOME", "What the council did"),
            ),
            key=("INSPECTION_REFERENCE",),
            references=(Reference("UPRN", "gazetteer", "UPRN"),),
            frequency="monthly",
            purpose=("For the HHSRS hazards (damp and mould, excess cold, falls, crowding) the "
                     "council finds when it inspects a private rented home, and when the home was "
                     "last assessed."),
            legal_basis=_COUNCIL_BASIS,
        ),
        Contract(
            "private_sector_hazards", "Council (private sector housing)",
            "One row per hazard found in a private-sector inspection.",
            (
                _text("INSPECTION_REFERENCE", "Inspection", nullable=False),
                _uprn(),
                _HAZARD, _HAZARD_SCORE, _HAZARD_BAND,
            ),
            key=("INSPECTION_REFERENCE", "HAZARD"),
            references=(
                Reference("INSPECTION_REFERENCE", "private_sector_inspections",
                          "INSPECTION_REFERENCE"),
            ),
            frequency="monthly",
            purpose=("The hazards found at each private-sector inspection: with the inspections, "
                     "the hazard features of private rented homes."),
            legal_basis=_COUNCIL_BASIS,
        ),
        Contract(
            "tenancies", "Social landlord",
            "One row per social tenancy running at any time in the extract.",
            (
                _text("TENANCY_REF", "Tenancy reference", nullable=False),
                _uprn(),
                _text("LANDLORD", "Landlord", nullable=False),
                _text("TENANCY_TYPE", "Secure, Introductory, Assured, Starter, ...",
                      codes=("Secure", "Introductory", "Assured", "Starter", "Flexible",
                             "Assured shorthold", "Licence", "Other")),
                _int("BEDROOMS", "Bedrooms in the home", minimum=0, maximum=20),
                _date("START_DATE", "Day the household moved in", nullable=False),
                _date("END_DATE", "Day the tenancy ended; empty if running"),
                _text("END_REASON", "Why it ended; blank if running"),
            ),
            key=("TENANCY_REF",),
            date_order=(("START_DATE", "END_DATE"),),
            references=(Reference("UPRN", "gazetteer", "UPRN"),),
            frequency="monthly",
            purpose=("To know who lives in a social home on the date (a social tenancy wins over a "
                     "GP-registered address), how many bedrooms it has (for crowding) and which "
                     "homes the landlord's records cover."),
            legal_basis=_LANDLORD_BASIS,
        ),
        Contract(
            "housing_residents", "Social landlord",
            "One row per person per tenancy they lived in.",
            (
                _text("RESIDENT_ID", "Landlord's person id", nullable=False,
                      handling="pseudonymise"),
                _text("TENANCY_REF", "Tenancy", nullable=False),
                _text("RELATIONSHIP", "Lead tenant, Joint tenant or Household member",
                      codes=("Lead tenant", "Joint tenant", "Household member")),
                _text("FORENAME", "First name", handling="forename"),
                _text("SURNAME", "Surname", handling="surname"),
                _date("DATE_OF_BIRTH", "Date of birth", birth=True, handling="dob"),
                _text("SEX", "Female or Male", codes=("Female", "Male", "Other", "Not known"),
                      handling="sex", recode={"Female": "F", "Male": "M", "Other": "",
                                              "Not known": ""}),
                _text("ETHNIC_ORIGIN", "NHS ethnic category, as its label",
                      codes=tuple(ETHNIC_CATEGORY_LABEL.values()), handling="ethnicity",
                      recode={v: k for k, v in ETHNIC_CATEGORY_LABEL.items()}),
                _nhs(nullable=True),
                _date("START_DATE", "Day they moved in (or were born)", nullable=False),
                _date("END_DATE", "Day they left; empty if still there"),
            ),
            key=("RESIDENT_ID",),
            date_order=(("START_DATE", "END_DATE"), ("DATE_OF_BIRTH", "START_DATE")),
            references=(Reference("TENANCY_REF", "tenancies", "TENANCY_REF"),),
            frequency="monthly",
            purpose=("To link social tenants to their GP records (by pseudonymised NHS number, "
                     "or by pseudonymised name, date of birth and home) and to count household "
                     "members who are not registered with a local GP."),
            legal_basis=_LANDLORD_BASIS + "; " + _ETHNICITY_BASIS,
        ),
        Contract(
            "stock_condition_surveys", "Social landlord",
            "One row per stock condition survey of a social home.",
            (
                _text("SURVEY_REFERENCE", "Survey reference", nullable=False),
                _uprn(),
                _date("SURVEY_DATE", "Date of the survey", nullable=False),
                _text("SURVEY_TYPE", "Kind of survey"),
            ),
            key=("SURVEY_REFERENCE",),
            references=(Reference("UPRN", "gazetteer", "UPRN"),),
            frequency="quarterly",
            purpose=("For the HHSRS hazards a social landlord finds when it surveys its homes, and "
                     "when each home was last assessed."),
            legal_basis=_LANDLORD_BASIS,
        ),
        Contract(
            "stock_condition_hazards", "Social landlord",
            "One row per HHSRS hazard found in a stock condition survey.",
            (
                _text("SURVEY_REFERENCE", "Survey", nullable=False),
                _uprn(),
                _HAZARD, _HAZARD_SCORE, _HAZARD_BAND,
            ),
            key=("SURVEY_REFERENCE", "HAZARD"),
            references=(
                Reference("SURVEY_REFERENCE", "stock_condition_surveys", "SURVEY_REFERENCE"),
            ),
            frequency="quarterly",
            purpose=("The hazards found at each stock condition survey: with the surveys, the "
                     "hazard features of social homes."),
            legal_basis=_LANDLORD_BASIS,
        ),
        Contract(
            "damp_hazard_reports", "Social landlord (damp and mould data standard)",
            "One row per damp or mould hazard report made by a household.",
            (
                _text("hazard_report_reference", "Report reference", nullable=False),
                _uprn("uprn"),
                _text("tenancy_id", "Tenancy at the report date; empty if none found"),
                _date("date_reported", "Date reported", nullable=False),
                _text("description", "What was reported (free text; scrubbed of names, NHS "
                      "numbers, phone numbers and e-mails)", handling="free_text"),
                _bool("emergency_action_taken", "Emergency action taken"),
                _date("made_safe_date", "Date made safe"),
                _bool("further_work_required", "Further work required"),
                _text("report_status", "Open or Closed", codes=("Open", "Closed")),
            ),
            key=("hazard_report_reference",),
            date_order=(("date_reported", "made_safe_date"),),
            references=(Reference("uprn", "gazetteer", "UPRN"),
                        Reference("tenancy_id", "tenancies", "TENANCY_REF")),
            frequency="weekly",
            purpose=("To count the damp and mould reports a household has made and the days since "
                     "the last one."),
            legal_basis=_LANDLORD_BASIS,
        ),
        Contract(
            "damp_investigations", "Social landlord (damp and mould data standard)",
            "One row per investigation of a damp or mould report.",
            (
                _text("investigation_reference", "Investigation reference", nullable=False),
                _text("hazard_report_reference", "Report investigated", nullable=False),
                _uprn("uprn"),
                _text("tenancy_id", "Tenancy"),
                _date("investigation_scheduled_date", "Date scheduled"),
                _date("investigation_completed_date", "Date completed; empty if not done"),
                _bool("hazard_confirmed", "Whether the hazard was confirmed"),
                _text("hazard_type", "Hazard investigated", codes=HHSRS_HAZARDS),
                _text("severity", "Emergency, Significant or Moderate",
                      codes=("Emergency", "Significant", "Moderate")),
                _bool("sla_breach_flag", "Investigation later than the time limit"),
            ),
            key=("investigation_reference",),
            references=(Reference("hazard_report_reference", "damp_hazard_reports",
                                  "hazard_report_reference"),
                        Reference("tenancy_id", "tenancies", "TENANCY_REF")),
            frequency="weekly",
            purpose="To count the damp and mould reports confirmed when investigated.",
            legal_basis=_LANDLORD_BASIS,
        ),
        Contract(
            "damp_work_orders", "Social landlord (damp and mould data standard)",
            "One row per work order raised after a confirmed damp or mould report.",
            (
                _text("work_order_reference", "Work order reference", nullable=False),
                _text("hazard_report_reference", "Report", nullable=False),
                _uprn("uprn"),
                _text("tenancy_id", "Tenancy"),
                _date("raised_date", "Date raised", nullable=False),
                _date("target_date", "Target date"),
                _date("completed_date", "Date completed; empty if open"),
                _text("status", "Open or Completed", codes=("Open", "Completed", "Cancelled")),
                _text("work_type", "Work done"),
            ),
            key=("work_order_reference",),
            date_order=(("raised_date", "completed_date"),),
            references=(Reference("hazard_report_reference", "damp_hazard_reports",
                                  "hazard_report_reference"),
                        Reference("tenancy_id", "tenancies", "TENANCY_REF")),
            frequency="weekly",
            purpose="To find damp and mould work raised but not yet completed.",
            legal_basis=_LANDLORD_BASIS,
        ),
        Contract(
            "adaptations", "Social landlord",
            "One row per aids-and-adaptations request in a social home.",
            (
                _text("ADAPTATION_REFERENCE", "Request reference", nullable=False),
                _uprn(),
                _text("TENANCY_REF", "Tenancy at the request date"),
                _text("ADAPTATION_TYPE", "Stairlift, Grab rails, Level access shower, Ramp, ..."),
                _date("REQUESTED_DATE", "Date requested", nullable=False),
                _date("COMPLETED_DATE", "Date fitted; empty if not yet"),
                _text("STATUS", "Completed or In progress",
                      codes=("Completed", "In progress", "Cancelled")),
            ),
            key=("ADAPTATION_REFERENCE",),
            date_order=(("REQUESTED_DATE", "COMPLETED_DATE"),),
            references=(Reference("UPRN", "gazetteer", "UPRN"),
                        Reference("TENANCY_REF", "tenancies", "TENANCY_REF")),
            frequency="monthly",
            purpose=("To know whether aids and adaptations (stairlift, grab rails, level-access "
                     "shower) have been fitted in the home, which bear on the risk of a fall."),
            legal_basis=_LANDLORD_BASIS,
        ),
        Contract(
            "gp_registrations", "NHS (GP practices)",
            "One row per registered address period of a GP registration (address history).",
            (
                _int("RECORD_ID", "Row identifier of the extract", nullable=False),
                _text("PATIENT_ID", "Practice system patient id", nullable=False,
                      handling="pseudonymise"),
                _nhs(),
                _text("FORENAME", "First name", handling="forename"),
                _text("SURNAME", "Surname", handling="surname"),
                _date("DATE_OF_BIRTH", "Date of birth", birth=True, nullable=False,
                      handling="dob"),
                _text("SEX", "F or M (U not known)", codes=("F", "M", "U", "I"), handling="sex",
                      recode={"F": "F", "M": "M", "U": "", "I": ""}),
                _text("ETHNIC_CATEGORY", "NHS ethnic category letter (Z not stated)",
                      codes=_ETHNIC_CODES, handling="ethnicity", recode=_ETHNIC_LETTER),
                _text("PRACTICE_CODE", "GP practice code", nullable=False,
                      pattern=r"[A-Z][0-9A-Z]{5}"),
                _date("REGISTRATION_DATE", "Date registered", nullable=False),
                _date("DEREGISTRATION_DATE", "Date deregistered; empty if still registered"),
                _text("ADDRESS_LINE_1", "Address line 1", handling="drop"),
                _text("ADDRESS_LINE_2", "Address line 2", handling="drop"),
                _text("ADDRESS_LINE_3", "Address line 3", handling="drop"),
                _text("ADDRESS_LINE_4", "Address line 4", handling="drop"),
                _text("POSTCODE", "Postcode of the address", check="postcode",
                      handling="postcode"),
                _uprn(nullable=True, meaning="UPRN of the address, where the practice "
                      "recorded one (checked against the gazetteer, not trusted)"),
                _date("ADDRESS_FROM", "Start of this address on the record", nullable=False),
                _date("ADDRESS_TO", "End of this address; empty if current"),
            ),
            # RECORD_ID numbers one extract's rows; the address period is what a later
            # extract repeats
            key=("PATIENT_ID", "ADDRESS_FROM"),
            date_order=_GP_DATES,
            health=True,
            frequency="monthly",
            purpose=("To define the resident population (everyone registered with a local GP), "
                     "their age, sex and home (the address matched to a UPRN), and to see who left "
                     "the area when labelling outcomes. Ethnic category is kept for fairness "
                     "audits only, never as a model input."),
            legal_basis=_NHS_BASIS + "; " + _ETHNICITY_BASIS,
        ),
        Contract(
            "gp_long_term_conditions", "NHS (GP practices)",
            "One row per person per long-term condition diagnosed.",
            (
                _int("RECORD_ID", "Row identifier of the extract", nullable=False),
                _nhs(),
                _text("PRACTICE_CODE", "GP practice code", pattern=r"[A-Z][0-9A-Z]{5}"),
                _text("CONDITION", "Condition group", nullable=False,
                      codes=("asthma", "copd", "cvd", "diabetes", "dementia", "smi",
                             "frailty")),
                _text("SNOMED_CODE", "SNOMED CT concept", pattern=r"[0-9]{6,18}"),
                _date("DIAGNOSIS_DATE", "Date diagnosed", nullable=False),
            ),
            key=("NHS_NUMBER", "CONDITION"),
            health=True,
            frequency="monthly",
            purpose=("For the long-term conditions coded by the GP (asthma, COPD, cardiovascular "
                     "disease, diabetes, dementia, severe mental illness, frailty) that make a "
                     "cold or damp home more harmful (model inputs)."),
            legal_basis=_NHS_BASIS,
        ),
        Contract(
            "hes_apc", "NHS (Hospital Episode Statistics)",
            "One row per consultant episode of an admitted patient care spell.",
            (
                _int("EPIKEY", "Episode key", nullable=False),
                _nhs(nullable=True),
                _date("DOB", "Date of birth", birth=True, handling="dob"),
                _text("SEX", "1 male, 2 female (0 not known, 9 not specified)",
                      codes=("0", "1", "2", "9"), handling="sex", recode=_SEX_NUMERIC),
                _text("ETHNOS", "NHS ethnic category letter", codes=_ETHNIC_CODES,
                      handling="ethnicity", recode=_ETHNIC_LETTER),
                _text("HOMEADD", "Postcode of residence", check="postcode",
                      handling="postcode"),
                _text("GPPRAC", "GP practice code", pattern=r"[A-Z0-9]{3,6}"),
                _text("PROCODE", "Provider code", pattern=r"[A-Z0-9]{3,5}"),
                _date("ADMIDATE", "Date of admission", nullable=False),
                _date("EPISTART", "Episode start", nullable=False),
                _date("EPIEND", "Episode end"),
                _date("DISDATE", "Date of discharge"),
                _int("EPIORDER", "Episode order within the spell (count admissions on 1)",
                     nullable=False, minimum=1, maximum=99),
                _text("CLASSPAT", "Patient classification", codes=("1", "2", "3", "4", "5",
                                                                   "8", "9")),
                _text("ADMIMETH", "Admission method (2x emergency)", nullable=False,
                      codes=ADMIMETH_CODES),
                _text("DISMETH", "Discharge method", codes=("1", "2", "3", "4", "5", "8",
                                                            "9")),
                _text("DIAG_4_01", "Primary diagnosis (ICD-10, no dot)", nullable=False,
                      pattern=ICD10_PATTERN),
                *(_text(f"DIAG_4_0{i}", f"Diagnosis {i} (ICD-10)", pattern=ICD10_PATTERN)
                  for i in range(2, 7)),
                _text("CAUSE_4", "External cause (ICD-10)", pattern=ICD10_PATTERN),
            ),
            key=("EPIKEY",),
            date_order=(("DOB", "ADMIDATE"), ("ADMIDATE", "EPISTART"), ("EPISTART", "EPIEND"),
                        ("ADMIDATE", "DISDATE")),
            health=True,
            frequency="monthly",
            purpose=("To count each resident's past emergency admissions (a model input) and to "
                     "find the admissions the models learn to predict."),
            legal_basis=_NHS_BASIS,
        ),
        Contract(
            "ecds_attendances", "NHS (Emergency Care Data Set)",
            "One row per attendance at an emergency department.",
            (
                _int("EC_IDENT", "Attendance identifier", nullable=False),
                _nhs(nullable=True),
                _date("DATE_OF_BIRTH", "Date of birth", birth=True, handling="dob"),
                _text("SEX", "1 male, 2 female", codes=("0", "1", "2", "9"), handling="sex",
                      recode=_SEX_NUMERIC),
                _date("ARRIVAL_DATE", "Date of arrival", nullable=False),
                _text("EC_DEPARTMENT_TYPE", "Department type", codes=("01", "02", "03", "04",
                                                                      "05")),
                _text("EC_CHIEF_COMPLAINT_SNOMED_CT", "Chief complaint (SNOMED CT)",
                      pattern=r"[0-9]{6,18}"),
                _text("EC_DIAGNOSIS_01", "Primary diagnosis (SNOMED CT)",
                      pattern=r"[0-9]{6,18}"),
                _text("DISCHARGE_DESTINATION_SNOMED_CT", "Discharge destination (SNOMED CT)",
                      pattern=r"[0-9]{6,18}"),
                _text("PROVIDER_CODE", "Provider code", pattern=r"[A-Z0-9]{3,5}"),
            ),
            key=("EC_IDENT",),
            date_order=(("DATE_OF_BIRTH", "ARRIVAL_DATE"),),
            health=True,
            frequency="monthly",
            purpose="To count each resident's past A&E attendances (a model input).",
            legal_basis=_NHS_BASIS,
        ),
        Contract(
            "deaths", "NHS (civil registration of deaths)",
            "One row per registered death of a resident.",
            (
                _int("DEATH_RECORD_ID", "Death record identifier", nullable=False),
                _nhs(),
                _date("DATE_OF_DEATH", "Date of death", nullable=False),
                _date("DATE_OF_REGISTRATION", "Date the death was registered"),
                _int("AGE_AT_DEATH", "Age at death in completed years", minimum=0,
                     maximum=125),
                _text("UNDERLYING_CAUSE_ICD10", "Underlying cause of death (ICD-10)",
                      pattern=ICD10_PATTERN),
            ),
            key=("NHS_NUMBER",),  # a person dies once; record ids are per extract
            date_order=(("DATE_OF_DEATH", "DATE_OF_REGISTRATION"),),
            health=True,
            frequency="monthly",
            purpose=("To leave out people who died before the as-of date, and to tell a death from "
                     "\"no admission\" when labelling outcomes."),
            legal_basis=("The dead are not data subjects under UK GDPR, but cause of death is "
                         "confidential and linked to the living it is handled as their health "
                         "data: " + _NHS_BASIS),
        ),
        Contract(
            "national_data_opt_outs", "NHS (national data opt-out service)",
            "One row per NHS number with a national data opt-out: the whole list each time.",
            (_nhs(),),
            key=("NHS_NUMBER",),
            snapshot=True,
            frequency="whole list monthly",
            purpose=("To honour the national data opt-out: the health rows of people who opted out "
                     "are removed at ingest and they are left out of every snapshot."),
            legal_basis=("UK GDPR Article 6(1)(e) public task, used only to apply the national "
                         "data opt-out that NHS data sharing requires; NHS numbers only, no health "
                         "information; " + _DSA),
        ),
        Contract(
            "lsoa_imd", "Reference (MHCLG IMD, ONS lookups)",
            "One row per LSOA: its ward, local authority and IMD rank and decile.",
            (
                _text("LSOA_CODE", "LSOA code", nullable=False, pattern=LSOA_PATTERN.pattern),
                _text("LSOA_NAME", "LSOA name"),
                _text("LAD_CODE", "Local authority code", pattern=r"[EW]0[6-9][0-9]{6}"),
                _text("LAD_NAME", "Local authority name"),
                _text("WARD_CODE", "Ward code", pattern=r"[EW]05[0-9]{6}"),
                _text("WARD_NAME", "Ward name"),
                _int("IMD_RANK", "IMD rank (1 = most deprived)", nullable=False, minimum=1,
                     maximum=40_000),
                _int("IMD_DECILE", "IMD decile (1 = most deprived 10%)", nullable=False,
                     minimum=1, maximum=10),
                _text("IMD_VERSION", "Which IMD release"),
            ),
            key=("LSOA_CODE",),
            snapshot=True,
            frequency="on each new IMD release or LSOA boundary change (every few years)",
            purpose=("For the deprivation of each home's neighbourhood (IMD decile, Core20) and "
                     "its ward."),
            legal_basis="Open data (Open Government Licence); no personal data",
        ),
    )
}



def _dependency_order() -> tuple[str, ...]:
    order: list[str] = []

    def visit(source: str, path: tuple[str, ...]) -> None:
        if source in order:
            return
        if source in path:
            raise RuntimeError(f"contracts refer to each other in a cycle: {path}")
        for ref in CONTRACTS[source].references:
            visit(ref.source, (*path, source))
        order.append(source)

    for source in CONTRACTS:
        visit(source, ())
    return tuple(order)


#: Sources in the order they are checked: parents before the sources that refer to them.
INGEST_ORDER: tuple[str, ...] = _dependency_order()


def source_of_file(name: str) -> str:
    """Return the source a landing file belongs to: its stem up to any ``__`` label.

    ``hes_apc.csv`` and ``hes_apc__2025-04.parquet`` are both ``hes_apc``.

    Parameters
    ----------
    name : str
        The file name.

    Returns
    -------
    str
        The source name (it may not have a contract).
    """
    stem = name.split(".", 1)[0]
    return stem.split("__", 1)[0]
