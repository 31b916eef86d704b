"""The synthetic area reproduces the reference figures (shared/reference/uk-data-facts.md).

Each test states its target, where it comes from and the tolerance it allows. Figures are
measured on the landing files where the pipeline would see them, and on the truth folder
where only the truth holds them (true ethnicity, falls that never reached hospital).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import SynthRun

START = pd.Timestamp("2021-04-01")


def _age(birth: pd.Series, on: pd.Timestamp | pd.Series) -> pd.Series:
    return (pd.to_datetime(on) - pd.to_datetime(birth)).dt.days / 365.25


@pytest.fixture(scope="module")
def residents_at_start(area: SynthRun) -> pd.DataFrame:
    """Truth residents on the first day with their home's tenure and deprivation."""
    res = area.truth("residence")
    at = res[(res.from_date < START) & (res.to_date.isna() | (res.to_date >= START))]
    persons = area.truth("persons").set_index("person_id")
    homes = area.truth("homes").set_index("uprn")
    out = at.join(persons, on="person_id").join(homes, on="uprn")
    out["age"] = _age(pd.to_datetime(out.birth_month) + pd.Timedelta(days=14), START)
    return out


def test_population_size_matches_request(area: SynthRun, residents_at_start: pd.DataFrame):
    assert residents_at_start.person_id.nunique() == 20_000


def test_age_and_sex_mix(residents_at_start: pd.DataFrame):
    # England 2021: about 21% under 18, 18.4% aged 65+, 50.6% female; tolerance 2 points
    age = residents_at_start.age
    assert (age < 18).mean() == pytest.approx(0.21, abs=0.02)
    assert (age >= 65).mean() == pytest.approx(0.185, abs=0.02)
    assert (residents_at_start.sex == "F").mean() == pytest.approx(0.506, abs=0.02)
    assert age.max() < 110 and age.min() >= 0


def test_ethnic_mix(residents_at_start: pd.DataFrame):
    # Census 2021 England and Wales; tolerance a quarter of the share, at least 0.8 points
    census = {"White": 0.817, "Asian": 0.093, "Black": 0.040, "Mixed": 0.029, "Other": 0.021}
    share = residents_at_start.ethnic_group.value_counts(normalize=True)
    for group, target in census.items():
        assert share[group] == pytest.approx(target, abs=max(0.25 * target, 0.008)), group


def test_tenure_mix(area: SynthRun):
    # EHS 2022-23 households: owner occupied 64%, private rented 19%, social 17%; 3 points
    gaz = area.landing("gazetteer")
    share = gaz.TENURE.value_counts(normalize=True)
    assert share["Owner occupied"] == pytest.approx(0.64, abs=0.03)
    assert share["Private rented"] == pytest.approx(0.19, abs=0.03)
    social = share["Social rented (council)"] + share["Social rented (housing association)"]
    assert social == pytest.approx(0.17, abs=0.03)


def test_epc_distribution(area: SynthRun):
    # England 2023: about 47.5% of homes rated D or below, E-G about 9%; 5 and 3 points
    epc = area.landing("epc_certificates")
    assert (epc.CURRENT_ENERGY_RATING.isin(list("DEFG"))).mean() == pytest.approx(0.475, abs=0.05)
    assert (epc.CURRENT_ENERGY_RATING.isin(list("EFG"))).mean() == pytest.approx(0.09, abs=0.03)
    # the register's sentinel for missing values appears, as in the real register
    assert (epc.WALLS_DESCRIPTION == "NO DATA!").any()
    # coverage is partial: most homes but not all have a certificate
    gaz = area.landing("gazetteer")
    covered = epc.UPRN.dropna().nunique() / len(gaz)
    assert 0.5 < covered < 0.8


def _damp_share_on(area: SynthRun, day: pd.Timestamp) -> pd.Series:
    damp = area.truth("damp_intervals")
    on = damp[(damp.from_date <= day) & (damp.to_date.isna() | (damp.to_date > day))]
    homes = area.truth("homes")
    homes["damp"] = homes.uprn.isin(on.uprn)
    return homes.groupby("tenure").damp.mean()


def test_damp_by_tenure_at_start_and_end(area: SynthRun):
    # EHS 2023: private rented 9%, council 9%, housing association 5%, owner occupied 4%
    target = {"private_rented": 0.09, "local_authority": 0.09, "housing_association": 0.05,
              "owner_occupied": 0.04}
    start = _damp_share_on(area, START)
    end = _damp_share_on(area, pd.Timestamp("2025-03-15"))
    for tenure, share in target.items():
        assert start[tenure] == pytest.approx(share, abs=0.01), tenure
        # damp keeps roughly stationary over four years of onset and repair
        assert end[tenure] == pytest.approx(share, abs=0.035), tenure


