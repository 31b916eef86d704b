"""Measure a synthetic workspace against the reference figures it is meant to reproduce.

One place for these measurements: the realism tests assert on them and ``docs/synthetic-data.md``
quotes them. Run ``python -m risk_model.synth.realism WORKSPACE`` to print the table. Figures
come from the landing files where the pipeline would see them, and from ``truth/`` where only
the truth holds them (true ethnicity, falls that never reached hospital). Reading ``truth/``
is allowed here because this is evaluation, not a pipeline step.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["AGE_BAND_LABELS", "Realism", "Reference"]

AGE_BAND_LABELS = ("0-19", "20-37", "38-52", "53-66", "67+")
_BINS = [0, 20, 38, 53, 67, 200]


@dataclass(frozen=True)
class Reference:
    """A reference figure: its target, the tolerance the tests allow, and where it is from."""

    target: float | tuple[float, float]
    tolerance: float | None
    source: str


#: The reference figures checked by the realism tests (shared/reference/uk-data-facts.md).
REFERENCES: dict[str, Reference] = {
    "under_18_share": Reference(0.21, 0.02, "England 2021: about 21%"),
    "aged_65_plus_share": Reference(0.185, 0.02, "England 2021: 18.4%"),
    "female_share": Reference(0.506, 0.02, "ONS mid-year: 50.6%"),
    "ethnic_White": Reference(0.817, 0.03, "Census 2021 E&W"),
    "ethnic_Asian": Reference(0.093, 0.023, "Census 2021 E&W"),
    "ethnic_Black": Reference(0.040, 0.010, "Census 2021 E&W"),
    "ethnic_Mixed": Reference(0.029, 0.008, "Census 2021 E&W"),
    "ethnic_Other": Reference(0.021, 0.008, "Census 2021 E&W"),
    "tenure_owner_occupied": Reference(0.64, 0.03, "EHS 2022-23"),
    "tenure_private_rented": Reference(0.19, 0.03, "EHS 2022-23"),
    "tenure_social_rented": Reference(0.17, 0.03, "EHS 2022-23"),
    "epc_d_or_below": Reference(0.475, 0.05, "England 2023: about 47.5%"),
    "epc_e_to_g": Reference(0.09, 0.03, "England: about 9%"),
    "damp_owner_occupied": Reference(0.04, 0.01, "EHS 2023"),
    "damp_private_rented": Reference(0.09, 0.01, "EHS 2023"),
    "damp_local_authority": Reference(0.09, 0.01, "EHS 2023"),
    "damp_housing_association": Reference(0.05, 0.01, "EHS 2023"),
    "overcrowded_owner_occupied": Reference(0.01, 0.01, "EHS 2022-23"),
    "overcrowded_private_rented": Reference(0.05, 0.02, "EHS 2022-23"),
    "overcrowded_social_rented": Reference(0.08, 0.025, "EHS 2022-23"),
    "overcrowded_all": Reference(0.03, 0.015, "EHS 2022-23"),
    "asthma_prevalence": Reference((0.06, 0.08), None, "current asthma about 6-8%"),
    "copd_prevalence": Reference((0.015, 0.025), None, "about 2% of all ages"),
    "copd_prevalence_40_plus": Reference(0.05, 0.015, "about 5% of people 40+"),
    "emergency_per_1000_0-19": Reference((40, 66), None, "East Devon, across IMD quintiles"),
    "emergency_per_1000_20-37": Reference((34, 68), None, "East Devon"),
    "emergency_per_1000_38-52": Reference((40, 85), None, "East Devon"),
    "emergency_per_1000_53-66": Reference((56, 108), None, "East Devon"),
    "emergency_per_1000_67+": Reference((199, 282), None, "East Devon"),
    "deprivation_rate_ratio": Reference(1.7, 0.425, "most vs least deprived quintile"),
    "falls_65_plus_share_a_year": Reference(0.30, 0.05, "about 30% of people 65+ fall a year"),
    "fall_admissions_65_plus_per_100k": Reference((1365, 2835), None, "OHID about 2,100"),
    "opt_out_all": Reference((0.03, 0.06), None, "about 3-6% nationally"),
    "opt_out_children": Reference(0.02, 0.012, "about 2% in children"),
    "opt_out_women_20_69": Reference(0.075, 0.02, "about 7-8% in women 20-69"),
    "opt_out_area_max_over_min": Reference((2.0, 100.0), None, "about 1% to over 10% by area"),
}


def _age(birth: pd.Series, on: pd.Timestamp | pd.Series) -> pd.Series:
    return (pd.to_datetime(on) - pd.to_datetime(birth)).dt.days / 365.25


@dataclass
class Realism:
    """Figures measured on one synthetic workspace.

    Parameters
    ----------
    root : pathlib.Path
        The workspace folder (with ``landing/`` and ``truth/``).
    """

    root: Path
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @cached_property
    def manifest(self) -> dict:
        """The run's manifest (config and row counts)."""
        return json.loads((self.root / "truth" / "manifest.json").read_text())

    @property
    def start(self) -> pd.Timestamp:
        """First day of the period."""
        return pd.Timestamp(self.manifest["config"]["start"] + "-01")

    def landing(self, name: str) -> pd.DataFrame:
        """A landing file as a DataFrame (CSV read as text, Parquet as typed)."""
        key = f"landing/{name}"
        if key not in self._cache:
            fmt = self.manifest["config"]["format"]
            path = self.root / "landing" / f"{name}.{fmt}"
            if fmt == "csv":
                df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
                for col in df.columns:
                    if col.endswith(("DATE", "DOB", "_FROM", "_TO")) or col in (
                            "DATE_OF_BIRTH", "ADMIDATE"):
                        df[col] = pd.to_datetime(df[col])
                for col in ("EPIORDER", "HAZARD_SCORE", "CURRENT_ENERGY_EFFICIENCY"):
                    if col in df:
                        df[col] = pd.to_numeric(df[col])
            else:
                df = pd.read_parquet(path)
            self._cache[key] = df
        return self._cache[key]

    def truth(self, name: str) -> pd.DataFrame:
        """A truth table."""
        key = f"truth/{name}"
        if key not in self._cache:
            self._cache[key] = pd.read_parquet(self.root / "truth" / f"{name}.parquet")
        return self._cache[key]

    def person_of(self, source: str) -> np.ndarray:
        """True person of each row of a person-level landing file."""
        ident = self.truth("record_identity")
        return ident[ident.source == source].person_id.to_numpy()

    @cached_property
    def residents_at_start(self) -> pd.DataFrame:
        """Truth residents on the first day, with their home's tenure and deprivation."""
        res = self.truth("residence")
        at = res[(res.from_date < self.start) & (res.to_date.isna()
                                                | (res.to_date >= self.start))]
        persons = self.truth("persons").set_index("person_id")
        homes = self.truth("homes").set_index("uprn")
        out = at.join(persons, on="person_id").join(homes, on="uprn")
        out["age"] = _age(pd.to_datetime(out.birth_month) + pd.Timedelta(days=14), self.start)
        return out

    # ---- people

    def population(self) -> dict[str, float]:
        """Age, sex and ethnic mix of the residents on the first day."""
        r = self.residents_at_start
        out = {"residents_at_start": float(r.person_id.nunique()),
               "under_18_share": float((r.age < 18).mean()),
               "aged_65_plus_share": float((r.age >= 65).mean()),
               "female_share": float((r.sex == "F").mean()),
               "max_age": float(r.age.max())}
        share = r.ethnic_group.value_counts(normalize=True)
        out |= {f"ethnic_{g}": float(share.get(g, 0.0))
                for g in ("White", "Asian", "Black", "Mixed", "Other")}
        return out

    # ---- homes

    def homes(self) -> dict[str, float]:
        """Tenure mix, EPC bands, damp and overcrowding by tenure."""
        gaz = self.landing("gazetteer")
        share = gaz.TENURE.value_counts(normalize=True)
        out = {
            "tenure_owner_occupied": float(share.get("Owner occupied", 0)),
            "tenure_private_rented": float(share.get("Private rented", 0)),
            "tenure_social_rented": float(share.get("Social rented (council)", 0)
                                          + share.get("Social rented (housing association)", 0)),
        }
        epc = self.landing("epc_certificates")
        out["epc_d_or_below"] = float(epc.CURRENT_ENERGY_RATING.isin(list("DEFG")).mean())
        out["epc_e_to_g"] = float(epc.CURRENT_ENERGY_RATING.isin(list("EFG")).mean())
        out["epc_coverage_of_homes"] = float(epc.UPRN.dropna().nunique() / len(gaz))
        for tenure, share in self.damp_on(self.start).items():
            out[f"damp_{tenure}"] = float(share)
        end = self.start + pd.DateOffset(months=self.manifest["config"]["months"]) \
            - pd.Timedelta(days=15)
        for tenure, share in self.damp_on(end).items():
            out[f"damp_at_end_{tenure}"] = float(share)
        out |= self.overcrowding()
        return out

    def damp_on(self, day: pd.Timestamp) -> pd.Series:
        """Share of homes with damp on a day, by tenure (truth)."""
        damp = self.truth("damp_intervals")
        on = damp[(damp.from_date <= day) & (damp.to_date.isna() | (damp.to_date > day))]
        homes = self.truth("homes").assign(damp=lambda h: h.uprn.isin(on.uprn))
        return homes.groupby("tenure").damp.mean()

    def overcrowding(self) -> dict[str, float]:
        """Households short of bedrooms by the bedroom standard on the first day, by tenure."""
        r = self.residents_at_start.join(self.truth("households").set_index("household_id"),
                                         on="household_id")
        g = r.groupby("household_id").agg(
            adults=("age", lambda a: int((a >= 21).sum())),
            young=("age", lambda a: int((a < 21).sum())),
            couple=("couple", "first"), bedrooms=("bedrooms", "first"),
            tenure=("tenure", "first"))
        need = (g.adults - (g.couple & (g.adults >= 2)).astype(int)
                + np.ceil(g.young / 2)).clip(lower=1)
        g["crowded"] = need > g.bedrooms
        social = g.tenure.isin(["local_authority", "housing_association"])
        by = g.groupby("tenure").crowded.mean()
        return {"overcrowded_owner_occupied": float(by.get("owner_occupied", 0)),
                "overcrowded_private_rented": float(by.get("private_rented", 0)),
                "overcrowded_social_rented": float(g[social].crowded.mean()),
                "overcrowded_all": float(g.crowded.mean())}

    # ---- health

    def conditions(self) -> dict[str, float]:
        """Prevalence of asthma and COPD on the first day, from GP records."""
        ltc = self.landing("gp_long_term_conditions")
        gp = self.landing("gp_registrations").assign(person_id=self.person_of("gp_registrations"))
        nhs_to_person = gp.drop_duplicates("NHS_NUMBER").set_index("NHS_NUMBER").person_id
        before = ltc[pd.to_datetime(ltc.DIAGNOSIS_DATE) < self.start]
        people = self.residents_at_start.set_index("person_id")
        out = {}
        for condition in ("asthma", "copd", "cvd", "diabetes", "dementia", "smi", "frailty"):
            who = nhs_to_person.reindex(before[before.CONDITION == condition].NHS_NUMBER)
            out[f"{condition}_prevalence"] = float(people.index.isin(who.dropna()).mean())
        copd = nhs_to_person.reindex(before[before.CONDITION == "copd"].NHS_NUMBER).dropna()
        out["copd_prevalence_40_plus"] = float(people[people.age >= 40].index.isin(copd).mean())
        return out

    @cached_property
    def emergency_rates(self) -> pd.DataFrame:
        """Emergency admissions and person-years by age band and IMD quintile."""
        apc = self.landing("hes_apc").assign(person_id=self.person_of("hes_apc"))
        adm = apc[(apc.EPIORDER == 1) & apc.ADMIMETH.str.startswith("2")].copy()
        adm["age"] = _age(adm.DOB, adm.ADMIDATE)
        res = self.truth("residence")
        homes = self.truth("homes").set_index("uprn")
        m = adm.merge(res, on="person_id")
        m = m[(m.from_date <= m.ADMIDATE) & (m.to_date.isna() | (m.to_date > m.ADMIDATE))]
        m = m.drop_duplicates("EPIKEY")
        m["quintile"] = (homes.imd_decile.reindex(m.uprn).to_numpy() + 1) // 2
        m["band"] = pd.cut(m.age, _BINS, right=False, labels=AGE_BAND_LABELS)
        risk = self.truth("monthly_risk")[["person_id", "month"]]
        persons = self.truth("persons").set_index("person_id")
        risk = risk.join(persons.birth_month, on="person_id")
        mid = pd.to_datetime(risk.month) + pd.Timedelta(days=14)
        risk["band"] = pd.cut(_age(pd.to_datetime(risk.birth_month) + pd.Timedelta(days=14),
                                   mid), _BINS, right=False, labels=AGE_BAND_LABELS)
        r = risk.merge(res, on="person_id")
        mid = pd.to_datetime(r.month) + pd.Timedelta(days=14)
        r = r[(r.from_date <= mid) & (r.to_date.isna() | (r.to_date > mid))]
        r = r.drop_duplicates(["person_id", "month"])
        r["quintile"] = (homes.imd_decile.reindex(r.uprn).to_numpy() + 1) // 2
        py = r.groupby(["band", "quintile"], observed=True).size() / 12
        n = m.groupby(["band", "quintile"], observed=True).size()
        return pd.DataFrame({"admissions": n, "person_years": py}).fillna(0)

    def admissions(self) -> dict[str, float]:
        """Emergency admission rates by age band, and the deprivation ratio."""
        e = self.emergency_rates
        by_band = e.groupby(level="band", observed=True).sum()
        out = {f"emergency_per_1000_{b}": float(1000 * by_band.admissions[b]
                                                / by_band.person_years[b])
               for b in AGE_BAND_LABELS}
        q = e.groupby(level="quintile").sum()
        overall = q.admissions / q.person_years
        out["deprivation_rate_ratio"] = float(overall[1] / overall[5])
        return out

    def falls(self) -> dict[str, float]:
        """Falls and fall admissions among people 65+ present the whole second year."""
        persons = self.truth("persons")
        events = self.truth("events")
        risk = self.truth("monthly_risk")[["person_id", "month"]]
        lo = self.start + pd.DateOffset(years=1)
        hi = lo + pd.DateOffset(years=1)
        year = risk[(risk.month >= lo.date()) & (risk.month < hi.date())]
        full = year.groupby("person_id").size()
        full = full[full == 12].index
        birth = pd.to_datetime(persons.set_index("person_id").birth_month.reindex(full))
        older = full[_age(birth, lo).to_numpy() >= 65]
        falls = events[events.event.str.startswith("fall") & (events.date >= lo)
                       & (events.date < hi)]
        admitted = falls[falls.event == "fall_admitted"]
        return {
            "falls_65_plus_share_a_year": float(np.isin(older, falls.person_id.unique()).mean()),
            "fall_admissions_65_plus_per_100k": float(
                admitted.person_id.isin(older).sum() / len(older) * 100_000),
        }

    def opt_outs(self) -> dict[str, float]:
        """National data opt-out rates by age, sex and area, among residents at the start."""
        optouts = set(self.landing("national_data_opt_outs").NHS_NUMBER.astype(str))
        gp = self.landing("gp_registrations").assign(person_id=self.person_of("gp_registrations"))
        opted = set(gp[gp.NHS_NUMBER.astype(str).isin(optouts)].person_id)
        r = self.residents_at_start.assign(
            opted=lambda d: d.person_id.isin(opted))
        adult = (r.age >= 20) & (r.age < 70)
        by_area = r.groupby("lsoa_code").opted.mean()
        return {
            "opt_out_all": float(r.opted.mean()),
            "opt_out_children": float(r[r.age < 18].opted.mean()),
            "opt_out_women_20_69": float(r[(r.sex == "F") & adult].opted.mean()),
            "opt_out_men_20_69": float(r[(r.sex == "M") & adult].opted.mean()),
            "opt_out_area_max_over_min": float(by_area.max() / max(by_area.min(), 1e-9)),
        }

    def deaths(self) -> dict[str, float]:
        """Crude death rate per 1,000 a year, for each year of the period."""
        events = self.truth("events")
        risk = self.truth("monthly_risk")
        out = {}
        for year in range(self.manifest["config"]["months"] // 12):
            lo = self.start + pd.DateOffset(years=year)
            hi = lo + pd.DateOffset(years=1)
            n = ((events.event == "death") & (events.date >= lo) & (events.date < hi)).sum()
            py = ((risk.month >= lo.date()) & (risk.month < hi.date())).sum() / 12
            out[f"deaths_per_1000_year_{year + 1}"] = float(1000 * n / py)
        return out

    def all(self) -> dict[str, float]:
        """Every figure."""
        return (self.population() | self.homes() | self.conditions() | self.admissions()
                | self.falls() | self.opt_outs() | self.deaths())


def _fmt(value: float) -> str:
    return f"{value:.1%}" if abs(value) < 1 else f"{value:,.1f}"


def main(argv: list[str] | None = None) -> None:
    """Print every figure of a workspace, with its reference and tolerance, as Markdown."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("workspace", type=Path)
    args = parser.parse_args(argv)
    figures = Realism(args.workspace.resolve()).all()
    cfg = Realism(args.workspace.resolve()).manifest["config"]
    print(f"Measured on {cfg['residents']:,} residents, {cfg['months']} months from "
          f"{cfg['start']}, seed {cfg['seed']} ({cfg['format']}).\n")
    print("| figure | measured | reference | tolerance | source |")
    print("|---|---|---|---|---|")
    for name, value in figures.items():
        ref = REFERENCES.get(name)
        if ref is None:
            print(f"| {name} | {_fmt(value)} | | | |")
            continue
        target = (f"{_fmt(ref.target[0])} to {_fmt(ref.target[1])}"
                  if isinstance(ref.target, tuple) else _fmt(ref.target))
        tol = "" if ref.tolerance is None else f"± {_fmt(ref.tolerance)}"
        print(f"| {name} | {_fmt(value)} | {target} | {tol} | {ref.source} |")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
