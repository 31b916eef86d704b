"""Behaviour of a synth run: determinism, identifiers, truth completeness, error injection."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk_model.config import Workspace
from risk_model.errors import ConfigError, OutputExistsError
from risk_model.identifiers import is_valid_nhs_number
from risk_model.synth import SynthConfig, generate
from tests.conftest import SynthRun, make_run

PERSON_SOURCES = ("gp_registrations", "housing_residents", "hes_apc", "ecds_attendances",
                  "deaths", "gp_long_term_conditions", "national_data_opt_outs")


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_byte_identical_files(tmp_path: Path, fmt: str):
    a = make_run(tmp_path / "a", residents=400, months=6, seed=3, format=fmt)
    b = make_run(tmp_path / "b", residents=400, months=6, seed=3, format=fmt)
    da, db = _digests(a.ws.root / "landing"), _digests(b.ws.root / "landing")
    assert len(da) == 19
    assert da == db
    assert _digests(a.ws.truth) == _digests(b.ws.truth)
    c = make_run(tmp_path / "c", residents=400, months=6, seed=4, format=fmt)
    assert _digests(c.ws.root / "landing") != da


def test_result_counts_match_files(small_csv: SynthRun):
    for name, rows in small_csv.result.landing.items():
        frame = small_csv.landing(name.removesuffix(".csv"))
        assert len(frame) == rows, name
    manifest = json.loads((small_csv.ws.truth / "manifest.json").read_text())
    assert manifest["landing"] == small_csv.result.landing
    assert manifest["config"]["residents"] == 600


def test_every_nhs_number_is_valid_and_never_issued(area: SynthRun):
    seen = 0
    for source in PERSON_SOURCES:
        values = area.landing(source)["NHS_NUMBER"].dropna().astype(str)
        assert values.str.fullmatch(r"999\d{7}").all(), source
        assert all(is_valid_nhs_number(v) for v in values.unique()), source
        seen += len(values)
    assert seen > 50_000


def test_free_text_numbers_are_in_the_never_issued_range(area: SynthRun):
    text = area.landing("damp_hazard_reports").description
    numbers = text.str.extract(r"NHS no (\d{3} \d{3} \d{4})")[0].dropna().str.replace(" ", "")
    assert len(numbers) > 0
    assert numbers.str.startswith("999").all()
    assert all(is_valid_nhs_number(n) for n in numbers)


def test_one_person_one_nhs_number(area: SynthRun):
    gp = area.landing("gp_registrations")
    ident = area.truth("record_identity")
    gp["person_id"] = ident[ident.source == "gp_registrations"].person_id.to_numpy()
    assert gp.groupby("person_id").NHS_NUMBER.nunique().max() == 1
    assert gp.groupby("NHS_NUMBER").person_id.nunique().max() == 1
    # everyone who ever lived in the area is registered with a GP
    assert gp.person_id.nunique() == len(area.truth("persons"))


def test_refuses_more_people_than_never_issued_numbers(tmp_path: Path):
    with pytest.raises(ConfigError, match="never-issued 999 range holds only 909,090"):
        generate(SynthConfig(residents=900_000), Workspace.at(tmp_path))
    assert not (tmp_path / "landing").exists()


def test_truth_identifies_every_landing_record(area: SynthRun):
    ident = area.truth("record_identity")
    counts = ident.groupby("source").size().to_dict()
    assert counts == {k.removesuffix(".parquet"): v for k, v in area.result.landing.items()
                      if v > 0}
    for source in ("gp_registrations", "housing_residents", "hes_apc", "ecds_attendances",
                   "deaths"):
        part = ident[ident.source == source]
        assert part.person_id.notna().all(), source
        assert (part.row_number.to_numpy() == np.arange(1, len(part) + 1)).all()
    for source in ("gazetteer", "tenancies", "damp_hazard_reports", "stock_condition_surveys"):
        assert ident[ident.source == source].uprn.notna().all(), source
    gaz = area.landing("gazetteer")
    assert (ident[ident.source == "gazetteer"].uprn.to_numpy() == gaz.UPRN.to_numpy()).all()


def test_truth_is_consistent_with_landing(area: SynthRun):
    ident = area.truth("record_identity")
    persons = area.truth("persons")
    # deaths: the same people, on the same days, as the truth's death events
    deaths = area.landing("deaths")
    deaths["person_id"] = ident[ident.source == "deaths"].person_id.to_numpy()
    events = area.truth("events")
    died = events[events.event == "death"]
    assert sorted(deaths.person_id) == sorted(died.person_id)
    assert set(persons[persons.exit_reason == "died"].person_id) == set(died.person_id)
    # housing residents live, per truth, in the home their tenancy is for
    hr = area.landing("housing_residents")
    ten = area.landing("tenancies").set_index("TENANCY_REF")
    hr_ident = ident[ident.source == "housing_residents"]
    assert (ten.UPRN.reindex(hr.TENANCY_REF).to_numpy() == hr_ident.uprn.to_numpy()).all()
    # monthly truth: one row per resident per month, probabilities in [0, 1]
    risk = area.truth("monthly_risk")
    assert not risk.duplicated(["person_id", "month"]).any()
    assert risk.month.nunique() == 48
    p = risk.filter(like="p_")
    assert ((p >= 0) & (p <= 1)).all().all()
    assert (risk.p_emergency + 1e-6 >= p.drop(columns="p_emergency").max(axis=1)).all()
    assert set(risk.person_id) <= set(persons.person_id)
    # each month's residents are exactly those the residence intervals place in the area
    res = area.truth("residence")
    mid = pd.Timestamp("2023-01-15")
    here = res[(res.from_date <= mid) & (res.to_date.isna() | (res.to_date > mid))]
    jan = risk[risk.month == pd.Timestamp("2023-01-01").date()]
    assert abs(len(set(jan.person_id) ^ set(here.person_id))) < 0.01 * len(jan)
    effects = json.loads((area.ws.truth / "effects.json").read_text())
    assert effects["admission_causes"]["respiratory"]["damp_and_mould"] > 1


def test_truth_carries_the_planted_housing_effects(area: SynthRun):
    # children in homes with damp at the start carry about twice the respiratory risk
    risk = area.truth("monthly_risk")
    first = risk[risk.month == risk.month.min()]
    res = area.truth("residence")
    start = pd.Timestamp("2021-04-01")
    at = res[(res.from_date < start) & (res.to_date.isna() | (res.to_date >= start))]
    damp = area.truth("damp_intervals")
    damp_on = set(damp[(damp.from_date < start) & (damp.to_date.isna()
                                                   | (damp.to_date > start))].uprn)
    persons = area.truth("persons").set_index("person_id")
    m = first.merge(at, on="person_id").join(persons, on="person_id")
    age = (start - pd.to_datetime(m.birth_month)).dt.days / 365.25
    kids = m[(age >= 5) & (age < 16)]
    in_damp = kids.uprn.isin(damp_on)
    ratio = kids[in_damp].p_respiratory.mean() / kids[~in_damp].p_respiratory.mean()
    assert ratio == pytest.approx(2.0, rel=0.3)


def _rate(errors: pd.DataFrame, source: str, error: str, rows: int) -> float:
    return (errors[(errors.source == source) & (errors.error == error)].shape[0]) / rows


def test_error_injection_happens_at_configured_rates(area: SynthRun):
    errors = area.truth("record_errors")
    noise = area.config.noise
    hr = area.landing("housing_residents")
    n = len(hr)
    # NHS number recorded for about 35% of housing residents
    assert 1 - hr.NHS_NUMBER.isna().mean() == pytest.approx(noise.housing_nhs_number_share,
                                                              abs=0.05)
    assert _rate(errors, "housing_residents", "nhs_number_missing", n) == pytest.approx(
        hr.NHS_NUMBER.isna().mean(), abs=1e-9)
    # day/month swaps are drawn among dates where a swap is possible (both parts 12 or less)
    assert _rate(errors, "housing_residents", "dob_day_month_swapped", n) == pytest.approx(
        noise.dob_swap_rate, abs=0.006)
    gp = area.landing("gp_registrations")
    g = len(gp)
    assert _rate(errors, "gp_registrations", "address_informal", g) == pytest.approx(
        noise.address_messy_rate, abs=0.02)
    assert _rate(errors, "gp_registrations", "address_typo", g) == pytest.approx(
        noise.address_typo_rate, abs=0.01)
    assert gp.UPRN.notna().mean() == pytest.approx(noise.gp_uprn_share, abs=0.02)
    dup = _rate(errors, "gp_registrations", "duplicate_registration", g)
    people = len(area.truth("persons"))
    assert dup * g / people == pytest.approx(noise.duplicate_registration_rate, abs=0.004)


def test_injected_errors_are_really_in_the_records(area: SynthRun):
    """A flagged record differs from the clean GP record of the same person; others match."""
    ident = area.truth("record_identity")
    errors = area.truth("record_errors")
    gp = area.landing("gp_registrations")
    gp["person_id"] = ident[ident.source == "gp_registrations"].person_id.to_numpy()
    dup_rows = errors[(errors.source == "gp_registrations")
                      & (errors.error == "duplicate_registration")].row_number
    clean = gp.drop(index=dup_rows - 1).drop_duplicates("person_id").set_index("person_id")
    hr = area.landing("housing_residents")
    hr["person_id"] = ident[ident.source == "housing_residents"].person_id.to_numpy()
    hr["row_number"] = np.arange(1, len(hr) + 1)
    hr = hr.merge(clean[["DATE_OF_BIRTH", "FORENAME", "SURNAME"]], left_on="person_id",
                  right_index=True, how="left", suffixes=("", "_GP"))
    flagged = errors[errors.source == "housing_residents"].groupby("error").row_number.apply(set)
    swapped = hr.row_number.isin(flagged["dob_day_month_swapped"])
    assert swapped.sum() > 10
    s = hr[swapped]
    assert (s.DATE_OF_BIRTH != s.DATE_OF_BIRTH_GP).all()
    assert (s.DATE_OF_BIRTH.dt.day == s.DATE_OF_BIRTH_GP.dt.month).all()
    assert (s.DATE_OF_BIRTH.dt.month == s.DATE_OF_BIRTH_GP.dt.day).all()
    dob_flag = swapped | hr.row_number.isin(flagged.get("dob_typo", set()))
    assert (hr[~dob_flag].DATE_OF_BIRTH == hr[~dob_flag].DATE_OF_BIRTH_GP).all()
    name_flags = set().union(*(flagged.get(k, set()) for k in (
        "name_typo", "nickname", "name_transliteration_variant", "hyphenated_surname_variant",
        "earlier_surname")))
    named = hr.row_number.isin(name_flags)
    same = (hr.FORENAME == hr.FORENAME_GP) & (hr.SURNAME == hr.SURNAME_GP)
    assert same[~named].all()
    assert not same[hr.row_number.isin(flagged["name_typo"])].any()


def test_name_errors_fall_more_on_names_from_other_scripts(area: SynthRun):
    # linkage studies: transliterated names vary more between records
    ident = area.truth("record_identity")
    errors = area.truth("record_errors")
    hr = area.landing("housing_residents")
    persons = area.truth("persons").set_index("person_id")
    hr["cat"] = persons.ethnic_category.reindex(
        ident[ident.source == "housing_residents"].person_id.to_numpy()).to_numpy()
    hr["row_number"] = np.arange(1, len(hr) + 1)
    bad = errors[(errors.source == "housing_residents") & errors.error.isin(
        ["name_typo", "name_transliteration_variant"])].row_number
    hr["bad"] = hr.row_number.isin(bad)
    south_asian = hr[hr.cat.isin(list("HJK"))].bad.mean()
    white_british = hr[hr.cat == "A"].bad.mean()
    assert south_asian > 2 * white_british


def test_error_rates_follow_the_config(tmp_path: Path):
    run = make_run(tmp_path, residents=8000, months=6, seed=5, format="parquet",
                   noise={"dob_swap_rate": 0.08, "address_messy_rate": 0.8,
                          "housing_nhs_number_share": 0.9})
    errors = run.truth("record_errors")
    hr, gp = run.landing("housing_residents"), run.landing("gp_registrations")
    assert _rate(errors, "housing_residents", "dob_day_month_swapped", len(hr)) == \
        pytest.approx(0.08, abs=0.025)
    assert _rate(errors, "gp_registrations", "address_informal", len(gp)) == pytest.approx(
        0.8, abs=0.03)
    assert hr.NHS_NUMBER.notna().mean() == pytest.approx(0.9, abs=0.06)


def test_refuses_to_overwrite_and_leaves_files_alone(tmp_path: Path):
    run = make_run(tmp_path, residents=300, months=3, seed=1)
    before = _digests(run.ws.root / "landing")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        generate(SynthConfig(residents=300, months=3, seed=2), run.ws)
    assert _digests(run.ws.root / "landing") == before
    generate(SynthConfig(residents=300, months=3, seed=2), run.ws, overwrite=True)
    assert _digests(run.ws.root / "landing") != before
    assert not [p for p in run.ws.root.iterdir() if p.name.startswith(".")]


def test_failed_run_leaves_previous_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run = make_run(tmp_path, residents=300, months=3, seed=1)
    before = _digests(run.ws.root)

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("risk_model.synth.run._write_truth", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        generate(SynthConfig(residents=300, months=3, seed=9), run.ws, overwrite=True)
    assert _digests(run.ws.root) == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "2021-13"}, "start month must be 01-12"),
        ({"start": "April"}, "start must be YYYY-MM"),
        ({"residents": 5}, "greater than or equal to 200"),
        ({"format": "xlsx"}, "'csv' or 'parquet'"),
        ({"housing": {"damp_rate": 0.1}}, "Extra inputs are not permitted"),
    ],
)
def test_bad_config_is_rejected_with_the_allowed_values(kwargs: dict, message: str):
    with pytest.raises(ValueError, match=message):
        SynthConfig(**kwargs)


def test_nothing_happens_to_anyone_after_they_die(area: SynthRun):
    events = area.truth("events")
    death = events[events.event == "death"].set_index("person_id").date
    other = events[events.event != "death"]
    other = other[other.person_id.isin(death.index)]
    assert (other.date.to_numpy() <= death.reindex(other.person_id).to_numpy()).all()
    apc = area.landing("hes_apc")
    ident = area.truth("record_identity")
    apc["person_id"] = ident[ident.source == "hes_apc"].person_id.to_numpy()
    dead = apc[apc.person_id.isin(death.index)]
    assert (dead.ADMIDATE.to_numpy() <= death.reindex(dead.person_id).to_numpy()).all()


def test_babies_are_not_diagnosed_in_their_first_month(area: SynthRun):
    persons = area.truth("persons")
    birth = pd.to_datetime(persons.birth_month)
    start = pd.Timestamp("2021-04-01")
    born = persons[birth >= start]
    assert len(born) > 100
    birth_index = ((birth[born.index] - start).dt.days // 30.44).astype(int).to_numpy()
    onset = born.filter(like="onset_month_").to_numpy()
    assert ((onset == -999) | (onset > birth_index[:, None])).all()


def test_fitted_adaptations_take_effect(area: SynthRun):
    ad = area.landing("adaptations")
    done = ad[ad.COMPLETED_DATE.notna()]
    assert len(done) > 10
    homes = area.truth("homes").set_index("uprn")
    assert homes.adapted_by_end.reindex(done.UPRN).all()


def test_admission_postcode_is_the_home_on_the_day(area: SynthRun):
    apc = area.landing("hes_apc")
    ident = area.truth("record_identity")
    apc["person_id"] = ident[ident.source == "hes_apc"].person_id.to_numpy()
    res = area.truth("residence")
    m = apc.merge(res, on="person_id")
    m = m[(m.from_date <= m.ADMIDATE) & (m.to_date.isna() | (m.to_date > m.ADMIDATE))]
    gaz = area.landing("gazetteer").set_index("UPRN").POSTCODE_LOCATOR
    assert len(m) > 0.98 * len(apc)
    assert (m.HOMEADD.to_numpy() == gaz.reindex(m.uprn).to_numpy()).mean() > 0.999


def test_codes_have_their_shapes(area: SynthRun):
    apc = area.landing("hes_apc")
    diag = apc.filter(like="DIAG_4_").stack().dropna()
    assert diag.str.fullmatch(r"[A-Z][0-9]{2}[0-9X]").all()
    assert apc.CAUSE_4.dropna().str.fullmatch(r"W[0-9]{2}X").all()
    emergency = {"21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28"}
    assert set(apc.ADMIMETH) <= emergency | {"11", "12", "13", "31", "32"}
    hz = area.landing("stock_condition_hazards")
    bands = pd.cut(hz.HAZARD_SCORE, [-1, 9, 19, 49, 99, 199, 499, 999, 1999, 4999, 10**9],
                   labels=list("JIHGFEDCBA")).astype(str)
    assert (bands == hz.HAZARD_BAND).all()
    epc = area.landing("epc_certificates")
    sap = epc.CURRENT_ENERGY_EFFICIENCY
    band = pd.cut(sap, [0, 20, 38, 54, 68, 80, 91, 200], labels=list("GFEDCBA")).astype(str)
    assert (band == epc.CURRENT_ENERGY_RATING).all()


def test_a_homes_second_certificate_is_older(area: SynthRun):
    epc = area.landing("epc_certificates").dropna(subset=["UPRN"])
    twice = epc[epc.UPRN.duplicated(keep=False)].sort_values(["UPRN", "LODGEMENT_DATE"])
    gaps = twice.groupby("UPRN").LODGEMENT_DATE.agg(lambda d: (d.max() - d.min()).days)
    assert len(gaps) > 50
    assert (gaps >= 365).all()


def test_risk_changes_smoothly_with_age(area: SynthRun):
    # intercepts are interpolated between age bands: no step where one band meets the next
    risk = area.truth("monthly_risk")
    persons = area.truth("persons").set_index("person_id")
    first = risk[risk.month == risk.month.min()].join(persons.birth_month, on="person_id")
    age = (pd.Timestamp("2021-04-15") - pd.to_datetime(first.birth_month)).dt.days / 365.25
    for edge in (20, 38, 53, 67):
        below = first[(age >= edge - 3) & (age < edge)].p_emergency.mean()
        above = first[(age >= edge) & (age < edge + 3)].p_emergency.mean()
        assert 0.85 < above / below < 1.35, edge
