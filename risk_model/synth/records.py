"""Render the simulated area as the extracts each data owner would send.

One function per landing file. Each returns a :class:`Rendered`: the table as the source holds it
(column names and codes after the real extracts, see ``docs/synthetic-data.md``), plus the truth
behind it: which person or home each record is, and which errors were put into which record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from risk_model.codes import ETHNIC_CATEGORY_LABEL as ETHNIC_LABEL
from risk_model.codes import HHSRS_HAZARDS as HAZARDS
from risk_model.synth import names, noise
from risk_model.synth.config import ETHNIC_CATEGORIES, LTC_CONDITIONS, TENURES
from risk_model.synth.simulate import EXCESS_COLD_SAP, History, month_start_day
from risk_model.synth.world import (
    AGE_BANDS_EPC,
    BUILT_FORMS,
    FUEL_OF_HEATING,
    HEATING,
    NEVER,
    PROPERTY_TYPES,
    WALLS,
    World,
    ages_at,
    rng_for,
)

__all__ = ["Rendered", "render_all"]

IntArray = npt.NDArray[np.int64]

TENURE_LABEL = {
    "owner_occupied": "Owner occupied",
    "private_rented": "Private rented",
    "local_authority": "Social rented (council)",
    "housing_association": "Social rented (housing association)",
}
EPC_TENURE = {"owner_occupied": "Owner-occupied", "private_rented": "Rented (private)",
              "local_authority": "Rented (social)", "housing_association": "Rented (social)"}
LTC_SNOMED = {"asthma": "195967001", "copd": "13645005", "cvd": "414545008",
              "diabetes": "73211009", "dementia": "52448006", "smi": "58214004",
              "frailty": "248279007"}
LTC_ICD10 = {"asthma": "J459", "copd": "J449", "cvd": "I251", "diabetes": "E119",
             "dementia": "F03X", "smi": "F209", "frailty": "R54X"}
# primary diagnoses by cause (ICD-10, 4 characters without the dot, X-filled)
DIAG = {
    0: ["J189", "J22X", "J441", "J440", "J459", "J069", "J209", "J219", "J181"],
    1: ["I214", "I219", "I500", "I489", "I639", "I10X", "I200"],
    2: ["S720", "S060", "S525", "S019", "S320", "T07X", "S422"],
    3: ["N390", "L031", "A099", "A419", "A084", "K359"],
    4: ["R69X", "R104", "R074", "R55X", "K529", "N179", "E86X", "R296", "K922", "F101"],
    5: ["H251", "M170", "K802", "N200", "Z511", "M161", "K409"],
    6: ["O800"],
}
FALL_CAUSE = ["W19X", "W10X", "W01X", "W18X", "W06X"]
EMERGENCY_METHODS = (["21"] * 70 + ["22"] * 12 + ["2A"] * 6 + ["23"] * 2 + ["24"] * 3
                     + ["25"] * 1 + ["28"] * 6)
ELECTIVE_METHODS = ["11"] * 6 + ["12"] * 2 + ["13"] * 2
_MINOR_HAZARDS = [h for h in HAZARDS if h not in {
    "Damp and mould growth", "Excess cold", "Crowding and space", "Falling on level surfaces",
    "Falling on stairs etc"}]
ECDS_COMPLAINT = ["267036007", "29857009", "1912002", "386661006", "21522001", "25064002"]
ECDS_DIAGNOSIS = ["195951007", "22298006", "125605004", "68566005", "21522001", "25064002"]
DISCHARGED_HOME = "306689006"
ADMITTED = "306706006"
DEATH_CAUSE = {0: "J189", 1: "I219", 2: "W19X", 3: "A419", 4: "C349", 5: "R54X"}
DAMP_WORK = ("Mould wash and treatment", "Extractor fan fitted", "Roof repair",
             "Damp proof course", "Window and ventilation repair")
ADAPTATIONS = ("Stairlift", "Grab rails", "Level access shower", "Ramp")
_DAMP_TEXT = (
    "Black mould on bedroom ceiling and around the window",
    "Damp patches on the living room wall, wallpaper peeling",
    "Mould in the bathroom spreading to the hallway",
    "Condensation on windows every morning, mould on the frames",
    "Musty smell and mould behind the wardrobe in the back bedroom",
    "Water coming through the kitchen ceiling, damp spreading",
    "Child's bedroom has mould on the walls, tenant worried about their cough",
)
_NO_DAMP_TEXT = (
    "Condensation on windows, tenant asking for advice",
    "Tenant reports a damp smell, no visible mould",
    "Steamed-up windows in the kitchen",
)


@dataclass
class Rendered:
    """One landing file and the truth behind its records."""

    name: str
    frame: pd.DataFrame
    key: str  # the column that identifies a record
    person: IntArray | None = None  # true person of each record (same order as frame)
    uprn: IntArray | None = None  # true home of each record
    errors: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict)


def _dates(days: npt.ArrayLike, *, nullable: bool = True) -> npt.NDArray[np.datetime64]:
    """Days since 1970 as dates; -1 means "no date" unless ``nullable`` is false.

    Dates before 1970 are negative, so columns that are never empty (dates of birth,
    registration and tenancy start dates) pass ``nullable=False``.
    """
    d = np.asarray(days, dtype=np.int64)
    out = d.astype("datetime64[D]")
    if nullable:
        out[d == -1] = np.datetime64("NaT")
    return out


def _ref(prefix: str, numbers: npt.ArrayLike, width: int) -> npt.NDArray[np.str_]:
    """Reference strings such as ``T0000123``: a prefix and a zero-padded number.

    Built from digit bytes rather than formatted one by one (millions of rows at scale).
    """
    nums = np.asarray(numbers, dtype=np.int64).ravel()
    width = max(width, len(str(int(nums.max()))) if nums.size else 1)
    digits = (nums[:, None] // 10 ** np.arange(width - 1, -1, -1)) % 10 + ord("0")
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    raw = np.hstack([np.broadcast_to(head, (nums.size, head.size)), digits.astype(np.uint8)])
    return np.ascontiguousarray(raw).view(f"S{raw.shape[1]}").ravel().astype(str)


def _end_day(w: World) -> int:
    return month_start_day(w, w.cfg.months)[0]


def _obj(a: npt.ArrayLike) -> npt.NDArray[np.object_]:
    return np.asarray(a).astype(object)


def _band(score: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    edges = np.array([10, 20, 50, 100, 200, 500, 1000, 2000, 5000])
    letters = np.array(list("JIHGFEDCBA"))
    return letters[np.searchsorted(edges, score, side="right")]


def _address_parts(w: World, homes: IntArray) -> dict[str, npt.NDArray[np.object_]]:
    flat = w.home_flat[homes]
    num = w.home_number[homes].astype(str).astype(object)
    street = _obj(w.home_street[homes])
    building = _obj(w.home_building[homes])
    locality = _obj(w.home_locality[homes])
    is_flat = flat > 0
    flat_txt = ("Flat " + flat.astype(str)).astype(object)
    num_street = num + " " + street
    line1 = np.where(is_flat, flat_txt + ", " + building, num_street)
    line2 = np.where(is_flat, num_street, locality)
    line3 = np.where(is_flat, locality, names.TOWN)
    line4 = np.where(is_flat, names.TOWN, "")
    return {"line1": line1, "line2": line2, "line3": line3, "line4": line4,
            "is_flat": is_flat, "flat": flat_txt, "building": building, "num": num,
            "street": street, "locality": locality}


# --------------------------------------------------------------------------------------------
# property sources


def gazetteer(w: World, h: History) -> Rendered:
    """The council's address gazetteer: every home, every tenure."""
    homes = np.arange(w.uprn.size)
    ten = np.array(TENURES)[w.home_tenure]
    form = w.home_form
    cls = np.where(w.home_type == 1, "RD06", np.where(w.home_type == 2, "RD06",
                   np.where(w.home_type == 3, "RD02", np.array(["RD02", "RD03", "RD04", "RD04",
                                                                 "RD04"])[form])))
    df = pd.DataFrame({
        "UPRN": w.uprn,
        "SAO_TEXT": np.where(w.home_flat > 0, "Flat " + w.home_flat.astype(str), ""),
        "PAO_TEXT": w.home_building,
        "PAO_START_NUMBER": w.home_number,
        "STREET_DESCRIPTION": w.home_street,
        "LOCALITY": w.home_locality,
        "TOWN_NAME": names.TOWN,
        "POSTCODE_LOCATOR": w.home_postcode,
        "CLASSIFICATION_CODE": cls,
        "LSOA_CODE": w.lsoa_code[w.home_lsoa],
        "TENURE": np.vectorize(TENURE_LABEL.get)(ten),
    })
    return Rendered("gazetteer", df, "UPRN", uprn=w.uprn[homes])


