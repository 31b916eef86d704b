"""Month-by-month life of the synthetic area, and the ground-truth risk model.

Each month, for every resident, the true probability of an emergency admission of each cause
(respiratory, cardiovascular, fall, infection, other) is computed from a documented
proportional-hazards model (:data:`EFFECTS`) in which housing matters the way the evidence
says; events are drawn from those probabilities; and the area changes: damp appears and is
reported, investigated and repaired (social homes, after the Awaab's Law data standard),
adaptations are fitted, people are born, die, move home and move away, and newcomers arrive.
The probabilities themselves are handed to a callback month by month: they are the truth that
``truth/monthly_risk.parquet`` records and that evaluation compares models against.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from risk_model.synth.config import AGE_BANDS, LTC_CONDITIONS, OUTCOMES, TENURES
from risk_model.synth.world import (
    NEVER,
    World,
    _draw_ethnicity,
    _draw_household_type,
    _draw_members,
    _draw_origin,
    _draw_surname,
    _finish_people,
    ages_at,
    bedrooms_needed,
    ltc_probability,
    rng_for,
)

__all__ = ["EFFECTS", "History", "simulate"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Planted hazard ratios of the ground-truth model (documented in docs/synthetic-data.md).
EFFECTS: dict[str, dict[str, float]] = {
    "respiratory": {
        "damp_and_mould": 1.5,
        "damp_and_mould_if_child_under_16": 2.0,
        "damp_and_mould_if_asthma_or_copd": 2.2,
        "excess_cold_65_plus_winter": 1.6,
        "crowding": 1.3,
        "asthma": 2.5,
        "copd": 4.0,
        "frailty": 1.8,
        "recent_emergency_admission": 1.8,
    },
    "cardiovascular": {
        "excess_cold_65_plus_winter": 1.4,
        "cvd": 3.0,
        "diabetes": 1.7,
        "smi": 1.3,
        "recent_emergency_admission": 1.8,
    },
    "fall": {
        "falls_on_stairs_hazard_65_plus": 1.8,
        "falls_on_level_hazard_65_plus": 1.4,
        "adaptation_fitted_65_plus": 0.7,
        "frailty": 2.5,
        "dementia": 2.0,
        "recent_emergency_admission": 1.3,
    },
    "infection": {
        "crowding": 1.6,
        "diabetes": 1.5,
        "dementia": 1.6,
        "frailty": 1.8,
        "recent_emergency_admission": 1.8,
    },
    "other": {
        "per_long_term_condition": 1.3,
        "smi": 2.0,
        "frailty": 1.5,
        "recent_emergency_admission": 1.8,
    },
}
#: Seasonal amplitude by cause (peak in January).
SEASON_AMPLITUDE = {"respiratory": 0.3, "cardiovascular": 0.12, "fall": 0.05, "infection": 0.1,
                    "other": 0.0}
#: Weight of the winter-only cold effect by calendar month (Dec-Feb full, Nov and Mar half).
WINTER_WEIGHT = np.array([1.0, 1.0, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.5, 1.0])
#: Deaths: Gompertz slope per year of age and hazard ratios.
DEATH_EFFECTS = {"age_slope_per_year": 0.095, "frailty": 1.8, "dementia": 2.0, "copd": 1.6,
                 "cvd": 1.3, "recent_emergency_admission": 1.5}
EXCESS_COLD_SAP = 33.52

_LTC = {c: j for j, c in enumerate(LTC_CONDITIONS)}
_K = len(OUTCOMES)
_FALL = OUTCOMES.index("fall")

# damp and mould pipeline for social homes (after the Awaab's Law data standard)
DAMP_REPORT_RATE = 0.08  # a month, where damp is present and no report is open
FALSE_REPORT_RATE = 0.003  # a month, where there is no damp (condensation worries)
CONFIRM_IF_DAMP = 0.88
CONFIRM_IF_NOT = 0.2
REPAIR_SUCCESS = 0.8
RESOLVE_RATE = {"owner_occupied": 0.03, "private_rented": 0.015, "local_authority": 0.005,
                "housing_association": 0.005}
EFFECTIVE_SOCIAL_REPAIR = 0.045


@dataclass
class History:
    """Everything that happened, as arrays of events (days since 1970)."""

    adm_person: list[IntArray] = field(default_factory=list)
    adm_day: list[IntArray] = field(default_factory=list)
    adm_kind: list[IntArray] = field(default_factory=list)  # 0-4 outcomes, 5 elective, 6 maternity
    fall_person: list[IntArray] = field(default_factory=list)
    fall_day: list[IntArray] = field(default_factory=list)
    fall_admitted: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    ae_person: list[IntArray] = field(default_factory=list)
    ae_day: list[IntArray] = field(default_factory=list)
    ae_kind: list[IntArray] = field(default_factory=list)  # complaint group
    death_person: list[IntArray] = field(default_factory=list)
    death_day: list[IntArray] = field(default_factory=list)
    death_cause: list[IntArray] = field(default_factory=list)  # outcome index or 5 old age
    res_person: list[IntArray] = field(default_factory=list)
    res_home: list[IntArray] = field(default_factory=list)
    res_from: list[IntArray] = field(default_factory=list)
    res_to: list[IntArray] = field(default_factory=list)
    occ_hh: list[IntArray] = field(default_factory=list)
    occ_home: list[IntArray] = field(default_factory=list)
    occ_from: list[IntArray] = field(default_factory=list)
    occ_to: list[IntArray] = field(default_factory=list)
    occ_end: list[IntArray] = field(default_factory=list)  # 0 open, 1 moved, 2 left, 3 died
    damp_home: list[IntArray] = field(default_factory=list)
    damp_day: list[IntArray] = field(default_factory=list)
    damp_state: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    report: dict[str, list[npt.NDArray]] = field(default_factory=dict)
    adaptation: dict[str, list[npt.NDArray]] = field(default_factory=dict)
    survey: dict[str, list[npt.NDArray]] = field(default_factory=dict)
    inspection: dict[str, list[npt.NDArray]] = field(default_factory=dict)
    calibration: dict[str, object] = field(default_factory=dict)

    def cat(self, name: str) -> npt.NDArray:
        """Concatenate one of the list-valued logs."""
        parts = getattr(self, name)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def cat_dict(self, name: str) -> dict[str, npt.NDArray]:
        """Concatenate each column of a dict-valued log."""
        d = getattr(self, name)
        return {k: np.concatenate(v) for k, v in d.items()}


def _append(d: dict[str, list[npt.NDArray]], **cols: npt.NDArray) -> None:
    for k, v in cols.items():
        d.setdefault(k, []).append(np.asarray(v))


def month_start_day(w: World, t: int) -> tuple[int, int]:
    """First day (days since 1970) and calendar month (1-12) of period month ``t``."""
    y, m = divmod(w.cfg.start_date.month - 1 + t, 12)
    year = w.cfg.start_date.year + y
    first = (np.datetime64(f"{year:04d}-{m + 1:02d}-01") - np.datetime64("1970-01-01")).astype(int)
    return int(first), m + 1


def _days_in_month(w: World, t: int) -> int:
    return month_start_day(w, t + 1)[0] - month_start_day(w, t)[0]


def _band_index(age: FloatArray) -> IntArray:
    edges = np.array([lo for lo, _ in AGE_BANDS[1:]])
    return np.searchsorted(edges, np.floor(age), side="right")


class _Risk:
    """Computes the unscaled annual intensity of each cause for a set of residents."""

    def __init__(self, w: World) -> None:
        self.w = w
        cfg = w.cfg
        self.dep_log = math.log(cfg.admissions.deprivation_ratio)
        self.logs = {k: {e: math.log(v) for e, v in d.items()} for k, d in EFFECTS.items()}

    def state(self, people: IntArray, t: int, day: int, crowded_hh: npt.NDArray[np.bool_],
              last_emerg: npt.NDArray[np.int16]) -> dict[str, npt.NDArray]:
        w = self.w
        hh = w.p_household[people]
        home = w.hh_home[hh]
        onset = w.p_ltc_onset[people]
        has = onset <= t
        age = ages_at(w, people, day)
        quint = (w.lsoa_decile[w.home_lsoa[home]] + 1) // 2
        return {
            "age": age,
            "band": _band_index(age),
            "ltc": has,
            "n_ltc": has.sum(axis=1),
            "damp": w.home_damp[home],
            "cold": w.home_sap[home] < EXCESS_COLD_SAP,
            "stairs": w.home_stairs_hazard[home],
            "level": w.home_level_hazard[home],
            "adapted": w.home_adapted[home],
            "crowded": crowded_hh[hh],
            "dep": (5 - quint) / 4.0,
            "recent": (t - last_emerg[people]) <= 12,
            "frailty_latent": w.p_frailty[people],
        }

    def log_intensity(self, s: dict[str, npt.NDArray], winter: float) -> FloatArray:
        """Log of the unscaled annual intensity, shape (n, 5), for a winter weight."""
        L = self.logs
        ltc = s["ltc"]
        age = s["age"]
        o65 = age >= 65
        child = age < 16
        damp = s["damp"]
        cold65w = (s["cold"] & o65) * winter
        asth_copd = ltc[:, _LTC["asthma"]] | ltc[:, _LTC["copd"]]
        recent = s["recent"]
        frail = ltc[:, _LTC["frailty"]]
        dep = s["dep"] * self.dep_log
        out = np.empty((age.size, _K))
        r = L["respiratory"]
        out[:, 0] = (
            damp * r["damp_and_mould"]
            + (damp & child) * (r["damp_and_mould_if_child_under_16"] - r["damp_and_mould"])
            + (damp & asth_copd) * (r["damp_and_mould_if_asthma_or_copd"] - r["damp_and_mould"])
            + cold65w * r["excess_cold_65_plus_winter"]
            + s["crowded"] * r["crowding"]
            + ltc[:, _LTC["asthma"]] * r["asthma"]
            + ltc[:, _LTC["copd"]] * r["copd"]
            + frail * r["frailty"]
            + recent * r["recent_emergency_admission"]
            + dep
            + np.where(age < 5, math.log(2.2), 0.0)
            + 0.045 * np.maximum(age - 65, 0)
        )
        c = L["cardiovascular"]
        out[:, 1] = (
            cold65w * c["excess_cold_65_plus_winter"]
            + ltc[:, _LTC["cvd"]] * c["cvd"]
            + ltc[:, _LTC["diabetes"]] * c["diabetes"]
            + ltc[:, _LTC["smi"]] * c["smi"]
            + recent * c["recent_emergency_admission"]
            + dep
            + 0.06 * (age - 60)
        )
        f = L["fall"]
        out[:, 2] = (
            (s["stairs"] & o65) * f["falls_on_stairs_hazard_65_plus"]
            + (s["level"] & o65) * f["falls_on_level_hazard_65_plus"]
            + (s["adapted"] & o65) * f["adaptation_fitted_65_plus"]
            + frail * f["frailty"]
            + ltc[:, _LTC["dementia"]] * f["dementia"]
            + recent * f["recent_emergency_admission"]
            + dep / 2
            + 0.05 * np.maximum(age - 65, 0)
        )
        i = L["infection"]
        out[:, 3] = (
            s["crowded"] * i["crowding"]
            + ltc[:, _LTC["diabetes"]] * i["diabetes"]
            + ltc[:, _LTC["dementia"]] * i["dementia"]
            + frail * i["frailty"]
            + recent * i["recent_emergency_admission"]
            + dep
            + 0.04 * np.maximum(age - 65, 0)
        )
        x = L["other"]
        out[:, 4] = (
            s["n_ltc"] * x["per_long_term_condition"]
            + ltc[:, _LTC["smi"]] * x["smi"]
            + frail * x["frailty"]
            + recent * x["recent_emergency_admission"]
            + dep
            + 0.03 * np.maximum(age - 65, 0)
        )
        out += np.log(s["frailty_latent"])[:, None]
        return out


def _season(cal_month: int) -> FloatArray:
    phase = math.cos(2 * math.pi * (cal_month - 1) / 12)
    return np.array([1 + SEASON_AMPLITUDE[k] * phase for k in OUTCOMES])


def _calibrate(risk: _Risk, s: dict[str, npt.NDArray], weight: FloatArray
               ) -> dict[str, npt.NDArray]:
    """Intercepts so each band's mean annual rate per cause meets the configured target.

    ``weight`` is each person's chance of surviving part of the period: the highest risks die
    soonest, so calibrating on day one alone would leave the period's rates short.
    """
    w = risk.w
    cfg = w.cfg
    # annual mean over calendar months of season x intensity
    acc = np.zeros((s["age"].size, _K))
    for m in range(1, 13):
        acc += np.exp(risk.log_intensity(s, WINTER_WEIGHT[m - 1])) * _season(m)
    acc /= 12
    band = s["band"]
    age = s["age"]
    o65 = age >= 65
    labels = [f"{lo}-{hi}" if hi < 120 else f"{lo}+" for lo, hi in AGE_BANDS]
    target = np.array([[cfg.admissions.rates_per_1000[lab][o] / 1000 for o in OUTCOMES]
                       for lab in labels])
    # log intercepts at the bands' middle ages, linear in age between them, so risk changes
    # smoothly with age; adjusted until each band's mean rate meets its target
    knots = np.log(np.maximum(target, 1e-9)) - np.log(np.maximum(acc.mean(axis=0), 1e-12))
    use = np.ones_like(acc, dtype=bool)
    use[:, _FALL] = ~o65  # falls in 65+ follow the falls model below
    n_bands = len(AGE_BANDS)
    wu = weight[:, None] * use
    denom = np.stack([np.bincount(band, weights=wu[:, k], minlength=n_bands)
                      for k in range(_K)], axis=1)
    for _ in range(12):
        got = 12 * (1 - np.exp(-_age_scale(knots, age) * acc / 12))
        num = np.stack([np.bincount(band, weights=wu[:, k] * got[:, k], minlength=n_bands)
                        for k in range(_K)], axis=1)
        ok = (denom > 0) & (target > 0)
        achieved = np.where(ok, num / np.where(denom > 0, denom, 1), 1.0)
        knots += np.where(ok, np.log(np.maximum(target, 1e-12) / np.maximum(achieved, 1e-12)),
                          0.0)
        knots[-1, _FALL] = knots[-2, _FALL]
    # falls in 65+: a fall intensity giving the configured yearly incidence, and the share of
    # falls that end in an emergency admission giving the 67+ admission target
    fall_acc = acc[o65, _FALL]
    fw = weight[o65]
    inc = cfg.admissions.fall_incidence_65_plus
    lo, hi = 0.0, 50.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if np.average(1 - np.exp(-mid * fall_acc), weights=fw) < inc:
            lo = mid
        else:
            hi = mid
    fall_scale = (lo + hi) / 2 if fall_acc.size else 0.0
    o67 = band[o65] == len(AGE_BANDS) - 1
    annual_falls_67 = (np.average(fall_scale * fall_acc[o67], weights=fw[o67]) if o67.any()
                       else 1.0)
    admit_share = min(cfg.admissions.rates_per_1000[labels[-1]]["fall"] / 1000 / annual_falls_67,
                      1.0)
    return {"knots": knots, "fall_scale": np.array(fall_scale),
            "fall_admit_share": np.array(admit_share)}


#: Middle ages of the reference age bands, where the calibrated log intercepts sit.
_BAND_MIDDLE = np.array([10.0, 29.0, 45.0, 60.0, 80.0])


def _age_scale(knots: FloatArray, age: FloatArray) -> FloatArray:
    """Intercept by age and cause: log-linear between the bands' middle ages, flat beyond."""
    return np.exp(np.stack([np.interp(age, _BAND_MIDDLE, knots[:, k]) for k in range(_K)],
                           axis=1))