def test_overcrowding_by_tenure(area: SynthRun, residents_at_start: pd.DataFrame):
    # EHS 2022-23 bedroom standard: social 8%, private rented 5%, owner occupied 1%, all 3%
    r = residents_at_start
    hh = area.truth("households").set_index("household_id")
    r = r.join(hh, on="household_id")
    g = r.groupby("household_id").agg(
        adults=("age", lambda a: int((a >= 21).sum())),
        young=("age", lambda a: int((a < 21).sum())),
        couple=("couple", "first"),
        bedrooms=("bedrooms", "first"),
        tenure=("tenure", "first"),
    )
    need = (g.adults - (g.couple & (g.adults >= 2)).astype(int) + np.ceil(g.young / 2)).clip(1)
    g["crowded"] = need > g.bedrooms
    share = g.groupby("tenure").crowded.mean()
    social = g[g.tenure.isin(["local_authority", "housing_association"])].crowded.mean()
    assert social == pytest.approx(0.08, abs=0.025)
    assert share["private_rented"] == pytest.approx(0.05, abs=0.02)
    assert share["owner_occupied"] == pytest.approx(0.01, abs=0.01)
    assert g.crowded.mean() == pytest.approx(0.03, abs=0.015)


def test_long_term_condition_prevalence(area: SynthRun, residents_at_start: pd.DataFrame):
    # asthma about 6-8% current; COPD about 2% of all ages, about 5% of people 40+
    ltc = area.landing("gp_long_term_conditions")
    gp = area.landing("gp_registrations")
    ident = area.truth("record_identity")
    nhs_to_person = (
        gp.assign(person_id=ident[ident.source == "gp_registrations"].person_id.to_numpy())
        .drop_duplicates("NHS_NUMBER").set_index("NHS_NUMBER").person_id
    )
    before = ltc[pd.to_datetime(ltc.DIAGNOSIS_DATE) < START]
    people = residents_at_start.set_index("person_id")
    for condition, lo, hi in (("asthma", 0.06, 0.08), ("copd", 0.015, 0.025)):
        who = set(nhs_to_person[before[before.CONDITION == condition].NHS_NUMBER])
        prevalence = people.index.isin(list(who)).mean()
        assert lo <= prevalence <= hi, (condition, prevalence)
    copd = set(nhs_to_person[before[before.CONDITION == "copd"].NHS_NUMBER])
    over40 = people[people.age >= 40]
    assert over40.index.isin(list(copd)).mean() == pytest.approx(0.05, abs=0.015)


@pytest.fixture(scope="module")
def emergency_rates(area: SynthRun) -> pd.DataFrame:
    """Emergency admissions per 1,000 person-years by age band and IMD quintile."""
    apc = area.landing("hes_apc")
    ident = area.truth("record_identity")
    apc["person_id"] = ident[ident.source == "hes_apc"].person_id.to_numpy()
    adm = apc[(apc.EPIORDER == 1) & apc.ADMIMETH.str.startswith("2")].copy()
    adm["age"] = _age(adm.DOB, adm.ADMIDATE)
    res = area.truth("residence")
    homes = area.truth("homes").set_index("uprn")
    # deprivation of the home each admission came from (truth residence on the day)
    m = adm.merge(res, on="person_id")
    m = m[(m.from_date <= m.ADMIDATE) & (m.to_date.isna() | (m.to_date > m.ADMIDATE))]
    m = m.drop_duplicates("EPIKEY")
    m["quintile"] = (homes.imd_decile.reindex(m.uprn).to_numpy() + 1) // 2
    bins = [0, 20, 38, 53, 67, 200]
    labels = ["0-19", "20-37", "38-52", "53-66", "67+"]
    m["band"] = pd.cut(m.age, bins, right=False, labels=labels)
    # person-years from the truth's monthly risk rows (one per resident per month)
    risk = area.truth("monthly_risk")[["person_id", "month"]]
    persons = area.truth("persons").set_index("person_id")
    risk = risk.join(persons.birth_month, on="person_id")
    risk["age"] = _age(pd.to_datetime(risk.birth_month) + pd.Timedelta(days=14),
                       pd.to_datetime(risk.month) + pd.Timedelta(days=14))
    risk["band"] = pd.cut(risk.age, bins, right=False, labels=labels)
    r = risk.merge(res, on="person_id")
    mid = pd.to_datetime(r.month) + pd.Timedelta(days=14)
    r = r[(r.from_date <= mid) & (r.to_date.isna() | (r.to_date > mid))]
    r = r.drop_duplicates(["person_id", "month"])
    r["quintile"] = (homes.imd_decile.reindex(r.uprn).to_numpy() + 1) // 2
    py = r.groupby(["band", "quintile"], observed=True).size() / 12
    n = m.groupby(["band", "quintile"], observed=True).size()
    return pd.DataFrame({"admissions": n, "person_years": py}).fillna(0)