def epc_certificates(w: World, h: History) -> Rendered:
    """The EPC register: certificates for the homes that have one (some have two)."""
    rng = rng_for(w.cfg.seed, "render-epc")
    cfg = w.cfg.housing
    n = w.uprn.size
    cov = np.array([cfg.epc_coverage_by_tenure[t] for t in TENURES])[w.home_tenure]
    has = np.flatnonzero(rng.random(n) < cov)
    second = has[rng.random(has.size) < 0.25]
    homes = np.concatenate([has, second])
    older = np.concatenate([np.zeros(has.size, bool), np.ones(second.size, bool)])
    k = homes.size
    end = _end_day(w)
    newest = end - rng.integers(30, 3650, has.size)
    newest_of = dict(zip(has.tolist(), newest.tolist(), strict=True))
    second_newest = np.array([newest_of[x] for x in second.tolist()], dtype=np.int64)
    lodged = np.concatenate([newest, second_newest - rng.integers(365, 2000, second.size)])
    sap_true = w.home_sap[homes]
    sap = np.clip(np.round(sap_true + rng.normal(0, 2, k) - older * rng.uniform(0, 8, k)), 1, 100)
    sap = np.where(sap_true < EXCESS_COLD_SAP, np.minimum(sap, 33), sap).astype(int)
    band = np.array(list("GFEDCBA"))[np.searchsorted([21, 39, 55, 69, 81, 92], sap,
                                                      side="right")]
    parts = _address_parts(w, homes)
    no_data = lambda: rng.random(k) < cfg.epc_no_data_rate  # noqa: E731
    heat = w.home_heating[homes]
    rooms = w.home_bedrooms[homes].astype(int) + np.where(w.home_type[homes] == 1, 1, 2)
    floor = np.char.mod("%.1f", np.round(w.home_floor_area[homes] + rng.normal(0, 3, k), 1)
                        ).astype(object)
    age_band = np.array(AGE_BANDS_EPC)[w.home_age_band[homes]].astype(object)
    walls = np.array(WALLS)[w.home_walls[homes]].astype(object)
    mainheat = np.array(HEATING)[heat].astype(object)
    gas = np.where(heat == 0, "Y", "N").astype(object)
    tenure = np.vectorize(EPC_TENURE.get)(np.array(TENURES)[w.home_tenure[homes]]).astype(object)
    for arr in (floor, age_band, walls, mainheat, gas, tenure):
        arr[no_data()] = "NO DATA!"
    uprn = w.uprn[homes].astype(object)
    uprn[rng.random(k) < 0.05] = None  # older certificates often lack the UPRN
    lmk = np.char.add(np.char.mod("%016x", rng.integers(0, 2**62, k)),
                      np.char.mod("%016x", rng.integers(0, 2**62, k)))
    df = pd.DataFrame({
        "LMK_KEY": lmk,
        "ADDRESS1": parts["line1"],
        "ADDRESS2": parts["line2"],
        "POSTCODE": w.home_postcode[homes],
        "UPRN": pd.array(uprn, dtype="Int64"),
        "LODGEMENT_DATE": _dates(lodged),
        "PROPERTY_TYPE": np.array(PROPERTY_TYPES)[w.home_type[homes]],
        "BUILT_FORM": np.array(BUILT_FORMS)[w.home_form[homes]],
        "CONSTRUCTION_AGE_BAND": age_band,
        "TOTAL_FLOOR_AREA": floor,
        "NUMBER_HABITABLE_ROOMS": rooms,
        "CURRENT_ENERGY_RATING": band,
        "CURRENT_ENERGY_EFFICIENCY": sap,
        "MAINS_GAS_FLAG": gas,
        "MAIN_FUEL": np.array(FUEL_OF_HEATING)[heat],
        "MAINHEAT_DESCRIPTION": mainheat,
        "WALLS_DESCRIPTION": walls,
        "TENURE": tenure,
    })
    order = np.lexsort((lodged, homes))
    errs = {"uprn_missing": df["UPRN"].isna().to_numpy()}
    return _reorder(Rendered("epc_certificates", df, "LMK_KEY", uprn=w.uprn[homes],
                             errors=errs), order)


def _reorder(r: Rendered, order: IntArray) -> Rendered:
    r.frame = r.frame.iloc[order].reset_index(drop=True)
    if r.person is not None:
        r.person = r.person[order]
    if r.uprn is not None:
        r.uprn = r.uprn[order]
    r.errors = {k: v[order] for k, v in r.errors.items()}
    return r


