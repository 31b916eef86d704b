"""The synthetic area at the start: neighbourhoods, homes, households and people.

Everything is held as NumPy arrays (one element per LSOA, home, household or person) so a
million residents build in seconds. Households are drawn by type (single, couple, family, lone
parent, older person, sharers, multigenerational) with tenure and ethnicity depending on the
neighbourhood's deprivation, then homes are made to fit them (bedrooms by the bedroom standard,
condition by tenure and age), so crowding, damp and cold fall on people the way the English
Housing Survey reports.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from risk_model.errors import ConfigError
from risk_model.identifiers import nhs_check_digits
from risk_model.synth import names
from risk_model.synth.config import ETHNIC_CATEGORIES, LTC_CONDITIONS, TENURES, SynthConfig

__all__ = ["EPOCH", "HOUSEHOLD_TYPES", "NEVER", "World", "build_world", "rng_for", "to_days"]

EPOCH = date(1970, 1, 1)
#: Month index meaning "never" (onsets, exits).
NEVER = np.int16(32000)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# ONS group of each ethnic category, in ETHNIC_CATEGORIES order: White, Mixed, Asian, Black, Other
_CAT_GROUP = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 4])
_MINORITY = np.array([c not in "AB" for c in ETHNIC_CATEGORIES])
_SOUTH_ASIAN = np.array([c in "HJK" for c in ETHNIC_CATEGORIES])

PROPERTY_TYPES = ("House", "Flat", "Maisonette", "Bungalow")
BUILT_FORMS = ("Detached", "Semi-Detached", "Mid-Terrace", "End-Terrace", "Enclosed Mid-Terrace")
AGE_BANDS_EPC = (
    "England and Wales: before 1900",
    "England and Wales: 1900-1929",
    "England and Wales: 1930-1949",
    "England and Wales: 1950-1966",
    "England and Wales: 1967-1975",
    "England and Wales: 1976-1982",
    "England and Wales: 1983-1990",
    "England and Wales: 1991-1995",
    "England and Wales: 1996-2002",
    "England and Wales: 2003-2006",
    "England and Wales: 2007-2011",
    "England and Wales: 2012 onwards",
)
_AGE_BAND_P = np.array([0.12, 0.10, 0.14, 0.15, 0.12, 0.07, 0.07, 0.04, 0.06, 0.05, 0.05, 0.03])
_AGE_BAND_SAP = np.array([-9, -7, -4, -2, 0, 1, 2, 3, 5, 8, 11, 15], dtype=float)
HEATING = (
    "Boiler and radiators, mains gas",
    "Electric storage heaters",
    "Room heaters, electric",
    "Boiler and radiators, oil",
    "Air source heat pump, radiators, electric",
)
FUEL_OF_HEATING = (
    "mains gas (not community)",
    "electricity (not community)",
    "electricity (not community)",
    "oil (not community)",
    "electricity (not community)",
)
WALLS = (
    "Cavity wall, filled cavity",
    "Cavity wall, as built, no insulation (assumed)",
    "Solid brick, as built, no insulation (assumed)",
    "Timber frame, as built, insulated (assumed)",
    "System built, with external insulation",
)

# Household types: (name, relative weight by tenure OO, PR, LA, HA)
HOUSEHOLD_TYPES = ("single", "single_65", "couple", "couple_65", "family", "lone_parent",
                   "multi_adult", "multigen")
_HH_WEIGHTS = np.array(
    [  # OO    PR    LA    HA
        [0.10, 0.26, 0.24, 0.24],  # single 18-64
        [0.16, 0.05, 0.18, 0.18],  # single 65+
        [0.17, 0.20, 0.08, 0.08],  # couple 18-64
        [0.18, 0.03, 0.08, 0.08],  # couple 65+
        [0.21, 0.17, 0.13, 0.13],  # couple with children
        [0.04, 0.10, 0.19, 0.19],  # lone parent
        [0.12, 0.17, 0.08, 0.08],  # multi-adult
        [0.03, 0.02, 0.04, 0.04],  # multigenerational
    ]
)


def rng_for(seed: int, stream: str) -> np.random.Generator:
    """Return an independent random generator for one named stream of one seed.

    Each part of the generator draws from its own stream, so changing one part (or its
    config) leaves the others' draws as they were.

    Parameters
    ----------
    seed : int
        The run's seed.
    stream : str
        A stable name for the part that draws.

    Returns
    -------
    numpy.random.Generator
        A PCG64 generator.
    """
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(stream.encode())]))


def to_days(d: date) -> int:
    """Days since 1970-01-01 (the unit of every date array here)."""
    return (d - EPOCH).days


def _pick(rng: np.random.Generator, p: FloatArray, n: int) -> IntArray:
    """Draw ``n`` category indices with probabilities ``p`` (normalised)."""
    p = np.asarray(p, dtype=float)
    return np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right").clip(0, len(p) - 1)


def _pick_rows(rng: np.random.Generator, p: FloatArray) -> IntArray:
    """Draw one category per row of a probability matrix ``p`` (rows normalised)."""
    c = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(p.shape[0])[:, None]
    return (u > c).sum(axis=1).clip(0, p.shape[1] - 1)


@dataclass
class NamePools:
    """Flat arrays of every first name and surname, and per-origin index lists."""

    first: npt.NDArray[np.str_]
    surname: npt.NDArray[np.str_]
    origins: tuple[str, ...]
    first_by: dict[tuple[int, int], IntArray]  # (origin, sex 0=F 1=M) -> indices into first
    surname_by: dict[int, IntArray]
    transliterated: npt.NDArray[np.bool_]  # by origin

    @classmethod
    def build(cls) -> NamePools:
        """Flatten the word lists in :mod:`risk_model.synth.names`."""
        origins = tuple(names.FIRST_NAMES)
        first = sorted({n for o in origins for s in "FM" for n in names.FIRST_NAMES[o][s]})
        surname = sorted({n for o in origins for n in names.SURNAMES[o]})
        fi = {n: i for i, n in enumerate(first)}
        si = {n: i for i, n in enumerate(surname)}
        first_by = {
            (oi, sx): np.array([fi[n] for n in names.FIRST_NAMES[o]["FM"[sx]]])
            for oi, o in enumerate(origins)
            for sx in (0, 1)
        }
        surname_by = {oi: np.array([si[n] for n in names.SURNAMES[o]]) for oi, o in
                      enumerate(origins)}
        translit = np.array([o in names.TRANSLITERATED_ORIGINS for o in origins])
        return cls(np.array(first), np.array(surname), origins, first_by, surname_by, translit)


@dataclass
class World:
    """The area's state: arrays per LSOA, home, household and person.

    Person arrays have spare capacity for people who arrive or are born later; ``n_people``
    counts those in use.
    """

    cfg: SynthConfig
    # LSOAs
    lsoa_code: npt.NDArray[np.str_]
    lsoa_decile: npt.NDArray[np.int8]
    lsoa_rank: IntArray
    lsoa_ward: IntArray
    lsoa_district: IntArray
    optout_area_effect: FloatArray
    # homes
    uprn: IntArray
    home_lsoa: IntArray
    home_tenure: npt.NDArray[np.int8]
    home_postcode: npt.NDArray[np.str_]
    home_street: npt.NDArray[np.str_]
    home_locality: npt.NDArray[np.str_]
    home_number: IntArray
    home_building: npt.NDArray[np.str_]
    home_flat: IntArray
    home_type: npt.NDArray[np.int8]
    home_form: npt.NDArray[np.int8]
    home_age_band: npt.NDArray[np.int8]
    home_floor_area: FloatArray
    home_bedrooms: npt.NDArray[np.int8]
    home_sap: FloatArray
    home_heating: npt.NDArray[np.int8]
    home_walls: npt.NDArray[np.int8]
    home_stairs_hazard: npt.NDArray[np.bool_]
    home_level_hazard: npt.NDArray[np.bool_]
    home_damp: npt.NDArray[np.bool_]
    home_adapted: npt.NDArray[np.bool_]
    home_household: IntArray  # -1 when empty
    # households
    hh_home: IntArray
    hh_couple: npt.NDArray[np.bool_]
    hh_type: npt.NDArray[np.int8]
    hh_eth: npt.NDArray[np.int8]
    hh_origin: npt.NDArray[np.int8]
    hh_surname: IntArray
    hh_from: IntArray  # day the household moved into its current home
    n_households: int
    # people
    names: NamePools
    p_household: IntArray
    p_sex: npt.NDArray[np.int8]  # 0 female, 1 male
    p_dob: IntArray  # days since 1970
    p_eth: npt.NDArray[np.int8]
    p_origin: npt.NDArray[np.int8]
    p_first: IntArray
    p_surname: IntArray
    p_surname2: IntArray  # second part of a double-barrelled surname, -1 if none
    p_maiden: IntArray  # earlier surname, -1 if none
    p_nhs: IntArray
    p_frailty: FloatArray
    p_entry: npt.NDArray[np.int16]  # month index of arrival (-1: there at the start)
    p_exit: npt.NDArray[np.int16]  # month index of leaving (NEVER: still here)
    p_exit_reason: npt.NDArray[np.int8]  # 0 none, 1 died, 2 moved away
    p_practice: IntArray
    p_ltc_onset: npt.NDArray[np.int16]  # (capacity, n_ltc) month index of diagnosis
    p_optout: npt.NDArray[np.int16]  # month index the opt-out was recorded, NEVER if none
    p_optout_propensity: FloatArray
    p_reg_start: IntArray  # days: first registration with a practice in the area
    p_res_from: IntArray  # day the person started living in their current home
    n_people: int
    n_practices: int
    nhs_pool: IntArray = field(repr=False)
    nhs_used: int = 0
    ltc_scale: dict[str, float] = field(default_factory=dict)

    @property
    def start_days(self) -> int:
        """Days since 1970 of the first day of the period."""
        return to_days(self.cfg.start_date)


# --------------------------------------------------------------------------------------------
# NHS numbers


def nhs_pool(seed: int) -> IntArray:
    """All valid NHS numbers of the never-issued 999 range, in a seeded random order.

    Parameters
    ----------
    seed : int
        The run's seed.

    Returns
    -------
    numpy.ndarray
        The 909,090 distinct valid ten-digit numbers (the all-nines number is refused).
    """
    prefixes = np.arange(999_000_000, 1_000_000_000, dtype=np.int64)
    digits = (prefixes[:, None] // (10 ** np.arange(8, -1, -1))) % 10
    check = nhs_check_digits(digits)
    ok = (check >= 0) & (prefixes != 999_999_999)  # refuse the all-nines number
    numbers = prefixes[ok] * 10 + check[ok]
    return rng_for(seed, "nhs-pool").permutation(numbers)


#: How many valid numbers the 999 range holds.
NHS_POOL_SIZE = 909_090


def expected_people(cfg: SynthConfig) -> int:
    """Upper estimate of the distinct people a run needs (residents, arrivals, births)."""
    years = cfg.months / 12
    arrivals = cfg.housing.monthly_out_migration_rate * cfg.months * 1.15
    births = cfg.health.annual_births_per_1000 / 1000 * years * 1.1
    return int(cfg.residents * (1 + arrivals + births) + 500)


# --------------------------------------------------------------------------------------------
# building the world


def build_world(cfg: SynthConfig) -> World:
    """Build the area as it stands on the first day of the period.

    Parameters
    ----------
    cfg : SynthConfig
        The run's settings.

    Returns
    -------
    World
        LSOAs, homes, households and people.

    Raises
    ------
    ConfigError
        If the population would need more NHS numbers than the never-issued range holds.
    """
    need = expected_people(cfg)
    if need > NHS_POOL_SIZE:
        max_res = int(cfg.residents * (NHS_POOL_SIZE - 500) / need)
        raise ConfigError(
            f"--residents {cfg.residents} over {cfg.months} months needs about {need:,} "
            f"distinct NHS numbers, but the never-issued 999 range holds only "
            f"{NHS_POOL_SIZE:,} valid ones",
            hint=f"use --residents {max_res:,} or fewer (or fewer --months), so every synthetic "
            "person keeps a unique number that can never be a real patient's",
        )
    seed = cfg.seed
    pools = NamePools.build()

    # ---- LSOAs, wards, postcode districts
    rng = rng_for(seed, "area")
    n_lsoa = max(1, round(cfg.residents / cfg.population.lsoa_size))
    deprived = cfg.population.deprived_share
    decile_p = np.array([deprived / 2] * 2 + [(1 - deprived) / 8] * 8)
    counts = np.floor(decile_p * n_lsoa).astype(int)
    counts[np.argsort(-(decile_p * n_lsoa - counts))[: n_lsoa - counts.sum()]] += 1
    decile = rng.permutation(np.repeat(np.arange(1, 11), counts)).astype(np.int8)
    rank = ((decile - 1) * 3284.4 + rng.random(n_lsoa) * 3284.4).astype(np.int64) + 1
    lsoa_code = np.array([f"E01{900001 + i:06d}" for i in range(n_lsoa)])
    lsoa_ward = np.arange(n_lsoa) // 6
    lsoa_district = np.arange(n_lsoa) // 8
    optout_area = rng.normal(0, cfg.opt_out.area_spread, n_lsoa)
    # centred so the areas' odds multipliers average one: the spread never moves the overall rate
    optout_area -= np.log(np.exp(optout_area).mean())

    # ---- households: LSOA, ethnicity, tenure, type
    rng = rng_for(seed, "households")
    n_hh_guess = int(cfg.residents / 2.3 * 1.08) + 10
    hh_lsoa = rng.integers(0, n_lsoa, n_hh_guess)
    hh_dec = decile[hh_lsoa]
    hh_eth = _draw_ethnicity(rng, cfg, hh_dec)
    hh_tenure = _draw_tenure(rng, cfg, hh_dec, hh_eth)
    hh_type = _draw_household_type(rng, hh_tenure, hh_eth)
    members = _draw_members(rng, hh_type, cfg)
    # cut to exactly the asked number of residents
    size = np.bincount(members["hh"], minlength=n_hh_guess)
    cum = np.cumsum(size)
    if cum[-1] < cfg.residents:  # pragma: no cover - the guess has 8% slack
        raise RuntimeError("household draw too small")
    n_hh = int(np.searchsorted(cum, cfg.residents) + 1)
    keep = members["hh"] < n_hh
    members = {k: v[keep] for k, v in members.items()}
    extra = int(cum[n_hh - 1] - cfg.residents)
    if extra:
        last = np.flatnonzero(members["hh"] == n_hh - 1)
        drop = last[-extra:]
        members = {k: np.delete(v, drop) for k, v in members.items()}
    hh_lsoa, hh_eth, hh_tenure, hh_type = (a[:n_hh] for a in (hh_lsoa, hh_eth, hh_tenure, hh_type))
    hh_couple = np.isin(hh_type, [2, 3, 4, 7])

    # ---- homes: one per household plus empty ones
    rng = rng_for(seed, "homes")
    n_empty = round(n_hh * cfg.housing.vacancy_share / (1 - cfg.housing.vacancy_share))
    n_homes = n_hh + n_empty
    empty_lsoa = rng.integers(0, n_lsoa, n_empty)
    empty_tenure = _draw_tenure(rng, cfg, decile[empty_lsoa], np.zeros(n_empty, dtype=np.int8))
    home_lsoa = np.concatenate([hh_lsoa, empty_lsoa])
    home_tenure = np.concatenate([hh_tenure, empty_tenure]).astype(np.int8)
    need_rooms = bedrooms_needed(members["hh"], members["age"], hh_couple).astype(np.int64)
    home_need = np.concatenate([need_rooms, _pick(rng, np.array([.3, .35, .25, .1]), n_empty) + 1])
    homes = _draw_homes(rng, cfg, home_tenure, home_need, decile[home_lsoa],
                        occupied=np.arange(n_homes) < n_hh, hh_type=hh_type)
    # shuffle so homes are not ordered by occupancy, then order them along streets by LSOA
    order = np.lexsort((rng.random(n_homes), home_lsoa))
    inv = np.empty_like(order)
    inv[order] = np.arange(n_homes)
    home_lsoa = home_lsoa[order]
    home_tenure = home_tenure[order]
    homes = {k: v[order] for k, v in homes.items()}
    hh_home = inv[:n_hh]
    home_household = np.full(n_homes, -1, dtype=np.int64)
    home_household[hh_home] = np.arange(n_hh)
    addr = _addresses(rng, home_lsoa, lsoa_district[home_lsoa], homes["type"])
    uprn = _uprns(rng, n_homes)

    # damp: exactly the target share of homes of each tenure, leaning on old, cold, crowded
    crowded = np.zeros(n_homes, dtype=bool)
    crowded[hh_home] = need_rooms > homes["bedrooms"][hh_home]
    weight = (
        np.where(homes["age_band"] <= 1, 1.6, 1.0)
        * np.where(homes["sap"] < 39, 1.8, 1.0)
        * np.where(crowded, 1.6, 1.0)
    )
    damp = np.zeros(n_homes, dtype=bool)
    for t, name in enumerate(TENURES):
        idx = np.flatnonzero(home_tenure == t)
        k = round(cfg.housing.damp_by_tenure[name] * idx.size)
        if k:
            key = np.log(weight[idx]) + rng.gumbel(size=idx.size)
            damp[idx[np.argsort(-key)[:k]]] = True

    # ---- people
    rng = rng_for(seed, "people")
    n0 = cfg.residents
    capacity = expected_people(cfg)
    start_days = to_days(cfg.start_date)
    hh_origin = _draw_origin(rng, hh_eth)
    hh_surname = _draw_surname(rng, pools, hh_origin)
    pe = hh_eth[members["hh"]].copy()
    # sharers (multi-adult households of unrelated people) have their own origin and surname
    sharer = (hh_type[members["hh"]] == 6) & members["sharer"]
    pe[sharer] = _draw_ethnicity(rng, cfg, np.full(sharer.sum(), 5, dtype=np.int8))
    porigin = hh_origin[members["hh"]].copy()
    porigin[sharer] = _draw_origin(rng, pe[sharer])
    psurname = hh_surname[members["hh"]].copy()
    psurname[sharer] = _draw_surname(rng, pools, porigin[sharer])
    people = _allocate_people(capacity)
    sl = slice(0, n0)
    people["p_household"][sl] = members["hh"]
    people["p_sex"][sl] = members["sex"]
    age_days = (members["age"] * 365.25).astype(np.int64)
    people["p_dob"][sl] = start_days - age_days - 1
    people["p_eth"][sl] = pe
    people["p_origin"][sl] = porigin
    people["p_surname"][sl] = psurname
    people["p_entry"][sl] = -1
    pool = nhs_pool(seed)
    w = World(
        cfg=cfg,
        lsoa_code=lsoa_code,
        lsoa_decile=decile,
        lsoa_rank=rank,
        lsoa_ward=lsoa_ward,
        lsoa_district=lsoa_district,
        optout_area_effect=optout_area,
        uprn=uprn,
        home_lsoa=home_lsoa,
        home_tenure=home_tenure,
        home_postcode=addr["postcode"],
        home_street=addr["street"],
        home_locality=addr["locality"],
        home_number=addr["number"],
        home_building=addr["building"],
        home_flat=addr["flat"],
        home_type=homes["type"],
        home_form=homes["form"],
        home_age_band=homes["age_band"],
        home_floor_area=homes["floor_area"],
        home_bedrooms=homes["bedrooms"],
        home_sap=homes["sap"],
        home_heating=homes["heating"],
        home_walls=homes["walls"],
        home_stairs_hazard=homes["stairs"],
        home_level_hazard=homes["level"],
        home_damp=damp,
        home_adapted=np.zeros(n_homes, dtype=bool),
        home_household=home_household,
        hh_home=_grow(hh_home, capacity),
        hh_couple=_grow(hh_couple, capacity),
        hh_type=_grow(hh_type.astype(np.int8), capacity),
        hh_eth=_grow(hh_eth, capacity),
        hh_origin=_grow(hh_origin, capacity),
        hh_surname=_grow(hh_surname, capacity),
        hh_from=np.zeros(capacity, dtype=np.int64),
        n_households=n_hh,
        names=pools,
        n_people=n0,
        n_practices=max(2, round(cfg.residents / 8000)),
        nhs_pool=pool,
        **people,
    )
    _finish_people(w, rng, np.arange(n0), members["role"], at_month=-1)
    return w


def _grow(a: npt.NDArray, capacity: int) -> npt.NDArray:
    out = np.zeros(max(capacity, a.size), dtype=a.dtype)
    out[: a.size] = a
    return out


def _allocate_people(capacity: int) -> dict[str, npt.NDArray]:
    n_ltc = len(LTC_CONDITIONS)
    return {
        "p_household": np.full(capacity, -1, dtype=np.int64),
        "p_sex": np.zeros(capacity, dtype=np.int8),
        "p_dob": np.zeros(capacity, dtype=np.int64),
        "p_eth": np.zeros(capacity, dtype=np.int8),
        "p_origin": np.zeros(capacity, dtype=np.int8),
        "p_first": np.zeros(capacity, dtype=np.int64),
        "p_surname": np.zeros(capacity, dtype=np.int64),
        "p_surname2": np.full(capacity, -1, dtype=np.int64),
        "p_maiden": np.full(capacity, -1, dtype=np.int64),
        "p_nhs": np.zeros(capacity, dtype=np.int64),
        "p_frailty": np.ones(capacity, dtype=np.float64),
        "p_entry": np.zeros(capacity, dtype=np.int16),
        "p_exit": np.full(capacity, NEVER, dtype=np.int16),
        "p_exit_reason": np.zeros(capacity, dtype=np.int8),
        "p_practice": np.zeros(capacity, dtype=np.int64),
        "p_ltc_onset": np.full((capacity, n_ltc), NEVER, dtype=np.int16),
        "p_optout": np.full(capacity, NEVER, dtype=np.int16),
        "p_optout_propensity": np.zeros(capacity, dtype=np.float64),
        "p_reg_start": np.zeros(capacity, dtype=np.int64),
        "p_res_from": np.zeros(capacity, dtype=np.int64),
    }


def ages_at(w: World, people: IntArray, day: int) -> FloatArray:
    """Ages in years of ``people`` on ``day`` (days since 1970)."""
    return (day - w.p_dob[people]) / 365.25


def _finish_people(
    w: World, rng: np.random.Generator, idx: IntArray, role: IntArray, *, at_month: int
) -> None:
    """Give new people (at the start, arriving or born) names, numbers, conditions, opt-outs.

    ``role``: 0 adult, 1 partner, 2 child, 3 older relative, 4 sharer.
    """
    n = idx.size
    if w.nhs_used + n > w.nhs_pool.size:
        raise ConfigError(
            f"ran out of never-issued NHS numbers after {w.nhs_used:,} people",
            hint="use fewer --residents or --months",
        )
    w.p_nhs[idx] = w.nhs_pool[w.nhs_used : w.nhs_used + n]
    w.nhs_used += n
    sex = w.p_sex[idx]
    origin = w.p_origin[idx]
    first = np.zeros(n, dtype=np.int64)
    for oi in range(len(w.names.origins)):
        for sx in (0, 1):
            m = (origin == oi) & (sex == sx)
            if m.any():
                pool = w.names.first_by[(oi, sx)]
                # Zipf-like popularity: a few names are common, as in real registers
                p = 1.0 / np.arange(1, pool.size + 1) ** 0.7
                first[m] = pool[_pick(rng, p, int(m.sum()))]
    w.p_first[idx] = first
    start_days = w.start_days
    month_day = start_days + max(at_month, 0) * 30
    age = ages_at(w, idx, month_day)
    # double-barrelled surnames (about 1.5%, British origin) and earlier surnames for partners
    british = np.array(w.names.origins)[origin] == "british"
    dbl = british & (rng.random(n) < 0.015)
    w.p_surname2[idx[dbl]] = _draw_surname(rng, w.names, origin[dbl])
    married_f = (sex == 0) & (role == 1) & (age >= 20)
    w.p_maiden[idx[married_f]] = _draw_surname(rng, w.names, origin[married_f])
    w.p_frailty[idx] = rng.gamma(2.0, 0.5, n)
    w.p_practice[idx] = rng.integers(0, w.n_practices, n)
    years_here = rng.exponential(12, n)
    w.p_reg_start[idx] = np.maximum(
        w.p_dob[idx] + 14, month_day - (years_here * 365.25).astype(np.int64)
    ) if at_month < 0 else month_day + rng.integers(0, 28, n)
    _draw_ltc(w, rng, idx, age, at_month)
    _draw_optout(w, rng, idx, age, at_month)


def _draw_ethnicity(rng: np.random.Generator, cfg: SynthConfig, decile: npt.NDArray) -> npt.NDArray:
    """Ethnic category per household; minorities more common in deprived LSOAs."""
    mix = np.array([cfg.population.ethnic_mix.get(c, 0.0) for c in ETHNIC_CATEGORIES])
    mix = mix / mix.sum()
    # decile 1 -> x1.7, decile 10 -> x0.6 for minority categories; IPF keeps the overall mix
    mult = np.where(_MINORITY[None, :], np.linspace(1.7, 0.6, 10)[:, None], 1.0)
    dec_share = np.bincount(decile - 1, minlength=10) / max(decile.size, 1)
    a = mix.copy()
    for _ in range(30):
        p = a[None, :] * mult
        p /= p.sum(axis=1, keepdims=True)
        achieved = (dec_share[:, None] * p).sum(axis=0)
        a *= np.where(achieved > 0, mix / np.maximum(achieved, 1e-12), 1.0)
    p = a[None, :] * mult
    return _pick_rows(rng, p[decile - 1]).astype(np.int8)


def _draw_tenure(
    rng: np.random.Generator, cfg: SynthConfig, decile: npt.NDArray, eth: npt.NDArray
) -> npt.NDArray:
    """Tenure per household: social renting concentrated in deprived LSOAs."""
    target = np.array([cfg.housing.tenure_mix[t] for t in TENURES])
    target = target / target.sum()
    d = np.arange(10)
    dep = np.stack(
        [
            np.linspace(0.6, 1.25, 10),  # owner occupied
            np.linspace(1.5, 0.7, 10),  # private rented
            np.linspace(2.8, 0.3, 10),  # local authority
            np.linspace(2.4, 0.35, 10),  # housing association
        ],
        axis=1,
    )[d]
    grp = _CAT_GROUP[eth]
    g_mult = np.array(
        [  # OO  PR   LA   HA
            [1.0, 1.0, 1.0, 1.0],  # White
            [0.7, 1.3, 1.4, 1.4],  # Mixed
            [1.0, 1.3, 0.8, 0.8],  # Asian
            [0.5, 1.2, 2.0, 2.0],  # Black
            [0.6, 1.6, 1.2, 1.2],  # Other
        ]
    )
    cell = (decile - 1).astype(np.int64) * 5 + grp
    counts = np.bincount(cell, minlength=50).reshape(10, 5) / max(cell.size, 1)
    base = dep[:, None, :] * g_mult[None, :, :]  # (10, 5, 4)
    a = target.copy()
    for _ in range(30):
        p = base * a
        p /= p.sum(axis=2, keepdims=True)
        achieved = (counts[:, :, None] * p).sum(axis=(0, 1))
        a *= target / np.maximum(achieved, 1e-12)
    p = base * a
    return _pick_rows(rng, p.reshape(50, 4)[cell]).astype(np.int8)


def _draw_household_type(
    rng: np.random.Generator, tenure: npt.NDArray, eth: npt.NDArray
) -> npt.NDArray:
    w = _HH_WEIGHTS[:, tenure].T.copy()
    w[_SOUTH_ASIAN[eth], 7] *= 5
    w[_SOUTH_ASIAN[eth], 4] *= 1.4
    return _pick_rows(rng, w).astype(np.int8)


def _draw_members(
    rng: np.random.Generator, hh_type: npt.NDArray, cfg: SynthConfig
) -> dict[str, npt.NDArray]:
    """People of each household: household index, role, sex, age in years."""
    n = hh_type.size
    hh, role, sex, age, sharer = [], [], [], [], []

    def add(h: npt.NDArray, r: int, s: npt.NDArray, a: npt.NDArray, sh: bool = False) -> None:
        hh.append(h)
        role.append(np.full(h.size, r))
        sex.append(s)
        age.append(a)
        sharer.append(np.full(h.size, sh))

    def adult_age(k: int, lo: float, hi: float, a: float = 1.6, b: float = 1.6) -> npt.NDArray:
        return lo + (hi - lo) * rng.beta(a, b, k)

    def old_age(k: int) -> npt.NDArray:
        # England 2021, people 65+ by five-year band: 65-69 27%, 70-74 26%, 75-79 19%,
        # 80-84 14%, 85-89 9%, 90+ 5% (a steep tail: few live past 95)
        band = _pick(rng, np.array([0.27, 0.26, 0.19, 0.14, 0.09, 0.05]), k)
        within = np.where(band < 5, rng.random(k) * 5, np.minimum(rng.exponential(3.5, k), 14))
        return 65 + 5 * band + within

    def partner(h: npt.NDArray, a1: npt.NDArray, lo: float, hi: float) -> None:
        s1 = rng.integers(0, 2, h.size)
        add(h, 0, s1, a1)
        same = rng.random(h.size) < 0.02
        add(h, 1, np.where(same, s1, 1 - s1), np.clip(a1 + rng.normal(0, 3, h.size), lo, hi))

    def children(h: npt.NDArray, mother_age: npt.NDArray) -> None:
        k = _pick(rng, np.array([0.47, 0.39, 0.11, 0.03]), h.size) + 1
        hr = np.repeat(h, k)
        ma = np.repeat(mother_age, k)
        top = np.clip(ma - 18, 0.5, 17.99)
        add(hr, 2, rng.integers(0, 2, hr.size), rng.random(hr.size) * top)

    idx = np.arange(n)
    t = hh_type
    h = idx[t == 0]
    add(h, 0, rng.integers(0, 2, h.size), adult_age(h.size, 18, 65, 1.3, 1.3))
    h = idx[t == 1]
    add(h, 0, (rng.random(h.size) < 0.42).astype(int), old_age(h.size))
    h = idx[t == 2]
    partner(h, adult_age(h.size, 19, 65, 1.3, 1.2), 18, 64.9)
    h = idx[t == 3]
    partner(h, old_age(h.size), 60, 104.5)
    h = idx[t == 4]
    ma = adult_age(h.size, 21, 50, 2.0, 2.2)
    partner(h, ma, 18, 64.9)
    children(h, ma)
    h = idx[t == 5]
    pa = adult_age(h.size, 18, 55, 1.8, 2.0)
    add(h, 0, (rng.random(h.size) < 0.14).astype(int), pa)
    children(h, pa)
    h = idx[t == 6]
    fam = rng.random(h.size) < 0.6  # parents with grown-up children, else unrelated sharers
    hf = h[fam]
    pa = adult_age(hf.size, 44, 64.9, 2, 2)
    partner(hf, pa, 38, 64.9)
    k = _pick(rng, np.array([0.6, 0.3, 0.1]), hf.size) + 1
    hr = np.repeat(hf, k)
    add(hr, 2, rng.integers(0, 2, hr.size), 18 + rng.random(hr.size) * 12)
    hs = h[~fam]
    k = _pick(rng, np.array([0.5, 0.35, 0.15]), hs.size) + 2
    hr = np.repeat(hs, k)
    add(hr, 4, rng.integers(0, 2, hr.size), adult_age(hr.size, 18, 45, 1.5, 3), sh=True)
    h = idx[t == 7]
    ma = adult_age(h.size, 24, 50, 2, 2)
    partner(h, ma, 20, 64.9)
    children(h, ma)
    add(h, 3, (rng.random(h.size) < 0.45).astype(int), old_age(h.size))
    out = {
        "hh": np.concatenate(hh),
        "role": np.concatenate(role),
        "sex": np.concatenate(sex).astype(np.int8),
        "age": np.concatenate(age),
        "sharer": np.concatenate(sharer),
    }
    order = np.argsort(out["hh"], kind="stable")
    return {k: v[order] for k, v in out.items()}


def bedrooms_needed(household: IntArray, age: FloatArray, couple: npt.NDArray[np.bool_]
                    ) -> FloatArray:
    """Bedrooms each household needs by the bedroom standard (simplified).

    One for a couple, one for each other person aged 21 or over, one for each pair of younger
    people, and at least one.

    Parameters
    ----------
    household : numpy.ndarray
        Household index of each person.
    age : numpy.ndarray
        Age of each person in years.
    couple : numpy.ndarray of bool
        Whether each household (by index) is headed by a couple.

    Returns
    -------
    numpy.ndarray
        Bedrooms needed, one per household in ``couple``.
    """
    n = couple.size
    adult = age >= 21
    n_adult = np.bincount(household, weights=adult, minlength=n)
    n_young = np.bincount(household, weights=~adult, minlength=n)
    return np.maximum(n_adult - (couple & (n_adult >= 2)) + np.ceil(n_young / 2), 1)


def _draw_homes(
    rng: np.random.Generator,
    cfg: SynthConfig,
    tenure: npt.NDArray,
    need: npt.NDArray,
    decile: npt.NDArray,
    *,
    occupied: npt.NDArray,
    hh_type: npt.NDArray,
) -> dict[str, npt.NDArray]:
    n = tenure.size
    # bedrooms: the household's need plus a margin; a tenure's overcrowding share falls short
    target = np.array([cfg.housing.overcrowding_by_tenure[t] for t in TENURES])[tenure]
    can_crowd = need >= 2
    share_can = np.array(
        [can_crowd[(tenure == t) & occupied].mean() if ((tenure == t) & occupied).any() else 1
         for t in range(4)]
    )
    p_short = np.where(can_crowd & occupied, target / np.maximum(share_can[tenure], 1e-9), 0)
    margin_p = np.array([[0.27, 0.45, 0.28], [0.50, 0.38, 0.12], [0.65, 0.30, 0.05],
                         [0.65, 0.30, 0.05]])[tenure]
    margin = _pick_rows(rng, margin_p)
    short = rng.random(n) < p_short
    bedrooms = np.where(short, need - 1, need + margin).clip(1, 6)
    # type: flats more common for renters, smaller homes and deprived areas
    flat_p = np.array([0.10, 0.40, 0.45, 0.45])[tenure] * np.where(decile <= 3, 1.3, 1.0)
    flat_p = np.where(bedrooms >= 4, flat_p * 0.2, flat_p)
    u = rng.random(n)
    htype = np.where(u < flat_p, 1, 0)
    htype = np.where((htype == 1) & (rng.random(n) < 0.12), 2, htype)  # maisonettes
    older = np.isin(np.concatenate([hh_type, np.zeros(n - hh_type.size, dtype=np.int8)]), [1, 3])
    bung = (htype == 0) & (rng.random(n) < np.where(older, 0.18, 0.04))
    htype = np.where(bung, 3, htype).astype(np.int8)
    form = np.where(htype == 0, _pick(rng, np.array([0.2, 0.35, 0.3, 0.15, 0.0]), n),
                    _pick(rng, np.array([0.05, 0.15, 0.5, 0.1, 0.2]), n)).astype(np.int8)
    age_band = _pick(rng, _AGE_BAND_P, n).astype(np.int8)
    floor = (22 + 19 * bedrooms + rng.normal(0, 8, n) - np.where(htype == 1, 8, 0)).clip(18, 400)
    # SAP: tenure, age and type shifts around the configured median, plus a very cold tail
    sap = (
        rng.normal(0, cfg.housing.epc_sap_sd, n)
        + _AGE_BAND_SAP[age_band]
        + np.array([-1.0, -2.0, 4.0, 4.0])[tenure]
        + np.where(htype == 1, 3.0, 0.0)
    )
    sap = sap - np.median(sap) + cfg.housing.epc_median_sap
    cold_w = np.where(age_band <= 1, 3.0, 1.0) * np.where(htype == 1, 0.3, 1.0) * np.array(
        [1.0, 1.6, 0.4, 0.4])[tenure]
    k = round(cfg.housing.very_cold_share * n)
    cold = np.zeros(n, dtype=bool)
    if k:
        key = np.log(cold_w) + rng.gumbel(size=n)
        cold[np.argsort(-key)[:k]] = True
    sap = np.where(cold, rng.uniform(5, 33.4, n), np.clip(sap, 34, 99)).round(0)
    heating = np.where(cold, _pick(rng, np.array([0.15, 0.45, 0.25, 0.15, 0.0]), n),
                       _pick(rng, np.array([0.86, 0.06, 0.02, 0.03, 0.03]), n)).astype(np.int8)
    walls = np.where(age_band <= 2, np.where(rng.random(n) < 0.8, 2, 0),
                     _pick(rng, np.array([0.55, 0.25, 0.0, 0.1, 0.1]), n)).astype(np.int8)
    stairs_share = cfg.housing.stair_hazard_share / 0.75  # only homes with internal stairs
    has_stairs = np.isin(htype, [0, 2])
    stairs = has_stairs & (rng.random(n) < stairs_share * np.where(age_band <= 2, 1.4, 0.8))
    level = rng.random(n) < cfg.housing.level_fall_hazard_share
    return {
        "bedrooms": bedrooms.astype(np.int8),
        "type": htype,
        "form": form,
        "age_band": age_band,
        "floor_area": floor.round(0),
        "sap": sap,
        "heating": heating,
        "walls": walls,
        "stairs": stairs,
        "level": level,
    }


_INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))


def _addresses(
    rng: np.random.Generator, lsoa: IntArray, district: IntArray, htype: npt.NDArray
) -> dict[str, npt.NDArray]:
    """Streets, numbers, named blocks of flats and postcodes (about 15 homes a postcode)."""
    n = lsoa.size
    # streets: runs of about 40 homes within an LSOA
    street_id = np.zeros(n, dtype=np.int64)
    new_street = np.ones(n, dtype=bool)
    new_street[1:] = (lsoa[1:] != lsoa[:-1]) | (rng.random(n - 1) < 1 / 40)
    street_id = np.cumsum(new_street) - 1
    n_streets = int(street_id[-1]) + 1 if n else 0
    words = np.array(names.STREET_WORDS)
    sfx = np.array(names.STREET_SUFFIXES)
    w_idx = rng.integers(0, words.size, n_streets)
    s_idx = rng.integers(0, sfx.size, n_streets)
    street_names = np.char.add(np.char.add(words[w_idx], " "), sfx[s_idx])
    street = street_names[street_id]
    pos = np.arange(n) - np.flatnonzero(new_street)[street_id]
    # flats in the same street share a named block with its own number
    is_flat = np.isin(htype, [1, 2])
    number = pos + 1
    block = np.where(is_flat, street_id * 1000 + pos // 12, -1)
    first_in_block = np.zeros(n, dtype=bool)
    if n:
        first_in_block[1:] = block[1:] != block[:-1]
        first_in_block[0] = True
    block_words = np.array(names.BUILDING_WORDS)
    block_sfx = np.array(names.BUILDING_SUFFIXES)
    bw = block_words[rng.integers(0, block_words.size, n)]
    bs = block_sfx[rng.integers(0, block_sfx.size, n)]
    bname = np.char.add(np.char.add(bw, " "), bs)
    # propagate the block's name and number to all its flats
    block_start = np.maximum.accumulate(np.where(first_in_block, np.arange(n), 0))
    building = np.where(is_flat, bname[block_start], "")
    number = np.where(is_flat, number[block_start], number)
    flat = np.where(is_flat, np.arange(n) - block_start + 1, 0)
    locality = np.array(names.LOCALITIES)[lsoa % len(names.LOCALITIES)]
    # postcodes: units of about 15 consecutive homes within a district
    unit = np.zeros(n, dtype=np.int64)
    new_unit = np.ones(n, dtype=bool)
    new_unit[1:] = (district[1:] != district[:-1]) | (rng.random(n - 1) < 1 / 15)
    unit = np.cumsum(new_unit) - 1
    first_of_district = np.zeros(n, dtype=bool)
    first_of_district[0] = True
    first_of_district[1:] = district[1:] != district[:-1]
    unit_in_district = unit - unit[np.maximum.accumulate(np.where(first_of_district,
                                                                   np.arange(n), 0))]
    sector = 1 + unit_in_district // 400
    letters = unit_in_district % 400
    inward = np.char.add(
        np.char.add(sector.astype(str), _INWARD_LETTERS[letters // 20]),
        _INWARD_LETTERS[letters % 20],
    )
    outward = np.char.add("QX", (1 + district).astype(str))
    postcode = np.char.add(np.char.add(outward, " "), inward)
    return {
        "street": street,
        "number": number,
        "building": building,
        "flat": flat,
        "locality": locality,
        "postcode": postcode,
    }


def _uprns(rng: np.random.Generator, n: int) -> IntArray:
    """Distinct 12-digit UPRNs in a block no real authority uses (9100 0000 0000 onwards)."""
    return 910_000_000_000 + np.sort(rng.choice(90_000_000_000, size=n, replace=False))


def _draw_origin(rng: np.random.Generator, eth: npt.NDArray) -> npt.NDArray:
    origins = tuple(names.FIRST_NAMES)
    out = np.zeros(eth.size, dtype=np.int8)
    for ci, c in enumerate(ETHNIC_CATEGORIES):
        m = eth == ci
        if m.any():
            opts = names.NAME_ORIGIN_OF_CATEGORY[c]
            keys = np.array([origins.index(o) for o in opts])
            out[m] = keys[_pick(rng, np.array(list(opts.values())), int(m.sum()))]
    return out


def _draw_surname(rng: np.random.Generator, pools: NamePools, origin: npt.NDArray) -> IntArray:
    out = np.zeros(origin.size, dtype=np.int64)
    for oi in range(len(pools.origins)):
        m = origin == oi
        if m.any():
            pool = pools.surname_by[oi]
            p = 1.0 / np.arange(1, pool.size + 1) ** 0.8
            out[m] = pool[_pick(rng, p, int(m.sum()))]
    return out


# --------------------------------------------------------------------------------------------
# conditions and opt-outs


def ltc_probability(condition: str, age: FloatArray) -> FloatArray:
    """Relative prevalence of a condition by age; :func:`calibrate_ltc` scales it to the config.

    The age shapes are plausible (check): asthma flat with a childhood peak, COPD and CVD
    rising after 40, dementia and frailty after 65, diabetes after 30, SMI flat in adults.
    """
    return _LTC_SHAPES[condition](np.asarray(age, dtype=float))


_LTC_SHAPES = {
    "asthma": lambda a: np.where(a < 18, 1.3, 1.0),
    "copd": lambda a: np.where(a < 35, 0.0, np.exp(0.07 * (a - 70))),
    "cvd": lambda a: np.where(a < 30, 0.0, np.exp(0.08 * (a - 70))),
    "diabetes": lambda a: np.where(a < 17, 0.02, np.exp(0.035 * (a - 60))),
    "dementia": lambda a: np.where(a < 60, 0.0, np.exp(0.14 * (a - 85))),
    "smi": lambda a: np.where(a < 16, 0.0, 1.0),
    "frailty": lambda a: np.where(a < 60, 0.0, np.exp(0.1 * (a - 85))),
}


def calibrate_ltc(cfg: SynthConfig, ages: FloatArray) -> dict[str, float]:
    """Scale factors so each condition's prevalence over ``ages`` matches the config."""
    out = {}
    for c in LTC_CONDITIONS:
        shape = ltc_probability(c, ages)
        target = cfg.health.ltc_prevalence[c]
        lo, hi = 0.0, 1.0 / max(shape.mean(), 1e-12) * 4
        for _ in range(40):  # bisection on the scale: mean(min(1, s*shape)) = target
            mid = (lo + hi) / 2
            if np.minimum(mid * shape, 0.95).mean() < target:
                lo = mid
            else:
                hi = mid
        out[c] = (lo + hi) / 2
    return out