#: Ages tabulated by month of age (0 to 125 years): per-month work is then a lookup.
_AGE_GRID = (np.arange(126 * 12) + 0.5) / 12


def _age_index(age: FloatArray) -> IntArray:
    return np.clip((age * 12).astype(np.int64), 0, _AGE_GRID.size - 1)


#: At most this many people calibrate the intercepts: a random sample this size pins them to
#: well within the sampling noise of any band, and keeps large areas fast.
_CALIBRATION_SAMPLE = 200_000


def simulate(
    w: World,
    on_month: Callable[[int, int, IntArray, FloatArray], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> History:
    """Run the area forward month by month.

    Parameters
    ----------
    w : World
        The area at the start; changed in place.
    on_month : callable, optional
        ``on_month(t, first_day, people, probs)`` receives each month's residents and their true
        probabilities of an emergency admission by cause (shape ``(n, 5)``, order of
        :data:`~risk_model.synth.config.OUTCOMES`).
    progress : callable, optional
        Called with a short message now and then.

    Returns
    -------
    History
        Every event, residence and occupancy interval, and the calibrated intercepts.
    """
    cfg = w.cfg
    rng = rng_for(cfg.seed, "simulate")
    h = History()
    risk = _Risk(w)
    start = w.start_days
    cap = w.p_dob.size
    last_emerg = np.full(cap, -NEVER, dtype=np.int16)
    res_from = w.p_res_from
    hh_from = w.hh_from
    n_hh0 = w.n_households
    # households moved in up to 15 years before the start (never before their oldest member
    # turned 16); residence starts then, or at birth for younger children
    people0 = np.arange(w.n_people)
    oldest = np.full(n_hh0, start, dtype=np.int64)
    np.minimum.at(oldest, w.p_household[people0], w.p_dob[people0] + int(16 * 365.25))
    hh_from[:n_hh0] = np.minimum(
        start - 1, np.maximum(oldest, start - (rng.random(n_hh0) * 15 * 365.25).astype(np.int64))
    )
    res_from[people0] = np.maximum(hh_from[w.p_household[people0]], w.p_dob[people0])

    # ---- crowding, and the intercepts calibrated on the starting population
    crowded = _crowding(w, people0, w.start_days)
    first_day, _ = month_start_day(w, 0)
    s0 = risk.state(people0, 0, first_day, crowded, last_emerg)
    death_alpha = _calibrate_deaths(w, s0)
    h.calibration["death_log_intercept"] = death_alpha

    def survival_weight(state: dict[str, npt.NDArray]) -> FloatArray:
        q = np.exp(death_alpha + DEATH_EFFECTS["age_slope_per_year"] * state["age"]) * \
            _death_mult(state, state["recent"])
        # survival over an eighth of the period: deaths remove the highest risks while ageing
        # and new diagnoses replace most of them; this weight matches the net drift measured
        # on 20k residents over 48 months (67+ rate 240 per 1,000 against a 235 target)
        return np.exp(-q * cfg.months / 96)

    sample = np.arange(people0.size)
    if sample.size > _CALIBRATION_SAMPLE:
        sample = np.sort(rng_for(cfg.seed, "calibration-sample").choice(
            sample.size, _CALIBRATION_SAMPLE, replace=False))

    def calibrate(state: dict[str, npt.NDArray]) -> dict[str, npt.NDArray]:
        sub = {k: v[sample] for k, v in state.items()}
        return _calibrate(risk, sub, survival_weight(sub))

    cal = calibrate(s0)
    # who had an emergency admission in the year before the start (shapes "recent" at t=0)
    lam = np.exp(risk.log_intensity(s0, 0.5)) * _age_scale(cal["knots"], s0["age"])
    p_prior = 1 - np.exp(-lam.sum(axis=1))
    had = rng.random(people0.size) < p_prior
    last_emerg[people0[had]] = -rng.integers(1, 13, int(had.sum())).astype(np.int16)
    s0 = risk.state(people0, 0, first_day, crowded, last_emerg)
    cal = calibrate(s0)
    scale_by_age = _age_scale(cal["knots"], _AGE_GRID)
    incidence_by_age = _incidence_table(w, death_alpha)
    h.calibration |= {k: v.tolist() for k, v in cal.items()}
    elective_scale = _elective_scale(w, s0["age"])
    ae_scale = _ae_scale(w, s0["age"])

    # ---- damp pipeline state, surveys and inspections planned ahead
    n_homes = w.uprn.size
    social = w.home_tenure >= 2
    report_open_until = np.full(n_homes, -1, dtype=np.int64)  # month index the report closes
    fix_month = np.full(n_homes, -1, dtype=np.int64)
    adapt_pending_until = np.full(n_homes, -1, dtype=np.int64)
    adapt_fit_month = np.full(n_homes, -1, dtype=np.int64)
    resolve = np.array([RESOLVE_RATE[t] for t in TENURES])[w.home_tenure]
    prev = np.array([cfg.housing.damp_by_tenure[t] for t in TENURES])[w.home_tenure]
    eff_resolve = np.where(social, EFFECTIVE_SOCIAL_REPAIR + resolve, resolve)
    onset = prev * eff_resolve / (1 - prev)
    survey_month = np.where(social & (rng.random(n_homes) < cfg.housing.stock_survey_share),
                            rng.integers(0, cfg.months, n_homes), -1)
    pr = w.home_tenure == 1
    insp_w = np.where(pr, 1.0 + 4 * w.home_damp + 4 * (w.home_sap < EXCESS_COLD_SAP)
                      + 2 * w.home_stairs_hazard, 0.0)
    n_insp = round(cfg.housing.private_inspection_rate * pr.sum())
    inspect_month = np.full(n_homes, -1, dtype=np.int64)
    if n_insp:
        key = np.where(insp_w > 0, np.log(np.maximum(insp_w, 1e-12)) + rng.gumbel(size=n_homes),
                       -np.inf)
        chosen = np.argsort(-key)[:n_insp]
        inspect_month[chosen] = rng.integers(0, cfg.months, n_insp)
    # initial damp intervals start before the period
    dh = np.flatnonzero(w.home_damp)
    h.damp_home.append(dh)
    h.damp_day.append(np.full(dh.size, start - 1))
    h.damp_state.append(np.ones(dh.size, dtype=bool))
    next_report = 0

    for t in range(cfg.months):
        first_day, cal_month = month_start_day(w, t)
        ndays = _days_in_month(w, t)
        n = w.n_people
        alive = np.flatnonzero((w.p_entry[:n] <= t) & (w.p_exit[:n] > t))
        crowded = _crowding(w, alive, first_day)
        s = risk.state(alive, t, first_day + 14, crowded, last_emerg)
        logi = risk.log_intensity(s, WINTER_WEIGHT[cal_month - 1])
        age_idx = _age_index(s["age"])
        lam = np.exp(logi) * scale_by_age[age_idx] * _season(cal_month)
        p = 1 - np.exp(-lam / 12)
        o65 = s["age"] >= 65
        # falls in 65+: any fall, then the share admitted
        lam_f = cal["fall_scale"] * np.exp(logi[:, _FALL]) * _season(cal_month)[_FALL]
        p_fall_any = np.where(o65, 1 - np.exp(-lam_f / 12), 0.0)
        p[:, _FALL] = np.where(o65, p_fall_any * cal["fall_admit_share"], p[:, _FALL])
        if on_month is not None:
            on_month(t, first_day, alive, p)
        # ---- draw events
        u = rng.random(p.shape)
        hit = u < p
        fell = o65 & (rng.random(alive.size) < p_fall_any)
        # an admitted fall is a fall: draw admission among fallers with the admitted share
        adm_fall = fell & (rng.random(alive.size) < cal["fall_admit_share"])
        hit[:, _FALL] = np.where(o65, adm_fall, hit[:, _FALL])
        rows, kinds = np.nonzero(hit)
        days = first_day + rng.integers(0, ndays, rows.size)
        # a fall and the admission it led to happen on the same day
        fall_day = first_day + rng.integers(0, ndays, alive.size)
        days = np.where(kinds == _FALL, fall_day[rows], days)
        last_emerg[alive[rows]] = t
        fp = np.flatnonzero(fell)
        # elective admissions and A&E attendances that do not end in admission
        el = np.flatnonzero(rng.random(alive.size) < elective_scale(s["age"]) / 12)
        el_days = first_day + rng.integers(0, ndays, el.size)
        ae = rng.random(alive.size) < ae_scale(s["age"]) / 12
        non_admitted_fall = fell & ~adm_fall & (rng.random(alive.size) < 0.3)
        ae_rows = np.flatnonzero(ae | non_admitted_fall)
        ae_days = np.where(non_admitted_fall[ae_rows], fall_day[ae_rows],
                           first_day + rng.integers(0, ndays, ae_rows.size))
        # ---- deaths; nobody has an event after the day they die
        q = _death_prob(s, death_alpha, last_emerg[alive], t)
        dead = rng.random(alive.size) < q
        dp = alive[dead]
        dday = first_day + rng.integers(0, ndays, dp.size)
        last_day = np.full(alive.size, first_day + ndays)
        last_day[dead] = dday
        days = np.minimum(days, last_day[rows])
        h.adm_person += [alive[rows], alive[el]]
        h.adm_day += [days, np.minimum(el_days, last_day[el])]
        h.adm_kind += [kinds, np.full(el.size, 5)]
        h.fall_person.append(alive[fp])
        h.fall_day.append(np.minimum(fall_day[fp], last_day[fp]))
        h.fall_admitted.append(adm_fall[fp])
        h.ae_person.append(alive[ae_rows])
        h.ae_day.append(np.minimum(ae_days, last_day[ae_rows]))
        h.ae_kind.append(np.where(non_admitted_fall[ae_rows], 2,
                                  rng.integers(0, 6, ae_rows.size)))
        recent_cause = np.full(dp.size, 5)
        had_adm = np.isin(dp, alive[rows])
        if had_adm.any():
            last_kind = dict(zip(alive[rows].tolist(), kinds.tolist(), strict=False))
            recent_cause[had_adm] = [last_kind[x] for x in dp[had_adm].tolist()]
        cause = np.where(rng.random(dp.size) < 0.5, recent_cause,
                         rng.choice([0, 1, 4, 5], size=dp.size, p=[0.2, 0.3, 0.25, 0.25]))
        h.death_person.append(dp)
        h.death_day.append(dday)
        h.death_cause.append(cause)
        _leave(w, h, dp, dday, t, reason=1)
        # ---- damp: onset and self-repair; social reports, investigations and repairs
        _damp_month(w, h, rng, first_day, ndays, onset, resolve, fix_month, t)
        rep = _reports_month(w, rng, t, first_day, ndays, social, report_open_until, fix_month,
                             next_report)
        if rep is not None:
            next_report += rep["report_id"].size
            _append(h.report, **rep)
        _ltc_incidence_month(w, rng, t, alive, age_idx, incidence_by_age)
        _adaptations_month(w, h, rng, t, first_day, ndays, alive, s, adapt_pending_until,
                           adapt_fit_month)
        _surveys_month(w, h, rng, t, first_day, ndays, survey_month, inspect_month, crowded,
                       fix_month)
        # ---- households move home, move away, arrive; babies are born
        _moves_month(w, h, rng, t, first_day, ndays)
        _births_month(w, h, rng, t, first_day, ndays, alive, s)
        if progress is not None and (t + 1) % 12 == 0:
            progress(f"simulated {t + 1} of {cfg.months} months")
    _close_open(w, h)
    return h


# --------------------------------------------------------------------------------------------
# pieces of a month


def _crowding(w: World, people: IntArray, day: int) -> npt.NDArray[np.bool_]:
    """Whether each household is short of bedrooms by the bedroom standard (simplified)."""
    nh = w.hh_home.size
    hh = w.p_household[people]
    need = bedrooms_needed(hh, ages_at(w, people, day), w.hh_couple[:nh])
    return need > w.home_bedrooms[w.hh_home]


def _calibrate_deaths(w: World, s: dict[str, npt.NDArray]) -> float:
    """Log intercept giving the configured crude death rate on the starting population.

    Solved on the monthly-probability scale, where the oldest saturate.
    """
    mult = _death_mult(s, np.zeros(s["age"].size, dtype=bool))
    target = w.cfg.health.annual_deaths_per_1000 / 1000
    base = np.exp(DEATH_EFFECTS["age_slope_per_year"] * s["age"]) * mult
    lo, hi = -30.0, 0.0
    for _ in range(50):
        mid = (lo + hi) / 2
        q = np.minimum(np.exp(mid) * base, 5)
        got = 12 * (1 - np.exp(-q / 12)).mean()
        lo, hi = (mid, hi) if got < target else (lo, mid)
    return (lo + hi) / 2


def _death_mult(s: dict[str, npt.NDArray], recent: npt.NDArray[np.bool_]) -> FloatArray:
    ltc = s["ltc"]
    d = DEATH_EFFECTS
    return (
        np.where(ltc[:, _LTC["frailty"]], d["frailty"], 1.0)
        * np.where(ltc[:, _LTC["dementia"]], d["dementia"], 1.0)
        * np.where(ltc[:, _LTC["copd"]], d["copd"], 1.0)
        * np.where(ltc[:, _LTC["cvd"]], d["cvd"], 1.0)
        * np.where(recent, d["recent_emergency_admission"], 1.0)
        * s["frailty_latent"] ** 0.3
    )


def _death_prob(s: dict[str, npt.NDArray], alpha: float,
                last: npt.NDArray[np.int16], t: int) -> FloatArray:
    recent = (t - last) <= 3
    q = np.exp(alpha + DEATH_EFFECTS["age_slope_per_year"] * s["age"]) * _death_mult(s, recent)
    return 1 - np.exp(-np.minimum(q, 5) / 12)


def _elective_scale(w: World, ages0: FloatArray) -> Callable[[FloatArray], FloatArray]:
    shape = lambda a: 0.4 + np.clip(a, 0, 90) / 30  # noqa: E731
    k = w.cfg.admissions.elective_per_1000 / 1000 / shape(ages0).mean()
    return lambda a: k * shape(a)


def _ae_scale(w: World, ages0: FloatArray) -> Callable[[FloatArray], FloatArray]:
    shape = lambda a: np.where(a < 5, 1.6, np.where(a < 25, 1.1, np.where(a < 70, 0.8, 1.5)))  # noqa: E731
    k = w.cfg.admissions.ae_non_admitted_per_1000 / 1000 / shape(ages0).mean()
    return lambda a: k * shape(a)


def _leave(w: World, h: History, people: IntArray, days: IntArray, t: int, *, reason: int) -> None:
    """People leave the area (died or moved away): close their residence; empty homes."""
    if people.size == 0:
        return
    w.p_exit[people] = t
    w.p_exit_reason[people] = reason
    hh = w.p_household[people]
    h.res_person.append(people)
    h.res_home.append(w.hh_home[hh])
    h.res_from.append(w.p_res_from[people])
    h.res_to.append(days)
    # households left with nobody end their occupancy
    n = w.n_people
    still = np.zeros(w.hh_home.size, dtype=bool)
    here = np.flatnonzero((w.p_entry[:n] <= t) & (w.p_exit[:n] > t))
    still[w.p_household[here]] = True
    gone = np.unique(hh[~still[hh]])
    if gone.size:
        last_day = np.zeros(w.hh_home.size, dtype=np.int64)
        np.maximum.at(last_day, hh, days)
        _end_occupancy(w, h, gone, last_day[gone], 3 if reason == 1 else 2)


def _end_occupancy(w: World, h: History, hhs: IntArray, days: IntArray, reason: int) -> None:
    homes = w.hh_home[hhs]
    h.occ_hh.append(hhs)
    h.occ_home.append(homes)
    h.occ_from.append(w.hh_from[hhs])
    h.occ_to.append(days)
    h.occ_end.append(np.full(hhs.size, reason))
    w.home_household[homes] = -1
    w.hh_home[hhs] = -1


def _damp_month(w, h, rng, first_day, ndays, onset, resolve, fix_month, t) -> None:
    damp = w.home_damp
    new = ~damp & (rng.random(damp.size) < onset)
    fixed_self = damp & (rng.random(damp.size) < resolve)
    repaired = damp & (fix_month == t) & (rng.random(damp.size) < REPAIR_SUCCESS)
    gone = fixed_self | repaired
    change = np.flatnonzero(new | gone)
    if change.size:
        damp[change] = new[change]
        h.damp_home.append(change)
        h.damp_day.append(first_day + rng.integers(0, ndays, change.size))
        h.damp_state.append(new[change])


def _reports_month(w, rng, t, first_day, ndays, social, open_until, fix_month,
                   next_id) -> dict[str, npt.NDArray] | None:
    occupied = w.home_household >= 0
    free = social & occupied & (open_until < t)
    p = np.where(w.home_damp, DAMP_REPORT_RATE, FALSE_REPORT_RATE)
    homes = np.flatnonzero(free & (rng.random(free.size) < p))
    if homes.size == 0:
        return None
    k = homes.size
    damp = w.home_damp[homes]
    reported = first_day + rng.integers(0, ndays, k)
    emergency = damp & (rng.random(k) < 0.1)
    # investigation: scheduled within days, sometimes late (Awaab's Law: 10 working days)
    sched = reported + np.where(emergency, 1, rng.integers(2, 16, k))
    completed = sched + np.where(rng.random(k) < 0.85, 0, rng.integers(1, 25, k))
    confirmed = rng.random(k) < np.where(damp, CONFIRM_IF_DAMP, CONFIRM_IF_NOT)
    severity = np.where(emergency, 3, np.where(damp, rng.integers(1, 3, k), 1))
    # work order on confirmation; completed 1-5 months later (some still open at the end)
    raised = completed + rng.integers(0, 5, k)
    repair_months = rng.integers(1, 6, k)
    done_month = t + repair_months
    completed_wo = np.where(done_month < w.cfg.months, raised + repair_months * 30 -
                            rng.integers(0, 10, k), -1)
    fix_month[homes[confirmed]] = done_month[confirmed]
    close = np.where(confirmed, done_month, t + 1)
    open_until[homes] = close
    made_safe = np.where(emergency, reported + 1, -1)
    return {
        "report_id": next_id + np.arange(k),
        "home": homes,
        "household": w.home_household[homes],
        "reported": reported,
        "true_damp": damp,
        "emergency": emergency,
        "made_safe": made_safe,
        "scheduled": sched,
        "inv_completed": completed,
        "confirmed": confirmed,
        "severity": severity,
        "wo_raised": np.where(confirmed, raised, -1),
        "wo_completed": np.where(confirmed, completed_wo, -1),
        "close_month": close,
        "work_type": rng.integers(0, 5, k),
    }


def _adaptations_month(w, h, rng, t, first_day, ndays, alive, s, pending_until,
                       fit_month) -> None:
    # social homes with someone 65+ who is frail or had a recent fall-related admission
    o65 = s["age"] >= 65
    frail = s["ltc"][:, _LTC["frailty"]]
    home = w.hh_home[w.p_household[alive]]
    need = o65 & (frail | (s["recent"] & (rng.random(alive.size) < 0.3)))
    cand = np.unique(home[need & (w.home_tenure[home] >= 2)])
    cand = cand[~w.home_adapted[cand] & (pending_until[cand] < t)]
    homes = cand[rng.random(cand.size) < 0.04]
    # an adaptation lowers the risk from the month it is fitted
    w.home_adapted[fit_month == t] = True
    if homes.size == 0:
        return
    k = homes.size
    requested = first_day + rng.integers(0, ndays, k)
    months = rng.integers(1, 7, k)
    done = t + months
    finished = done < w.cfg.months
    pending_until[homes] = done
    fit_month[homes[finished]] = done[finished]
    _append(
        h.adaptation,
        home=homes,
        household=w.home_household[homes],
        requested=requested,
        completed=np.where(finished, requested + months * 30, -1),
        done_month=np.where(finished, done, -1),
        kind=np.where(w.home_stairs_hazard[homes], 0, rng.integers(1, 4, k)),
    )


def _incidence_table(w: World, death_alpha: float) -> FloatArray:
    """Monthly probability of a new diagnosis by month of age, one column per condition.

    Among people without the condition the yearly onset hazard is
    ``(P(a + 1) - P(a) + P(a) * ((HR - 1) * q(a) + r)) / (1 - P(a))``: the rise of prevalence
    with age, the excess deaths of people who have it (death hazard ratio ``HR``, baseline
    death rate ``q``), and a small turnover ``r`` (``health.ltc_annual_incidence_ratio``).
    This keeps each age's prevalence steady as people age and die.
    """
    r = w.cfg.health.ltc_annual_incidence_ratio
    a = _AGE_GRID
    q = np.exp(death_alpha + DEATH_EFFECTS["age_slope_per_year"] * a)
    out = np.zeros((a.size, len(LTC_CONDITIONS)))
    for j, c in enumerate(LTC_CONDITIONS):
        p_now = np.minimum(w.ltc_scale[c] * ltc_probability(c, a), 0.95)
        p_next = np.minimum(w.ltc_scale[c] * ltc_probability(c, a + 1), 0.95)
        excess = (DEATH_EFFECTS.get(c, 1.0) - 1) * q
        out[:, j] = (np.maximum(p_next - p_now, 0) + p_now * (excess + r)) / (1 - p_now) / 12
    return out


def _ltc_incidence_month(w: World, rng: np.random.Generator, t: int, alive: IntArray,
                         age_idx: IntArray, table: FloatArray) -> None:
    """New diagnoses this month, from the incidence table (see :func:`_incidence_table`)."""
    for j in range(len(LTC_CONDITIONS)):
        free = w.p_ltc_onset[alive, j] > t
        new = alive[free][rng.random(int(free.sum())) < table[age_idx[free], j]]
        w.p_ltc_onset[new, j] = t


def _surveys_month(w, h, rng, t, first_day, ndays, survey_month, inspect_month, crowded,
                   fix_month) -> None:
    for kind, plan in (("survey", survey_month), ("inspection", inspect_month)):
        homes = np.flatnonzero(plan == t)
        if homes.size == 0:
            continue
        hh = w.home_household[homes]
        cr = np.where(hh >= 0, crowded[np.maximum(hh, 0)], False)
        if kind == "inspection":
            # an improvement notice after a private-sector inspection gets damp repaired
            enforced = w.home_damp[homes] & (rng.random(homes.size) < 0.6)
            fix_month[homes[enforced]] = t + rng.integers(1, 5, int(enforced.sum()))
        else:
            enforced = np.zeros(homes.size, dtype=bool)
        _append(
            getattr(h, kind),
            home=homes,
            household=hh,
            day=first_day + rng.integers(0, ndays, homes.size),
            damp=w.home_damp[homes],
            cold=w.home_sap[homes] < EXCESS_COLD_SAP,
            stairs=w.home_stairs_hazard[homes],
            level=w.home_level_hazard[homes],
            crowded=cr,
            enforced=enforced,
        )


def _moves_month(w, h, rng, t, first_day, ndays) -> None:
    cfg = w.cfg.housing
    res_from, hh_from = w.p_res_from, w.hh_from
    nh = w.n_households
    active = np.flatnonzero(w.hh_home[:nh] >= 0)
    ten = w.home_tenure[w.hh_home[active]]
    move_mult = np.array([0.55, 2.2, 0.8, 0.8])[ten]
    out_mult = np.array([0.6, 2.0, 0.7, 0.7])[ten]
    u = rng.random(active.size)
    leave = u < cfg.monthly_out_migration_rate * out_mult
    move = ~leave & (u < cfg.monthly_out_migration_rate * out_mult
                     + cfg.monthly_move_rate * move_mult)
    n = w.n_people
    here = np.flatnonzero((w.p_entry[:n] <= t) & (w.p_exit[:n] > t))
    # households leaving the area
    leavers = active[leave]
    if leavers.size:
        day = first_day + rng.integers(0, ndays, leavers.size)
        day_of = np.zeros(w.hh_home.size, dtype=np.int64)
        day_of[leavers] = day
        members = here[np.isin(w.p_household[here], leavers)]
        w.p_exit[members] = t
        w.p_exit_reason[members] = 2
        h.res_person.append(members)
        h.res_home.append(w.hh_home[w.p_household[members]])
        h.res_from.append(res_from[members])
        h.res_to.append(day_of[w.p_household[members]])
        _end_occupancy(w, h, leavers, day, 2)
    # households moving home within the area, to an empty home of the same tenure if they can
    movers = active[move]
    movers = movers[w.hh_home[movers] >= 0]
    if movers.size:
        vacant = np.flatnonzero(w.home_household < 0)
        vacant = vacant[rng.permutation(vacant.size)]
        old = w.hh_home[movers]
        new = np.full(movers.size, -1)
        taken = np.zeros(vacant.size, dtype=bool)
        for tt in range(4):
            mi = np.flatnonzero(w.home_tenure[old] == tt)
            vi = np.flatnonzero((w.home_tenure[vacant] == tt) & ~taken)
            k = min(mi.size, vi.size)
            new[mi[:k]] = vacant[vi[:k]]
            taken[vi[:k]] = True
        ok = new >= 0
        movers, old, new = movers[ok], old[ok], new[ok]
        day = first_day + rng.integers(0, ndays, movers.size)
        h.occ_hh.append(movers)
        h.occ_home.append(old)
        h.occ_from.append(hh_from[movers])
        h.occ_to.append(day)
        h.occ_end.append(np.full(movers.size, 1))
        w.home_household[old] = -1
        w.home_household[new] = movers
        w.hh_home[movers] = new
        hh_from[movers] = day
        day_of = np.zeros(w.hh_home.size, dtype=np.int64)
        day_of[movers] = day
        members = here[np.isin(w.p_household[here], movers) & (w.p_exit[here] > t)]
        h.res_person.append(members)
        h.res_home.append(_lookup(movers, old, w.p_household[members]))
        h.res_from.append(res_from[members])
        h.res_to.append(day_of[w.p_household[members]])
        res_from[members] = day_of[w.p_household[members]]
    # newcomers fill empty homes back to the starting vacancy
    vacant = np.flatnonzero(w.home_household < 0)
    target_vacant = round(cfg.vacancy_share * w.home_household.size)
    k = vacant.size - target_vacant
    if k > 0:
        homes = vacant[rng.permutation(vacant.size)[:k]]
        _arrive(w, rng, t, first_day, ndays, homes)


def _lookup(keys: IntArray, values: IntArray, query: IntArray) -> IntArray:
    order = np.argsort(keys)
    return values[order][np.searchsorted(keys[order], query)]


def _arrive(w, rng, t, first_day, ndays, homes) -> None:
    """New households move into the area, into ``homes``."""
    cfg = w.cfg
    res_from, hh_from = w.p_res_from, w.hh_from
    k = homes.size
    decile = w.lsoa_decile[w.home_lsoa[homes]]
    eth = _draw_ethnicity(rng, cfg, decile)
    tenure = w.home_tenure[homes]
    htype = _draw_household_type(rng, tenure, eth)
    mem = _draw_members(rng, htype, cfg)
    hh0 = w.n_households
    hh_ids = hh0 + np.arange(k)
    if hh0 + k > w.hh_home.size or w.n_people + mem["hh"].size > w.p_dob.size:
        raise RuntimeError("synthetic population outgrew its capacity")
    origin = _draw_origin(rng, eth)
    w.hh_home[hh_ids] = homes
    w.hh_couple[hh_ids] = np.isin(htype, [2, 3, 4, 7])
    w.hh_type[hh_ids] = htype
    w.hh_eth[hh_ids] = eth
    w.hh_origin[hh_ids] = origin
    w.hh_surname[hh_ids] = _draw_surname(rng, w.names, origin)
    w.home_household[homes] = hh_ids
    w.n_households += k
    day = first_day + rng.integers(0, ndays, k)
    hh_from[hh_ids] = day
    m = mem["hh"].size
    idx = w.n_people + np.arange(m)
    w.n_people += m
    local = mem["hh"]
    w.p_household[idx] = hh_ids[local]
    w.p_sex[idx] = mem["sex"]
    w.p_dob[idx] = day[local] - (mem["age"] * 365.25).astype(np.int64) - 1
    w.p_eth[idx] = eth[local]
    w.p_origin[idx] = origin[local]
    w.p_surname[idx] = w.hh_surname[hh_ids[local]]
    sharer = mem["sharer"]
    if sharer.any():
        w.p_origin[idx[sharer]] = _draw_origin(rng, w.p_eth[idx[sharer]])
        w.p_surname[idx[sharer]] = _draw_surname(rng, w.names, w.p_origin[idx[sharer]])
    w.p_entry[idx] = t
    res_from[idx] = day[local]
    _finish_people(w, rng, idx, mem["role"], at_month=t)
    w.p_reg_start[idx] = day[local] + rng.integers(0, 40, m)


def _births_month(w, h, rng, t, first_day, ndays, alive, s) -> None:
    rate = w.cfg.health.annual_births_per_1000 / 1000 / 12
    mothers = alive[(w.p_sex[alive] == 0) & (s["age"] >= 18) & (s["age"] < 45)]
    mothers = mothers[w.p_exit[mothers] > t]
    k = rng.poisson(rate * alive.size)
    if k == 0 or mothers.size == 0:
        return
    mothers = rng.choice(mothers, size=min(k, mothers.size), replace=False)
    k = mothers.size
    idx = w.n_people + np.arange(k)
    if idx[-1] >= w.p_dob.size:
        raise RuntimeError("synthetic population outgrew its capacity")
    w.n_people += k
    day = first_day + rng.integers(0, ndays, k)
    w.p_household[idx] = w.p_household[mothers]
    w.p_sex[idx] = rng.integers(0, 2, k)
    w.p_dob[idx] = day
    w.p_eth[idx] = w.p_eth[mothers]
    w.p_origin[idx] = w.p_origin[mothers]
    w.p_surname[idx] = w.p_surname[mothers]
    w.p_entry[idx] = t
    w.p_res_from[idx] = day
    _finish_people(w, rng, idx, np.full(k, 2), at_month=t)
    w.p_reg_start[idx] = day + rng.integers(7, 60, k)
    # newborns have no conditions yet; diagnoses come later through incidence
    w.p_ltc_onset[idx] = NEVER
    h.adm_person.append(mothers)
    h.adm_day.append(day)
    h.adm_kind.append(np.full(k, 6))


def _close_open(w: World, h: History) -> None:
    """Record the residences and occupancies still open at the end (to = -1)."""
    n = w.n_people
    here = np.flatnonzero(w.p_exit[:n] == NEVER)
    h.res_person.append(here)
    h.res_home.append(w.hh_home[w.p_household[here]])
    h.res_from.append(w.p_res_from[here])
    h.res_to.append(np.full(here.size, -1))
    nh = w.n_households
    live = np.flatnonzero(w.hh_home[:nh] >= 0)
    h.occ_hh.append(live)
    h.occ_home.append(w.hh_home[live])
    h.occ_from.append(w.hh_from[live])
    h.occ_to.append(np.full(live.size, -1))
    h.occ_end.append(np.zeros(live.size, dtype=np.int64))