def _hazard_rows(w: World, rng: np.random.Generator, found: dict[str, npt.NDArray],
                 ref: npt.NDArray) -> pd.DataFrame:
    """HHSRS hazards an assessor finds, with scores and bands."""
    homes = found["home"]
    parts = []
    specs = (("damp", "Damp and mould growth", 0.85, 0.3),
             ("cold", "Excess cold", 0.85, 0.6),
             ("stairs", "Falling on stairs etc", 0.85, 0.7),
             ("level", "Falling on level surfaces", 0.85, 0.4),
             ("crowded", "Crowding and space", 0.7, 0.1))
    for key, hazard, sens, p_cat1 in specs:
        hit = found[key] & (rng.random(homes.size) < sens)
        i = np.flatnonzero(hit)
        cat1 = rng.random(i.size) < p_cat1
        score = np.where(cat1, rng.integers(1000, 6000, i.size), rng.integers(100, 1000, i.size))
        parts.append(pd.DataFrame({"ref": ref[i], "uprn": w.uprn[homes[i]], "hazard": hazard,
                                   "score": score}))
    n_minor = rng.poisson(0.4, homes.size)
    i = np.repeat(np.arange(homes.size), n_minor)
    parts.append(pd.DataFrame({
        "ref": ref[i], "uprn": w.uprn[homes[i]],
        "hazard": np.array(_MINOR_HAZARDS)[rng.integers(0, len(_MINOR_HAZARDS), i.size)],
        "score": rng.integers(5, 500, i.size),
    }))
    out = pd.concat(parts, ignore_index=True)
    out = out.drop_duplicates(["ref", "hazard"]).sort_values(["ref", "hazard"], kind="stable")
    out["band"] = _band(out["score"].to_numpy())
    return out.reset_index(drop=True)