def test_emergency_admission_rates_by_age_band(emergency_rates: pd.DataFrame):
    # East Devon rates per 1,000 a year across IMD quintiles; the band's overall rate must lie
    # inside the published range
    ranges = {"0-19": (40, 66), "20-37": (34, 68), "38-52": (40, 85), "53-66": (56, 108),
              "67+": (199, 282)}
    by_band = emergency_rates.groupby(level="band", observed=True).sum()
    rate = 1000 * by_band.admissions / by_band.person_years
    for band, (lo, hi) in ranges.items():
        assert lo <= rate[band] <= hi, (band, rate[band])


def test_deprivation_gradient(emergency_rates: pd.DataFrame):
    # the most deprived quintile has the highest rate in every band (East Devon); overall the
    # ratio most vs least deprived is near the configured 1.7
    rate = 1000 * emergency_rates.admissions / emergency_rates.person_years
    for band in ["0-19", "20-37", "38-52", "53-66", "67+"]:
        assert rate[(band, 1)] > rate[(band, 5)], band
    q = emergency_rates.groupby(level="quintile").sum()
    overall = q.admissions / q.person_years
    assert overall[1] / overall[5] == pytest.approx(1.7, rel=0.25)


def test_falls_in_people_65_plus(area: SynthRun):
    # about 30% of people 65+ fall each year; emergency admissions for falls about 2,100 per
    # 100,000 people 65+ a year (OHID); tolerance 5 points and 35%
    persons = area.truth("persons")
    events = area.truth("events")
    risk = area.truth("monthly_risk")[["person_id", "month"]]
    year = risk[(risk.month >= pd.Timestamp("2022-04-01").date())
                & (risk.month < pd.Timestamp("2023-04-01").date())]
    full = year.groupby("person_id").size()
    full = full[full == 12].index
    birth = pd.to_datetime(persons.set_index("person_id").birth_month.reindex(full))
    older = full[_age(birth, pd.Timestamp("2022-04-01")).to_numpy() >= 65]
    falls = events[events.event.str.startswith("fall") & (events.date >= "2022-04-01")
                   & (events.date < "2023-04-01")]
    fell = np.isin(older, falls.person_id.unique()).mean()
    assert fell == pytest.approx(0.30, abs=0.05)
    admitted = falls[falls.event == "fall_admitted"]
    rate = admitted.person_id.isin(older).sum() / len(older) * 100_000
    assert 2100 * 0.65 <= rate <= 2100 * 1.35


def test_opt_out_rates_by_age_sex_and_area(area: SynthRun, residents_at_start: pd.DataFrame):
    # national data opt-out about 3-6% overall, about 2% in children, 7-8% in women 20-69,
    # and from about 1% to over 10% by area
    optouts = set(area.landing("national_data_opt_outs").NHS_NUMBER)
    gp = area.landing("gp_registrations")
    ident = area.truth("record_identity")
    gp["person_id"] = ident[ident.source == "gp_registrations"].person_id.to_numpy()
    opted = set(gp[gp.NHS_NUMBER.isin(optouts)].person_id)
    r = residents_at_start.copy()
    r["opted"] = r.person_id.isin(opted)
    assert 0.03 <= r.opted.mean() <= 0.06
    assert r[r.age < 18].opted.mean() == pytest.approx(0.02, abs=0.012)
    women = r[(r.sex == "F") & (r.age >= 20) & (r.age < 70)].opted.mean()
    men = r[(r.sex == "M") & (r.age >= 20) & (r.age < 70)].opted.mean()
    assert women > men
    assert women == pytest.approx(0.075, abs=0.02)
    by_area = r.groupby("lsoa_code").opted.mean()
    assert by_area.max() / by_area.min() > 2
