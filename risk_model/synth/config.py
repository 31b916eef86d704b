"""Settings of the synthetic population: size, period, seed and every realism figure.

Each default comes from ``shared/reference/uk-data-facts.md`` (ONS, English Housing Survey, NHS
Digital, MHCLG) or, where marked "(check)", is a plausible figure not confirmed against a primary
source. All of them can be changed; the realism tests check the generator reproduces them.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "AGE_BANDS",
    "ETHNIC_CATEGORIES",
    "LTC_CONDITIONS",
    "OUTCOMES",
    "TENURES",
    "AdmissionConfig",
    "HealthConfig",
    "HousingConfig",
    "IdentifierNoiseConfig",
    "OptOutConfig",
    "PopulationConfig",
    "SynthConfig",
]

#: Tenures as the gazetteer records them (social rent split by landlord).
TENURES = ("owner_occupied", "private_rented", "local_authority", "housing_association")
#: NHS ethnic category codes (Z = not stated is added by the sources that allow it).
ETHNIC_CATEGORIES = "ABCDEFGHJKLMNPRS"
#: Long-term conditions recorded in GP systems.
LTC_CONDITIONS = ("asthma", "copd", "cvd", "diabetes", "dementia", "smi", "frailty")
#: Emergency admission causes of the ground-truth model (they partition emergency admissions).
OUTCOMES = ("respiratory", "cardiovascular", "fall", "infection", "other")
#: Age bands of the emergency admission reference rates (East Devon, across IMD quintiles).
AGE_BANDS = ((0, 19), (20, 37), (38, 52), (53, 66), (67, 120))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PopulationConfig(_Strict):
    """Who lives in the area.

    The age and sex mix is not set directly: it comes from the household types drawn for each
    tenure (singles, couples, families, older people, sharers), tuned so the area matches
    England's (about 21% under 18, 18.4% aged 65+, 50.6% female); the realism tests check it.
    """

    ethnic_mix: dict[str, float] = Field(
        default={
            # Census 2021 England and Wales: White 81.7 (British 74.4), Asian 9.3, Black 4.0,
            # Mixed 2.9, Other 2.1 (percent); split to NHS categories.
            "A": 74.4, "B": 0.9, "C": 6.4,
            "D": 0.8, "E": 0.4, "F": 0.8, "G": 0.9,
            "H": 3.1, "J": 2.7, "K": 1.1, "L": 1.7, "R": 0.7,
            "M": 1.0, "N": 2.5, "P": 0.5,
            "S": 2.1,
        },
        description="Share of residents by NHS ethnic category (A..S); normalised to 1.",
    )
    lsoa_size: int = Field(1500, ge=200, le=3000, description="Residents per LSOA (1,000-3,000).")
    deprived_share: float = Field(
        0.2, ge=0, le=1, description="Share of LSOAs in IMD deciles 1-2 (Core20); England: 0.2."
    )


class HousingConfig(_Strict):
    """The homes: tenure, condition and crowding."""

    tenure_mix: dict[str, float] = Field(
        default={
            "owner_occupied": 0.64,
            "private_rented": 0.19,
            "local_authority": 0.07,
            "housing_association": 0.10,
        },
        description="EHS 2022-23 households by tenure.",
    )
    damp_by_tenure: dict[str, float] = Field(
        default={
            "owner_occupied": 0.04,
            "private_rented": 0.09,
            "local_authority": 0.09,
            "housing_association": 0.05,
        },
        description="EHS 2023 share of dwellings with damp problems.",
    )
    overcrowding_by_tenure: dict[str, float] = Field(
        default={
            "owner_occupied": 0.01,
            "private_rented": 0.05,
            "local_authority": 0.08,
            "housing_association": 0.08,
        },
        description="EHS 2022-23 overcrowding by the bedroom standard.",
    )
    epc_coverage_by_tenure: dict[str, float] = Field(
        default={
            "owner_occupied": 0.52,
            "private_rented": 0.85,
            "local_authority": 0.90,
            "housing_association": 0.90,
        },
        description="Share of homes with an EPC certificate (check): lettings need one.",
    )
    epc_median_sap: float = Field(
        69.5, description="Median SAP; about 47.5% of homes D or below (England 2023)."
    )
    epc_sap_sd: float = Field(
        8.0, gt=0, description="Spread of SAP within a tenure, age and type (E-G about 9%)."
    )
    very_cold_share: float = Field(
        0.025, ge=0, le=0.2, description="Homes with SAP below 33.5 (EHS excess cold proxy, check)."
    )
    epc_no_data_rate: float = Field(
        0.03, ge=0, le=0.5, description='Share of optional EPC fields holding "NO DATA!".'
    )
    stair_hazard_share: float = Field(
        0.06, ge=0, le=0.5, description="Homes with a serious falls-on-stairs hazard (check)."
    )
    level_fall_hazard_share: float = Field(
        0.03, ge=0, le=0.5, description="Homes with a serious falls-on-level-surfaces hazard."
    )
    vacancy_share: float = Field(0.03, ge=0.005, le=0.2, description="Empty homes at the start.")
    stock_survey_share: float = Field(
        0.75, ge=0, le=1, description="Social homes given a stock-condition survey in the period."
    )
    private_inspection_rate: float = Field(
        0.04, ge=0, le=1, description="Private rented homes inspected under HHSRS in the period."
    )
    monthly_move_rate: float = Field(
        0.006, ge=0, le=0.1, description="Households moving home within the area each month."
    )
    monthly_out_migration_rate: float = Field(
        0.004, ge=0, le=0.1, description="Households leaving the area each month."
    )


class AdmissionConfig(_Strict):
    """Emergency admissions per 1,000 people a year by age band and cause (targets)."""

    rates_per_1000: dict[str, dict[str, float]] = Field(
        default={
            # all-cause totals sit inside the East Devon ranges (0-19: 40-66; 20-37: 34-68;
            # 38-52: 40-85; 53-66: 56-108; 67+: 199-282); the split by cause is (check).
            "0-19": {"respiratory": 14, "cardiovascular": 0.5, "fall": 2, "infection": 6,
                     "other": 28},
            "20-37": {"respiratory": 5, "cardiovascular": 1, "fall": 1.5, "infection": 4,
                      "other": 38.5},
            "38-52": {"respiratory": 6, "cardiovascular": 5, "fall": 2, "infection": 5,
                      "other": 42},
            "53-66": {"respiratory": 11, "cardiovascular": 12, "fall": 3.5, "infection": 7,
                      "other": 46.5},
            "67+": {"respiratory": 42, "cardiovascular": 36, "fall": 21, "infection": 25,
                    "other": 111},
        },
        description="Targets per age band; 67+ falls about 2,100 per 100,000 (OHID, check).",
    )
    deprivation_ratio: float = Field(
        1.7, ge=1, le=4, description="Rate ratio, most vs least deprived IMD quintile."
    )
    elective_per_1000: float = Field(120, ge=0, description="Elective and other admissions a year.")
    ae_non_admitted_per_1000: float = Field(
        300, ge=0, description="A&E attendances not ending in admission, per 1,000 a year (check)."
    )
    multi_episode_share: float = Field(
        0.15, ge=0, le=0.9, description="Admissions with more than one consultant episode."
    )
    fall_incidence_65_plus: float = Field(
        0.30, ge=0, le=1, description="Share of people 65+ who fall in a year (about 30%)."
    )


class HealthConfig(_Strict):
    """Long-term conditions and deaths."""

    ltc_prevalence: dict[str, float] = Field(
        default={
            "asthma": 0.07,  # current asthma about 6-8%
            "copd": 0.02,  # about 2% all ages
            "cvd": 0.035,  # coronary heart disease and stroke (check)
            "diabetes": 0.065,  # QOF about 7% of 17+ (check)
            "dementia": 0.008,  # about 4% of 65+ (check)
            "smi": 0.01,  # QOF SMI register about 1%
            "frailty": 0.025,  # moderate or severe frailty, mostly 65+ (check)
        },
        description="Prevalence of each long-term condition at the start, all ages.",
    )
    ltc_annual_incidence_ratio: float = Field(
        0.08, ge=0, le=1,
        description="Yearly turnover of diagnoses beyond ageing, replacing deaths (check).",
    )
    annual_deaths_per_1000: float = Field(9.5, ge=0, description="England crude death rate ~9.5.")
    annual_births_per_1000: float = Field(10.0, ge=0, description="England crude birth rate ~10.")


class OptOutConfig(_Strict):
    """The national data opt-out."""

    base_rate: float = Field(0.045, ge=0, le=1, description="Adults: about 3-6% nationally.")
    child_rate: float = Field(0.02, ge=0, le=1, description="Children: about 2%.")
    women_20_69_rate: float = Field(0.075, ge=0, le=1, description="Women 20-69: about 7-8%.")
    area_spread: float = Field(
        0.5, ge=0, le=2, description="SD of the area effect on the log-odds (1% to 10%+ by area)."
    )


class IdentifierNoiseConfig(_Strict):
    """How messy identifiers are, as real linkage studies report."""

    housing_nhs_number_share: float = Field(
        0.35, ge=0, le=1, description="Housing residents whose record carries an NHS number."
    )
    gp_uprn_share: float = Field(
        0.15, ge=0, le=1, description="GP registrations that carry the UPRN of their address."
    )
    name_typo_rate: float = Field(0.03, ge=0, le=1, description="Misspelt names, housing side.")
    transliteration_multiplier: float = Field(
        3.0, ge=1, le=10, description="Typos and spelling variants for names from other scripts."
    )
    nickname_rate: float = Field(0.08, ge=0, le=1, description="Known-as names where one exists.")
    hyphen_variant_rate: float = Field(
        0.5, ge=0, le=1, description="Double-barrelled surnames written another way."
    )
    surname_change_rate: float = Field(
        0.1, ge=0, le=1,
        description="Housing records of people with an earlier surname that still carry it.",
    )
    transliteration_variant_rate: float = Field(
        0.1, ge=0, le=1,
        description="Names from other scripts spelt another way on the housing side.",
    )
    dob_swap_rate: float = Field(
        0.01, ge=0, le=1, description="Day and month swapped where both are 12 or less."
    )
    dob_typo_rate: float = Field(0.005, ge=0, le=1, description="One digit of the date wrong.")
    address_lag_months: int = Field(
        3, ge=0, le=24, description="Mean months before a GP updates an address after a move."
    )
    address_lag_share: float = Field(
        0.4, ge=0, le=1, description="Movers whose GP address is updated late."
    )
    address_messy_rate: float = Field(
        0.35, ge=0, le=1, description="GP addresses written informally (abbreviations, order)."
    )
    address_typo_rate: float = Field(0.05, ge=0, le=1, description="GP addresses with a typo.")
    missing_flat_rate: float = Field(
        0.1, ge=0, le=1, description="Flats whose GP address misses the flat number."
    )
    building_name_rate: float = Field(
        0.5, ge=0, le=1, description="Named buildings written by name instead of number."
    )
    duplicate_registration_rate: float = Field(
        0.01, ge=0, le=1, description="People with a second, duplicate GP registration."
    )
    gp_ethnicity_not_stated_rate: float = Field(
        0.08, ge=0, le=1, description="GP records with ethnicity not stated (Z)."
    )
    housing_ethnicity_not_stated_rate: float = Field(
        0.2, ge=0, le=1, description="Housing records with ethnicity not stated."
    )


def _parse_month(value: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}", value):
        raise ValueError(f"start must be YYYY-MM, got {value!r}")
    year, month = int(value[:4]), int(value[5:])
    if not 1 <= month <= 12:
        raise ValueError(f"start month must be 01-12, got {value!r}")
    return date(year, month, 1)


class SynthConfig(_Strict):
    """Everything that decides a synthetic landing zone; the same config gives the same bytes.

    Parameters
    ----------
    residents : int
        People registered with a GP in the area at the start.
    start : str
        First month of the extracts, ``YYYY-MM``.
    months : int
        Number of months the extracts cover.
    seed : int
        Random seed.
    format : {"csv", "parquet"}
        File format of the landing zone.
    """

    residents: int = Field(20_000, ge=200, le=20_000_000)
    start: str = "2021-04"
    months: int = Field(48, ge=1, le=240)
    seed: int = Field(1, ge=0)
    format: Literal["csv", "parquet"] = "csv"
    population: PopulationConfig = PopulationConfig()
    housing: HousingConfig = HousingConfig()
    admissions: AdmissionConfig = AdmissionConfig()
    health: HealthConfig = HealthConfig()
    opt_out: OptOutConfig = OptOutConfig()
    noise: IdentifierNoiseConfig = IdentifierNoiseConfig()

    @field_validator("start")
    @classmethod
    def _check_start(cls, value: str) -> str:
        _parse_month(value)
        return value

    @model_validator(mode="after")
    def _check_mixes(self) -> SynthConfig:
        unknown = set(self.population.ethnic_mix) - set(ETHNIC_CATEGORIES)
        if unknown:
            raise ValueError(
                f"ethnic_mix has unknown categories {sorted(unknown)}; "
                f"allowed: {', '.join(ETHNIC_CATEGORIES)}"
            )
        for name in ("tenure_mix", "damp_by_tenure", "overcrowding_by_tenure",
                     "epc_coverage_by_tenure"):
            keys = set(getattr(self.housing, name))
            if keys != set(TENURES):
                raise ValueError(f"housing.{name} must give exactly {', '.join(TENURES)}")
        bands = {f"{lo}-{hi}" if hi < 120 else f"{lo}+" for lo, hi in AGE_BANDS}
        if set(self.admissions.rates_per_1000) != bands:
            raise ValueError(f"admissions.rates_per_1000 must give age bands {sorted(bands)}")
        for band, rates in self.admissions.rates_per_1000.items():
            if set(rates) != set(OUTCOMES):
                raise ValueError(f"admissions.rates_per_1000[{band!r}] must give {OUTCOMES}")
        if set(self.health.ltc_prevalence) != set(LTC_CONDITIONS):
            raise ValueError(f"health.ltc_prevalence must give {', '.join(LTC_CONDITIONS)}")
        return self

    @property
    def start_date(self) -> date:
        """First day of the first month."""
        return _parse_month(self.start)