def _hazard_frame(key: str, hz: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({key: hz["ref"], "UPRN": hz["uprn"], "HAZARD": hz["hazard"],
                         "HAZARD_SCORE": hz["score"], "HAZARD_BAND": hz["band"]})


def _inspections(w: World, h: History, kind: str, seed_name: str
                 ) -> tuple[dict[str, npt.NDArray], npt.NDArray, np.random.Generator]:
    d = h.cat_dict(kind) if getattr(h, kind) else {
        "home": np.zeros(0, np.int64), "household": np.zeros(0, np.int64),
        "day": np.zeros(0, np.int64), **{k: np.zeros(0, bool) for k in
                                         ("damp", "cold", "stairs", "level", "crowded",
                                          "enforced")}}
    order = np.lexsort((d["home"], d["day"]))
    d = {k: v[order] for k, v in d.items()}
    rng = rng_for(w.cfg.seed, seed_name)
    prefix = "SCS" if kind == "survey" else "PSH"
    ref = _ref(prefix, np.arange(1, d["home"].size + 1), 7)
    return d, ref, rng


def stock_condition(w: World, h: History) -> list[Rendered]:
    """Stock-condition surveys of social homes and the HHSRS hazards they found."""
    d, ref, rng = _inspections(w, h, "survey", "render-survey")
    surveys = pd.DataFrame({"SURVEY_REFERENCE": ref, "UPRN": w.uprn[d["home"]],
                            "SURVEY_DATE": _dates(d["day"]),
                            "SURVEY_TYPE": "Stock condition survey (HHSRS)"})
    hz = _hazard_rows(w, rng, d, ref)
    hazards = _hazard_frame("SURVEY_REFERENCE", hz)
    return [Rendered("stock_condition_surveys", surveys, "SURVEY_REFERENCE",
                     uprn=w.uprn[d["home"]]),
            Rendered("stock_condition_hazards", hazards, "SURVEY_REFERENCE",
                     uprn=hz["uprn"].to_numpy())]


def private_sector(w: World, h: History) -> list[Rendered]:
    """Private-sector HHSRS inspections by the council and the hazards they found."""
    d, ref, rng = _inspections(w, h, "inspection", "render-inspection")
    hz = _hazard_rows(w, rng, d, ref)
    cat1 = np.isin(ref, hz.loc[hz["score"] >= 1000, "ref"].unique())
    enforced = d["enforced"]
    outcome = np.where(enforced, "Improvement notice",
                       np.where(cat1 | (rng.random(ref.size) < 0.3), "Informal action",
                                "No action"))
    reason = np.array(["Tenant complaint", "HMO licensing", "Proactive inspection"])[
        np.searchsorted([0.7, 0.85], rng.random(ref.size))]
    insp = pd.DataFrame({"INSPECTION_REFERENCE": ref, "UPRN": w.uprn[d["home"]],
                         "INSPECTION_DATE": _dates(d["day"]), "REASON": reason,
                         "OUTCOME": outcome})
    hazards = _hazard_frame("INSPECTION_REFERENCE", hz)
    return [Rendered("private_sector_inspections", insp, "INSPECTION_REFERENCE",
                     uprn=w.uprn[d["home"]]),
            Rendered("private_sector_hazards", hazards, "INSPECTION_REFERENCE",
                     uprn=hz["uprn"].to_numpy())]


# --------------------------------------------------------------------------------------------
# social housing


@dataclass
class _Tenancies:
    hh: IntArray
    home: IntArray
    start: IntArray
    end: IntArray
    reason: IntArray
    ref: npt.NDArray[np.str_]


def _tenancies(w: World, h: History) -> _Tenancies:
    hh, home = h.cat("occ_hh"), h.cat("occ_home")
    start, end, reason = h.cat("occ_from"), h.cat("occ_to"), h.cat("occ_end")
    social = w.home_tenure[home] >= 2
    hh, home, start, end, reason = hh[social], home[social], start[social], end[social], \
        reason[social]
    order = np.lexsort((hh, start))
    hh, home, start, end, reason = (a[order] for a in (hh, home, start, end, reason))
    ref = _ref("T", np.arange(1, hh.size + 1), 7)
    return _Tenancies(hh, home, start, end, reason, ref)


def tenancies(w: World, h: History, ten: _Tenancies) -> Rendered:
    """Social tenancies active at any time in the period (moves in and out)."""
    rng = rng_for(w.cfg.seed, "render-tenancies")
    la = w.home_tenure[ten.home] == 2
    ttype = np.where(la, np.where(rng.random(la.size) < 0.9, "Secure", "Introductory"),
                     np.where(rng.random(la.size) < 0.9, "Assured", "Starter"))
    end_reason = np.array(["", "Transfer or moved within area", "Moved out of area",
                           "Death of tenant"])[ten.reason]
    df = pd.DataFrame({
        "TENANCY_REF": ten.ref,
        "UPRN": w.uprn[ten.home],
        "LANDLORD": np.where(la, f"{names.TOWN} City Council",
                             f"{names.TOWN} Homes Housing Association"),
        "TENANCY_TYPE": ttype,
        "BEDROOMS": w.home_bedrooms[ten.home],
        "START_DATE": _dates(ten.start, nullable=False),
        "END_DATE": _dates(ten.end),
        "END_REASON": end_reason,
    })
    return Rendered("tenancies", df, "TENANCY_REF", uprn=w.uprn[ten.home])


def _tenancy_of(ten: _Tenancies, hh: IntArray, home: IntArray, day: IntArray) -> IntArray:
    """Index of the tenancy of household ``hh`` at ``home`` holding ``day`` (-1 if none)."""
    t = pd.DataFrame({"hh": ten.hh, "home": ten.home, "start": ten.start,
                      "i": np.arange(ten.hh.size)}).sort_values("start")
    q = pd.DataFrame({"hh": hh, "home": home, "day": day, "q": np.arange(hh.size)})
    m = pd.merge_asof(q.sort_values("day"), t, left_on="day", right_on="start",
                      by=["hh", "home"], direction="backward")
    m = m.sort_values("q")
    return m["i"].fillna(-1).astype(np.int64).to_numpy()


def _person_names(w: World, people: IntArray) -> tuple[npt.NDArray, npt.NDArray]:
    first = w.names.first[w.p_first[people]].astype(object)
    sur = w.names.surname[w.p_surname[people]].astype(object)
    s2 = w.p_surname2[people]
    dbl = s2 >= 0
    sur[dbl] = sur[dbl] + "-" + w.names.surname[s2[dbl]].astype(object)
    return first, sur


def housing_residents(w: World, h: History, ten: _Tenancies) -> Rendered:
    """Residents as the housing register holds them: messy names and dates, few NHS numbers."""
    cfg = w.cfg.noise
    rng = rng_for(w.cfg.seed, "render-residents")
    person, home = h.cat("res_person"), h.cat("res_home")
    start, end = h.cat("res_from"), h.cat("res_to")
    social = w.home_tenure[home] >= 2
    person, home, start, end = person[social], home[social], start[social], end[social]
    hh = w.p_household[person]
    ti = _tenancy_of(ten, hh, home, start)
    # a person born or joining before the tenancy began belongs to it from its start
    ok = ti >= 0
    person, home, start, end, ti = person[ok], home[ok], start[ok], end[ok], ti[ok]
    start = np.maximum(start, ten.start[ti])
    order = np.lexsort((person, ti))
    person, home, start, end, ti = (a[order] for a in (person, home, start, end, ti))
    k = person.size
    age = ages_at(w, person, start)
    # relationship: the oldest adult leads; a second adult in a couple is joint tenant
    rank = pd.Series(-age).groupby(ti).rank(method="first").to_numpy()
    rel = np.where(rank == 1, "Lead tenant",
                   np.where((rank == 2) & w.hh_couple[w.p_household[person]] & (age >= 18),
                            "Joint tenant", "Household member"))
    first, sur = _person_names(w, person)
    errors: dict[str, npt.NDArray[np.bool_]] = {}
    origin = w.p_origin[person]
    translit = w.names.transliterated[origin]
    mult = np.where(translit, cfg.transliteration_multiplier, 1.0)
    # spelling variants of transliterated names, nicknames, hyphens, old surnames, then typos
    variant = cfg.transliteration_variant_rate
    first, ch1 = noise.transliterate(first, translit & (rng.random(k) < variant), rng)
    sur, ch2 = noise.transliterate(sur, translit & (rng.random(k) < variant), rng)
    errors["name_transliteration_variant"] = ch1 | ch2
    # structural changes first, keyboard typos last, so every flagged field really differs
    first, ch = noise.nickname(first, rng.random(k) < cfg.nickname_rate, rng)
    errors["nickname"] = ch
    dbl = w.p_surname2[person] >= 0
    hv = dbl & (rng.random(k) < cfg.hyphen_variant_rate)
    if hv.any():
        sur[hv] = noise.hyphen_variant(w.names.surname[w.p_surname[person[hv]]].astype(object),
                                       w.names.surname[w.p_surname2[person[hv]]].astype(object),
                                       rng)
    errors["hyphenated_surname_variant"] = hv
    maiden = w.p_maiden[person]
    sc = (maiden >= 0) & (maiden != w.p_surname[person]) & (
        rng.random(k) < cfg.surname_change_rate)
    sur[sc] = w.names.surname[maiden[sc]]
    errors["earlier_surname"] = sc
    m = rng.random(k) < cfg.name_typo_rate * mult
    which = rng.random(k) < 0.5
    first = noise.typo(first, m & which, rng)
    sur = noise.typo(sur, m & ~which, rng)
    errors["name_typo"] = m
    dob = w.p_dob[person].copy()
    # about 36% of dates can be swapped (day 12 or less and not equal to the month)
    dob, swapped = noise.swap_day_month(dob, rng.random(k) < cfg.dob_swap_rate / 0.36)
    errors["dob_day_month_swapped"] = swapped
    dt = ~swapped & (rng.random(k) < cfg.dob_typo_rate)
    dob = noise.typo_date(dob, dt, rng)
    errors["dob_typo"] = dt
    # NHS number: often missing, more often for minority ethnic groups and for children; the
    # group differences are relative, scaled so the overall share is the configured one
    miss_mult = np.where(w.p_eth[person] >= 2, 1.4, 1.0) * np.where(age < 16, 1.5, 1.0)
    p_missing = _scaled_rate(miss_mult, 1 - cfg.housing_nhs_number_share)
    has_nhs = rng.random(k) >= p_missing
    errors["nhs_number_missing"] = ~has_nhs
    eth = np.array(list(ETHNIC_CATEGORIES))[w.p_eth[person]].astype(object)
    eth[rng.random(k) < cfg.housing_ethnicity_not_stated_rate] = "Z"
    df = pd.DataFrame({
        "RESIDENT_ID": _ref("R", np.arange(1, k + 1), 8),
        "TENANCY_REF": ten.ref[ti],
        "RELATIONSHIP": rel,
        "FORENAME": first,
        "SURNAME": sur,
        "DATE_OF_BIRTH": _dates(dob, nullable=False),
        "SEX": np.where(w.p_sex[person] == 0, "Female", "Male"),
        "ETHNIC_ORIGIN": np.vectorize(ETHNIC_LABEL.get)(eth),
        "NHS_NUMBER": np.where(has_nhs, w.p_nhs[person].astype(str), None),
        "START_DATE": _dates(start, nullable=False),
        "END_DATE": _dates(end),
    })
    return Rendered("housing_residents", df, "RESIDENT_ID", person=person, uprn=w.uprn[home],
                    errors=errors)


def _scaled_rate(mult: npt.NDArray[np.float64], mean: float) -> npt.NDArray[np.float64]:
    """Per-row probabilities ``min(1, s * mult)`` whose average is ``mean`` (bisection on s)."""
    if mult.size == 0 or mean <= 0:
        return np.zeros(mult.size)
    lo, hi = 0.0, 1.0 / max(mult.min(), 1e-9)
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.minimum(mid * mult, 1).mean() < mean else (lo, mid)
    return np.minimum((lo + hi) / 2 * mult, 1)


def _free_text(w: World, rng: np.random.Generator, base: npt.NDArray, people: IntArray
               ) -> tuple[npt.NDArray, npt.NDArray[np.bool_]]:
    """Free text as officers type it; some carries names, phone numbers, emails, NHS numbers."""
    k = base.size
    out = base.astype(object).copy()
    pii = (rng.random(k) < 0.08) & (people >= 0)
    first, sur = _person_names(w, np.maximum(people, 0))
    for i in np.flatnonzero(pii):
        kind = int(rng.integers(0, 4))
        if kind == 0:
            out[i] = f"{out[i]}. Spoke to {first[i]} {sur[i]}, call back on 07700 900{i % 1000:03d}"
        elif kind == 1:
            out[i] = f"{out[i]}. Tenant email {str(first[i]).lower()}.{str(sur[i]).lower()}" \
                     "@example.com"
        elif kind == 2:
            nhs = str(w.p_nhs[people[i]])
            out[i] = f"{out[i]}. GP letter attached, NHS no {nhs[:3]} {nhs[3:6]} {nhs[6:]}"
        else:
            out[i] = f"{out[i]}. Mrs {sur[i]} says it has been like this since winter"
    return out, pii


def damp_and_mould(w: World, h: History, ten: _Tenancies) -> list[Rendered]:
    """Hazard reports, investigations and work orders after the Awaab's Law data standard."""
    rng = rng_for(w.cfg.seed, "render-damp")
    if not h.report:
        empty = np.zeros(0, np.int64)
        d = {k: empty for k in ("report_id", "home", "household", "reported", "made_safe",
                                "scheduled", "inv_completed", "severity", "wo_raised",
                                "wo_completed", "close_month", "work_type")}
        d |= {k: np.zeros(0, bool) for k in ("true_damp", "emergency", "confirmed")}
    else:
        d = h.cat_dict("report")
    k = d["home"].size
    end = _end_day(w)
    ti = _tenancy_of(ten, d["household"], d["home"], d["reported"])
    tref = np.where(ti >= 0, ten.ref[np.maximum(ti, 0)], None)
    ref = _ref("HR", d["report_id"] + 1, 7)
    lead = _lead_person(w, d["household"], d["reported"])
    base = np.where(d["true_damp"], np.array(_DAMP_TEXT)[rng.integers(0, len(_DAMP_TEXT), k)],
                    np.array(_NO_DAMP_TEXT)[rng.integers(0, len(_NO_DAMP_TEXT), k)])
    desc, pii = _free_text(w, rng, base, lead)
    closed = d["close_month"] < w.cfg.months
    reports = pd.DataFrame({
        "hazard_report_reference": ref,
        "uprn": w.uprn[d["home"]],
        "tenancy_id": tref,
        "date_reported": _dates(d["reported"]),
        "description": desc,
        "emergency_action_taken": d["emergency"],
        "made_safe_date": _dates(d["made_safe"]),
        "further_work_required": d["confirmed"],
        "report_status": np.where(closed, "Closed", "Open"),
    })
    done = d["inv_completed"] < end
    inv = pd.DataFrame({
        "investigation_reference": _ref("INV", d["report_id"] + 1, 7),
        "hazard_report_reference": ref,
        "uprn": w.uprn[d["home"]],
        "tenancy_id": tref,
        "investigation_scheduled_date": _dates(d["scheduled"]),
        "investigation_completed_date": _dates(np.where(done, d["inv_completed"], -1)),
        "hazard_confirmed": np.where(done, d["confirmed"], None),
        "hazard_type": "Damp and mould growth",
        "severity": np.where(done & d["confirmed"], np.array(
            ["", "Moderate", "Significant", "Emergency"])[d["severity"]], None),
        "sla_breach_flag": (np.where(done, d["inv_completed"], end) - d["reported"]) > 14,
    })
    wo_i = np.flatnonzero(d["confirmed"] & (d["wo_raised"] >= 0) & (d["wo_raised"] < end))
    wo_done = (d["wo_completed"][wo_i] >= 0) & (d["wo_completed"][wo_i] < end)
    wo = pd.DataFrame({
        "work_order_reference": _ref("WO", wo_i + 1, 7),
        "hazard_report_reference": ref[wo_i],
        "uprn": w.uprn[d["home"][wo_i]],
        "tenancy_id": tref[wo_i],
        "raised_date": _dates(d["wo_raised"][wo_i]),
        "target_date": _dates(d["wo_raised"][wo_i] + 28),
        "completed_date": _dates(np.where(wo_done, d["wo_completed"][wo_i], -1)),
        "status": np.where(wo_done, "Completed", "Open"),
        "work_type": np.array(DAMP_WORK)[d["work_type"][wo_i]],
    })
    return [
        Rendered("damp_hazard_reports", reports, "hazard_report_reference",
                 uprn=w.uprn[d["home"]], errors={"free_text_identifier": pii}),
        Rendered("damp_investigations", inv, "investigation_reference", uprn=w.uprn[d["home"]]),
        Rendered("damp_work_orders", wo, "work_order_reference", uprn=w.uprn[d["home"][wo_i]]),
    ]


def _lead_person(w: World, households: IntArray, days: IntArray) -> IntArray:
    """The oldest member of each household alive on each day (-1 if none found)."""
    n = w.n_people
    people = np.arange(n)
    order = np.lexsort((w.p_dob[:n], w.p_household[:n]))
    hh_sorted = w.p_household[:n][order]
    out = np.full(households.size, -1, dtype=np.int64)
    first = np.searchsorted(hh_sorted, households, side="left")
    last = np.searchsorted(hh_sorted, households, side="right")
    for i, (a, b) in enumerate(zip(first, last, strict=True)):
        for j in order[a:b]:
            if w.p_dob[j] + 18 * 365 <= days[i] and people[j] >= 0:
                out[i] = j
                break
    return out


def adaptations(w: World, h: History, ten: _Tenancies) -> Rendered:
    """Home adaptations (stairlifts, rails, showers, ramps) requested and fitted."""
    if h.adaptation:
        d = h.cat_dict("adaptation")
    else:
        d = {k: np.zeros(0, np.int64) for k in ("home", "household", "requested", "completed",
                                                  "done_month", "kind")}
    end = _end_day(w)
    ti = _tenancy_of(ten, d["household"], d["home"], d["requested"])
    done = (d["completed"] >= 0) & (d["completed"] < end)
    df = pd.DataFrame({
        "ADAPTATION_REFERENCE": _ref("AD", np.arange(1, d["home"].size + 1), 6),
        "UPRN": w.uprn[d["home"]],
        "TENANCY_REF": np.where(ti >= 0, ten.ref[np.maximum(ti, 0)], None),
        "ADAPTATION_TYPE": np.array(ADAPTATIONS)[d["kind"]],
        "REQUESTED_DATE": _dates(d["requested"]),
        "COMPLETED_DATE": _dates(np.where(done, d["completed"], -1)),
        "STATUS": np.where(done, "Completed", "In progress"),
    })
    return Rendered("adaptations", df, "ADAPTATION_REFERENCE", uprn=w.uprn[d["home"]])


# --------------------------------------------------------------------------------------------
# health


def _practice_codes(w: World) -> npt.NDArray[np.str_]:
    return _ref("Y9", np.arange(1, w.n_practices + 1), 4)


def gp_registrations(w: World, h: History) -> Rendered:
    """GP registrations with the registered address over time, as people write addresses."""
    cfg = w.cfg.noise
    rng = rng_for(w.cfg.seed, "render-gp")
    end = _end_day(w)
    person, home = h.cat("res_person"), h.cat("res_home")
    start, stop = h.cat("res_from"), h.cat("res_to")
    order = np.lexsort((start, person))
    person, home, start, stop = person[order], home[order], start[order], stop[order]
    k = person.size
    first_row = np.ones(k, dtype=bool)
    first_row[1:] = person[1:] != person[:-1]
    # the GP learns of a move late for some movers: the old address stays on the record
    lag = np.where(~first_row & (rng.random(k) < cfg.address_lag_share),
                   rng.geometric(1 / max(cfg.address_lag_months, 1) / 30.4, k), 0)
    stop_eff = np.where(stop < 0, end, stop)
    lag = np.where(start + lag < stop_eff - 1, lag, 0)
    rec_start = start + lag
    rec_stop = stop.copy()
    nxt = np.flatnonzero(~first_row)  # rows whose previous row is the same person's
    rec_stop[nxt - 1] = np.where(stop[nxt - 1] >= 0, rec_start[nxt], stop[nxt - 1])
    outdated = np.zeros(k, dtype=bool)
    outdated[nxt - 1] = lag[nxt] > 0
    first_of_person = np.maximum.accumulate(np.where(first_row, np.arange(k), 0))
    reg_date = np.minimum(w.p_reg_start[person], start[first_of_person])
    exit_day = np.where(w.p_exit[person] < NEVER, stop, -1)
    last_row = np.ones(k, dtype=bool)
    last_row[:-1] = person[1:] != person[:-1]
    dereg = np.where(last_row & (exit_day >= 0), exit_day + rng.integers(0, 30, k), -1)
    dereg = np.where(dereg >= end, -1, dereg)
    # duplicates: a second registration for a few people, at another practice
    dup_people = np.flatnonzero((first_row) & (rng.random(k) < cfg.duplicate_registration_rate))
    rows = np.concatenate([np.arange(k), dup_people])
    is_dup = np.concatenate([np.zeros(k, bool), np.ones(dup_people.size, bool)])
    person_r = person[rows]
    n = rows.size
    practice = w.p_practice[person_r].copy()
    practice[is_dup] = (practice[is_dup] + 1 + rng.integers(0, max(w.n_practices - 1, 1),
                                                            is_dup.sum())) % w.n_practices
    first, sur = _person_names(w, person_r)
    dup_typo = is_dup & (rng.random(n) < 0.3)
    sur = noise.typo(sur, dup_typo, rng)
    parts = _address_parts(w, home[rows])
    line1, line2, line3, line4 = (parts[f"line{i}"].copy() for i in range(1, 5))
    postcode = w.home_postcode[home[rows]].astype(object)
    errors: dict[str, npt.NDArray[np.bool_]] = {}
    # building name instead of number, missing flat number, informal writing, typos
    is_flat = parts["is_flat"]
    bname = is_flat & (rng.random(n) < cfg.building_name_rate)
    line2 = np.where(bname, parts["street"], line2)
    errors["address_building_name_not_number"] = bname
    nofl = is_flat & (rng.random(n) < cfg.missing_flat_rate)
    line1 = np.where(nofl, parts["building"], line1)
    errors["address_missing_flat"] = nofl
    messy = rng.random(n) < cfg.address_messy_rate
    if messy.any():
        mi = np.flatnonzero(messy)
        abbrev = noise.abbreviate_street(line2[mi].astype(object))
        line2[mi] = np.where(is_flat[mi], abbrev, line2[mi])
        one_line = ~is_flat[mi] & (rng.random(mi.size) < 0.5)
        street_ab = noise.abbreviate_street(parts["street"][mi])
        l1 = np.where(one_line, parts["num"][mi] + " " + street_ab + " " + parts["locality"][mi],
                      parts["num"][mi] + " " + street_ab)
        line1[mi] = np.where(is_flat[mi], line1[mi], l1)
        line2[mi] = np.where(~is_flat[mi], np.where(one_line, "", line2[mi]), line2[mi])
        lower = rng.random(mi.size) < 0.3
        for arr in (line1, line2, line3, line4):
            arr[mi[lower]] = np.char.lower(arr[mi[lower]].astype(str)).astype(object)
        nospace = rng.random(mi.size) < 0.3
        postcode[mi[nospace]] = np.char.replace(postcode[mi[nospace]].astype(str), " ", "")
    errors["address_informal"] = messy
    ty = rng.random(n) < cfg.address_typo_rate
    line1 = noise.typo(line1, ty & ~is_flat, rng)
    line2 = noise.typo(line2, ty & is_flat, rng)
    errors["address_typo"] = ty
    errors["address_outdated"] = np.concatenate([outdated, np.zeros(dup_people.size, bool)])
    errors["duplicate_registration"] = is_dup
    errors["name_typo"] = dup_typo
    uprn = np.where(rng.random(n) < cfg.gp_uprn_share, w.uprn[home[rows]], -1)
    wrong = (uprn > 0) & (rng.random(n) < 0.01)
    uprn[wrong] = w.uprn[rng.integers(0, w.uprn.size, int(wrong.sum()))]
    errors["uprn_wrong"] = wrong & (uprn != w.uprn[home[rows]])
    eth = np.array(list(ETHNIC_CATEGORIES))[w.p_eth[person_r]].astype(object)
    eth[rng.random(n) < cfg.gp_ethnicity_not_stated_rate] = "Z"
    rs, re = rec_start[rows], rec_stop[rows]
    dup_start = rs + rng.integers(0, 400, n)
    rs = np.where(is_dup, np.minimum(dup_start, np.where(re >= 0, re, end) - 1), rs)
    re = np.where(is_dup, np.minimum(rs + rng.integers(30, 300, n), np.where(re >= 0, re, end)),
                  re)
    re = np.where(re >= end, -1, re)
    reg = np.where(is_dup, rs, reg_date[rows])
    der = np.where(is_dup, re, dereg[rows])
    patient_id = _ref("P", np.arange(1, n + 1), 8)
    # one local patient id per registration: all rows of a person share it (except duplicates)
    first_of = np.maximum.accumulate(np.where(np.concatenate([first_row, np.ones(
        dup_people.size, bool)]), np.arange(n), 0))
    patient_id = patient_id[first_of]
    uprn_col = pd.array(np.where(uprn > 0, uprn, 0), dtype="Int64")
    uprn_col[uprn <= 0] = pd.NA
    df = pd.DataFrame({
        "RECORD_ID": np.arange(1, n + 1),
        "PATIENT_ID": patient_id,
        "NHS_NUMBER": w.p_nhs[person_r].astype(str),
        "FORENAME": first,
        "SURNAME": sur,
        "DATE_OF_BIRTH": _dates(w.p_dob[person_r], nullable=False),
        "SEX": np.where(w.p_sex[person_r] == 0, "F", "M"),
        "ETHNIC_CATEGORY": eth,
        "PRACTICE_CODE": _practice_codes(w)[practice],
        "REGISTRATION_DATE": _dates(reg, nullable=False),
        "DEREGISTRATION_DATE": _dates(der),
        "ADDRESS_LINE_1": line1,
        "ADDRESS_LINE_2": line2,
        "ADDRESS_LINE_3": line3,
        "ADDRESS_LINE_4": line4,
        "POSTCODE": postcode,
        "UPRN": uprn_col,
        "ADDRESS_FROM": _dates(rs, nullable=False),
        "ADDRESS_TO": _dates(re),
    })
    return Rendered("gp_registrations", df, "RECORD_ID", person=person_r, uprn=w.uprn[home[rows]],
                    errors=errors)


def gp_long_term_conditions(w: World, h: History) -> Rendered:
    """Long-term conditions coded in GP records, with diagnosis dates."""
    rng = rng_for(w.cfg.seed, "render-ltc")
    n = w.n_people
    onset = w.p_ltc_onset[:n]
    p, c = np.nonzero(onset < w.cfg.months)
    order = np.lexsort((c, p))
    p, c = p[order], c[order]
    day = np.array([month_start_day(w, 0)[0]])[0] + onset[p, c].astype(np.int64) * 30.44
    day = (day + rng.integers(0, 28, p.size)).astype(np.int64)
    day = np.maximum(day, w.p_dob[p] + 1)
    cond = np.array(LTC_CONDITIONS)[c]
    df = pd.DataFrame({
        "NHS_NUMBER": w.p_nhs[p].astype(str),
        "PRACTICE_CODE": _practice_codes(w)[w.p_practice[p]],
        "CONDITION": cond,
        "SNOMED_CODE": np.vectorize(LTC_SNOMED.get)(cond) if p.size else np.zeros(0, str),
        "DIAGNOSIS_DATE": _dates(day),
    })
    df.insert(0, "RECORD_ID", np.arange(1, p.size + 1))
    return Rendered("gp_long_term_conditions", df, "RECORD_ID", person=p)


def hes_apc(w: World, h: History) -> list[Rendered]:
    """HES-shaped admitted patient care episodes, and ECDS-shaped A&E attendances."""
    cfg = w.cfg.admissions
    rng = rng_for(w.cfg.seed, "render-hes")
    end = _end_day(w)
    person, day, kind = h.cat("adm_person"), h.cat("adm_day"), h.cat("adm_kind")
    order = np.lexsort((kind, day, person))
    person, day, kind = person[order], day[order], kind[order]
    k = person.size
    age = ages_at(w, person, day)
    emergency = kind <= 4
    los = np.where(kind == 5, rng.integers(0, 3, k),
                   np.round(rng.exponential(1 + np.clip(age, 0, 100) / 12, k))).astype(int)
    death_day = np.full(w.p_dob.size, -1, dtype=np.int64)
    death_day[h.cat("death_person")] = h.cat("death_day")
    dd = death_day[person]
    died_in = (dd >= day) & (dd <= day + los)
    disdate = np.where(died_in, dd, day + los)
    method = np.where(emergency, np.array(EMERGENCY_METHODS)[rng.integers(0, 100, k)],
                      np.where(kind == 6, "31", np.array(ELECTIVE_METHODS)[rng.integers(0, 10,
                                                                                         k)]))
    diag1 = np.empty(k, dtype=object)
    for kk, codes in DIAG.items():
        m = kind == kk
        diag1[m] = np.array(codes)[rng.integers(0, len(codes), int(m.sum()))]
    cause = np.where(kind == 2, np.array(FALL_CAUSE)[rng.integers(0, len(FALL_CAUSE), k)], None)
    # secondary diagnoses: the person's known long-term conditions
    onset_day = (month_start_day(w, 0)[0] + w.p_ltc_onset[person].astype(np.int64) * 30.44)
    has = onset_day <= day[:, None]
    sec = [np.where(has[:, j], LTC_ICD10[c], None) for j, c in enumerate(LTC_CONDITIONS)]
    sec_mat = np.stack(sec, axis=1) if k else np.zeros((0, 7), dtype=object)
    # compact non-null secondary codes to the left
    filled = np.argsort(pd.isna(pd.DataFrame(sec_mat)).to_numpy(), axis=1, kind="stable")
    sec_mat = np.take_along_axis(sec_mat, filled, axis=1)
    multi = rng.random(k) < cfg.multi_episode_share
    n_ep = 1 + multi.astype(int)
    rows = np.repeat(np.arange(k), n_ep)
    epiorder = np.ones(rows.size, dtype=np.int64)
    epiorder[1:][rows[1:] == rows[:-1]] = 2
    # the stay ends at discharge or death in hospital, whichever came first: split its middle
    split = day + np.maximum((disdate - day) // 2, 0)
    epistart = np.where(epiorder == 1, day[rows], split[rows])
    epiend = np.where((epiorder == 1) & multi[rows], split[rows], disdate[rows])
    keep = day[rows] < end
    rows, epiorder, epistart, epiend = rows[keep], epiorder[keep], epistart[keep], epiend[keep]
    dis_known = disdate[rows] < end
    dismeth = np.where(died_in[rows], "4", "1")
    eth = np.array(list(ETHNIC_CATEGORIES))[w.p_eth[person[rows]]].astype(object)
    eth[rng.random(rows.size) < 0.06] = "Z"
    nhs = w.p_nhs[person[rows]].astype(str).astype(object)
    no_nhs = rng.random(rows.size) < 0.005
    nhs[no_nhs] = None
    home = _home_on(h, person[rows], day[rows])
    postcode = np.where(home >= 0, w.home_postcode[np.maximum(home, 0)], "ZZ99 3VZ")
    n_rows = rows.size
    apc = pd.DataFrame({
        "EPIKEY": 300000000000 + np.arange(1, n_rows + 1),
        "NHS_NUMBER": nhs,
        "DOB": _dates(w.p_dob[person[rows]], nullable=False),
        "SEX": np.where(w.p_sex[person[rows]] == 0, "2", "1"),
        "ETHNOS": eth,
        "HOMEADD": postcode,
        "GPPRAC": _practice_codes(w)[w.p_practice[person[rows]]],
        "PROCODE": "RZZ",
        "ADMIDATE": _dates(day[rows]),
        "EPISTART": _dates(epistart),
        "EPIEND": _dates(np.where(epiend < end, epiend, -1)),
        "DISDATE": _dates(np.where(dis_known, disdate[rows], -1)),
        "EPIORDER": epiorder,
        "CLASSPAT": np.where((kind[rows] == 5) & (los[rows] == 0), "2", "1"),
        "ADMIMETH": method[rows],
        "DISMETH": np.where(dis_known, dismeth, "9"),
        "DIAG_4_01": diag1[rows],
        **{f"DIAG_4_{j + 2:02d}": sec_mat[rows, j] for j in range(5)},
        "CAUSE_4": cause[rows],
    })
    errors = {"nhs_number_missing": no_nhs}
    out = [Rendered("hes_apc", apc, "EPIKEY", person=person[rows], errors=errors)]
    # ECDS: admissions through A&E (ADMIMETH 21) and attendances sent home
    via_ae = emergency & (method == "21") & (day < end)
    ae_p, ae_d, ae_k = h.cat("ae_person"), h.cat("ae_day"), h.cat("ae_kind")
    cause_map = np.array([0, 1, 2, 3, 4, 4, 4])
    p_all = np.concatenate([person[via_ae], ae_p])
    d_all = np.concatenate([day[via_ae], ae_d])
    complaint_group = np.concatenate([np.array([0, 1, 2, 3, 4])[cause_map[kind[via_ae]]],
                                      ae_k]).clip(0, 5)
    admitted = np.concatenate([np.ones(int(via_ae.sum()), bool), np.zeros(ae_p.size, bool)])
    order = np.lexsort((d_all, p_all))
    p_all, d_all, complaint_group, admitted = (a[order] for a in (p_all, d_all,
                                                                  complaint_group, admitted))
    m = p_all.size
    nhs = w.p_nhs[p_all].astype(str).astype(object)
    no_nhs = rng.random(m) < 0.01
    nhs[no_nhs] = None
    ecds = pd.DataFrame({
        "EC_IDENT": 500000000 + np.arange(1, m + 1),
        "NHS_NUMBER": nhs,
        "DATE_OF_BIRTH": _dates(w.p_dob[p_all], nullable=False),
        "SEX": np.where(w.p_sex[p_all] == 0, "2", "1"),
        "ARRIVAL_DATE": _dates(d_all),
        "EC_DEPARTMENT_TYPE": "01",
        "EC_CHIEF_COMPLAINT_SNOMED_CT": np.array(ECDS_COMPLAINT)[complaint_group],
        "EC_DIAGNOSIS_01": np.array(ECDS_DIAGNOSIS)[complaint_group],
        "DISCHARGE_DESTINATION_SNOMED_CT": np.where(admitted, ADMITTED, DISCHARGED_HOME),
        "PROVIDER_CODE": "RZZ",
    })
    out.append(Rendered("ecds_attendances", ecds, "EC_IDENT", person=p_all,
                        errors={"nhs_number_missing": no_nhs}))
    return out


def _home_on(h: History, people: IntArray, days: IntArray) -> IntArray:
    """The home each person lived in on each day, from the residence history (-1 if none)."""
    res = pd.DataFrame({"person": h.cat("res_person"), "home": h.cat("res_home"),
                        "start": h.cat("res_from")}).sort_values("start")
    q = pd.DataFrame({"person": people, "day": days, "i": np.arange(people.size)})
    m = pd.merge_asof(q.sort_values("day"), res, left_on="day", right_on="start", by="person",
                      direction="backward").sort_values("i")
    return m["home"].fillna(-1).astype(np.int64).to_numpy()


def deaths(w: World, h: History) -> Rendered:
    """Civil registration deaths of residents."""
    rng = rng_for(w.cfg.seed, "render-deaths")
    p, d, c = h.cat("death_person"), h.cat("death_day"), h.cat("death_cause")
    order = np.lexsort((p, d))
    p, d, c = p[order], d[order], c[order]
    df = pd.DataFrame({
        "DEATH_RECORD_ID": np.arange(1, p.size + 1),
        "NHS_NUMBER": w.p_nhs[p].astype(str),
        "DATE_OF_DEATH": _dates(d),
        "DATE_OF_REGISTRATION": _dates(d + rng.integers(1, 10, p.size)),
        "AGE_AT_DEATH": np.floor(ages_at(w, p, d)).astype(int),
        "UNDERLYING_CAUSE_ICD10": np.array([DEATH_CAUSE[int(x)] for x in c], dtype=object)
        if p.size else np.zeros(0, object),
    })
    return Rendered("deaths", df, "DEATH_RECORD_ID", person=p)


def opt_outs(w: World, h: History) -> Rendered:
    """The national data opt-out list: NHS numbers of people who have opted out."""
    n = w.n_people
    p = np.flatnonzero(w.p_optout[:n] < w.cfg.months)
    p = p[np.argsort(w.p_nhs[p])]
    df = pd.DataFrame({"NHS_NUMBER": w.p_nhs[p].astype(str)})
    return Rendered("national_data_opt_outs", df, "NHS_NUMBER", person=p)


def lsoa_imd(w: World, h: History) -> Rendered:
    """Reference: LSOA to ward and IMD decile."""
    n = w.lsoa_code.size
    wards = np.array(names.WARD_NAMES)
    df = pd.DataFrame({
        "LSOA_CODE": w.lsoa_code,
        "LSOA_NAME": [f"{names.TOWN} {i // 4 + 1:03d}{'ABCD'[i % 4]}" for i in range(n)],
        "LAD_CODE": "E06999999",
        "LAD_NAME": names.TOWN,
        "WARD_CODE": _ref("E05", 900001 + w.lsoa_ward, 6),
        "WARD_NAME": wards[w.lsoa_ward % wards.size],
        "IMD_RANK": w.lsoa_rank,
        "IMD_DECILE": w.lsoa_decile,
        "IMD_VERSION": "IMD2019 (synthetic LSOAs)",
    })
    return Rendered("lsoa_imd", df, "LSOA_CODE")


def render_all(w: World, h: History) -> list[Rendered]:
    """Every landing file, in a fixed order."""
    ten = _tenancies(w, h)
    out = [gazetteer(w, h), epc_certificates(w, h), *private_sector(w, h)]
    out += [tenancies(w, h, ten), housing_residents(w, h, ten), *stock_condition(w, h),
            *damp_and_mould(w, h, ten), adaptations(w, h, ten)]
    out += [gp_registrations(w, h), gp_long_term_conditions(w, h), *hes_apc(w, h), deaths(w, h),
            opt_outs(w, h), lsoa_imd(w, h)]
    return out