def _draw_ltc(
    w: World, rng: np.random.Generator, idx: IntArray, age: FloatArray, at_month: int
) -> None:
    cfg = w.cfg
    if not w.ltc_scale:
        w.ltc_scale = calibrate_ltc(cfg, age)
    scale = w.ltc_scale
    base = max(at_month, 0)
    for j, c in enumerate(LTC_CONDITIONS):
        # nobody under one arrives already diagnosed; babies are diagnosed later, if ever
        p = np.where(age < 1, 0.0, np.minimum(scale[c] * ltc_probability(c, age), 0.95))
        if c in ("copd", "cvd"):
            # more common in the most deprived areas, normalised to keep the overall prevalence
            deprived = w.lsoa_decile[w.home_lsoa[w.hh_home[w.p_household[idx]]]] <= 2
            mult = np.where(deprived, 1.4, 1.0)
            p = np.minimum(p * mult / (1 + 0.4 * w.cfg.population.deprived_share), 0.95)
        has = rng.random(idx.size) < p
        years_ago = np.minimum(rng.exponential(6, idx.size), np.maximum(age - 1, 0.1))
        onset = base - np.ceil(years_ago * 12).astype(np.int64)
        w.p_ltc_onset[idx[has], j] = onset[has].clip(-1200, None)


def _draw_optout(
    w: World, rng: np.random.Generator, idx: IntArray, age: FloatArray, at_month: int
) -> None:
    o = w.cfg.opt_out
    sex = w.p_sex[idx]
    base = np.where(age < 18, o.child_rate,
                    np.where((sex == 0) & (age >= 20) & (age < 70), o.women_20_69_rate,
                             o.base_rate))
    lsoa = w.home_lsoa[w.hh_home[w.p_household[idx]]]
    logit = np.log(base / (1 - base)) + w.optout_area_effect[lsoa]
    p = 1 / (1 + np.exp(-logit))
    w.p_optout_propensity[idx] = p
    # 85% of those who will opt out did so before the period; the rest during it
    has = rng.random(idx.size) < p
    before = rng.random(idx.size) < 0.85
    when = np.where(before, -1, max(at_month, 0) + rng.integers(0, max(w.cfg.months, 1),
                                                                idx.size))
    w.p_optout[idx[has]] = when[has].astype(np.int16)
