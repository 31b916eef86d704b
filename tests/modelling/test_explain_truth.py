"""Explanations find the planted truth: damp for breathing, fall hazards for falls in the 65+.

The generator plants its housing effects (``truth/effects.json``): damp and mould raise the
respiratory hazard (1.5, 2.0 for children, 2.2 with asthma or COPD), and the stairs and
level-surface hazards raise the fall hazard of people 65+ (1.8, 1.4). Damp has no effect on
falls, fall hazards none on breathing, so each group is the other model's negative control.
Each model is fitted on the train date (:func:`~risk_model.modelling.train.fit`, as ``train``
does, without the tracking) and its test split explained with exact TreeSHAP.

Why the default test world could not show them (measured 2026-11-24, seed 11): the
explanation can only find a hazard the model's inputs record and the training data has power
for. In the 20,000-resident all-social area (``truth_area``) each home's one stock-condition
survey falls in a random month of the 48, so on the training date (2022-03-31) the fall hazard
is "not known" for 2,267 of 3,066 people 65+ (74%); the truth puts 120 of them in a home with the
stairs hazard, and the records show 28 (Category 1 or 2), with no falls among them; 63 falls in
all. The truth's own contrast is there (at 200,000 residents, 3.1% of people 65+ in a hazard home
fall within the year against 1.6%), but the records catch 23% of the exposed by the training
date. It is recording and power, not the model: floor area per person, floor area, SAP score and
property type (the stairs hazard is only in houses) lead as proxies while the hazard is unknown.
Damp is the same story at a smaller scale (the damp rank 3rd, 1st, 9th, 1st, 9th over seeds
11-15 there).

So each test gets its own area from the generator's own knobs, with the planted hazard ratios
unchanged (``damp_area`` and ``falls_area`` in ``conftest.py``): 96 months from 2017-04, so
62% of surveys precede the training date (as a landlord's rolling five-year programme would);
all homes social and surveyed; and more of the exposure and events the effect acts on (damp in
25% of social homes and respiratory rates doubled; stairs and level-surface hazards at shares
0.4 and 0.5 and the 67+ fall admission rate five times the default). Measured over seeds 11-13,
damp ranks 1st, 2nd and 1st of the respiratory model's housing drivers and the fall hazards
1st, 1st and 3rd of the falls model's (about 9,000 people 65+ and 790 falls in training at
60,000 residents), with the truly exposed people's mean contribution higher on every seed. Not
yet robust: on seed 13 the damp control outranks the fall hazards in the falls model (mean
|SHAP| 0.082 against 0.054; damp leans on old homes, as the stairs hazard does), so that check
of the falls test passes on 2 of the 3 seeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pytest

from risk_model.config import Workspace
from risk_model.features import load_catalogue
from risk_model.linkage.quality import truth_persons
from risk_model.modelling.explain import shap_values
from risk_model.modelling.run import _features
from risk_model.modelling.spec import load_specs
from risk_model.modelling.train import fit, load_splits

pytestmark = pytest.mark.slow

#: The features that record damp and mould (grouped: their |SHAP| are summed per person).
DAMP = ("hazard_damp_mould", "damp_reports_12m", "damp_confirmed_12m", "damp_work_orders_open",
        "days_since_damp_report")
#: The features that record a fall hazard in the home.
FALL = ("hazard_falls_on_stairs", "hazard_falls_on_level")
TOP = 3


@dataclass
class Explained:
    """A model's SHAP values on its test split, with what the truth says of each person."""

    values: pd.DataFrame  # SHAP values, one column per feature
    housing: list[str]  # the model's features of housing sensitivity
    damp: np.ndarray  # the truth: the person's home is damp on the test date
    fall_hazard: np.ndarray  # the truth: the home has a stairs or level-surface fall hazard

    def drivers(self) -> pd.Series:
        """Mean |SHAP| of each housing driver (the damp and fall groups summed), largest first."""
        size = self.values[self.housing].abs().mean()
        single = size.drop([n for n in (*DAMP, *FALL) if n in size.index])
        groups = pd.Series({"damp": size[list(DAMP)].sum(), "fall": size[list(FALL)].sum()})
        return pd.concat([groups, single]).sort_values(ascending=False)

    def contribution(self, group: tuple[str, ...]) -> np.ndarray:
        """Each person's summed (signed) SHAP value of a group's features."""
        return self.values[list(group)].sum(axis=1).to_numpy()


def _truth_homes(ws: Workspace, as_of: pd.Timestamp) -> tuple[pd.Series, set, set]:
    """The true home of every person on ``as_of``, the damp homes then, the fall-hazard homes."""
    def current(frame: pd.DataFrame) -> pd.DataFrame:
        start = pd.to_datetime(frame["from_date"])
        end = pd.to_datetime(frame["to_date"])
        return frame[(start <= as_of) & (end.isna() | (end > as_of))]

    residence = current(pd.read_parquet(ws.truth / "residence.parquet"))
    home = residence.drop_duplicates("person_id").set_index("person_id")["uprn"]
    damp = set(current(pd.read_parquet(ws.truth / "damp_intervals.parquet"))["uprn"])
    homes = pd.read_parquet(ws.truth / "homes.parquet")
    hazard = set(homes.loc[homes["falls_on_stairs_hazard"] | homes["falls_on_level_hazard"],
                           "uprn"])
    return home, damp, hazard


def _explain(ws: Workspace, model: str) -> Explained:
    spec = load_specs()[model]
    schema = _features(spec, load_catalogue())
    assert spec.dates is not None
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        splits = load_splits(con, spec, schema)
        _, health = truth_persons(con, ws.truth)
    test = splits["test"]
    explanation = shap_values(fit(splits, spec, schema).booster, test.x, schema)
    home, damp, hazard = _truth_homes(ws, pd.Timestamp(spec.dates.test))
    where = test.person_id.map(health).map(home)
    housing = [e["name"] for e in schema.entries if e["sensitivity"] == "housing"]
    return Explained(explanation.values, housing, where.isin(damp).to_numpy(),
                     where.isin(hazard).to_numpy())


def _planted(ws: Workspace, cause: str) -> dict[str, float]:
    """The hazard ratios the generator planted for a cause of admission."""
    return json.loads((ws.truth / "effects.json").read_text())["admission_causes"][cause]


@pytest.fixture(scope="module")
def respiratory(damp_area: Workspace) -> Explained:
    """The respiratory model's SHAP values on its test split."""
    return _explain(damp_area, "respiratory_admission_12m")


@pytest.fixture(scope="module")
def falls(falls_area: Workspace) -> Explained:
    """The falls model's (people 65+) SHAP values on its test split."""
    return _explain(falls_area, "fall_admission_12m_65plus")


def test_the_groups_are_the_catalogues_damp_and_fall_hazard_features(respiratory) -> None:
    """Fails if a damp or fall-hazard feature is renamed, dropped or added without the groups."""
    housing = set(respiratory.housing)
    assert set(DAMP) | set(FALL) <= housing
    assert {n for n in housing if "damp" in n} <= set(DAMP)
    assert {n for n in housing if n.startswith("hazard_falls")} == set(FALL)


def test_damp_and_mould_lead_the_housing_drivers_of_breathing_admissions(
        respiratory: Explained, damp_area: Workspace) -> None:
    """Damp and mould are among the top 3 housing drivers, and found where the truth put damp.

    Fails if the damp features' summed mean |SHAP| ranks below third among the housing drivers;
    if the fall-hazard features (no planted effect on breathing: the negative control) outrank
    them; or if the people whose home is truly damp on the test date do not get a higher mean
    damp contribution (signed, log-odds) than everyone else.
    """
    planted = _planted(damp_area, "respiratory")
    assert planted["damp_and_mould"] > 1
    assert not any("fall" in k for k in planted)  # the control has no effect here
    drivers = respiratory.drivers()
    rank = list(drivers.index).index("damp") + 1
    assert rank <= TOP, f"damp ranks {rank}; housing drivers: {drivers.round(4).head(8)}"
    assert drivers["fall"] < drivers["damp"]
    damp = respiratory.contribution(DAMP)
    truly = respiratory.damp
    assert truly.sum() >= 100  # enough damp homes to compare
    assert damp[truly].mean() > damp[~truly].mean(), (damp[truly].mean(), damp[~truly].mean())


def test_fall_hazards_lead_the_housing_drivers_of_falls_in_the_65_plus(
        falls: Explained, falls_area: Workspace) -> None:
    """Fall hazards are among the top 3 housing drivers of falls, and found where they are.

    Fails if the fall-hazard features' summed mean |SHAP| ranks below third among the housing
    drivers of the falls model (everyone in it is 65+); if the damp features (no planted effect
    on falls: the negative control) outrank them; or if the people 65+ whose home truly has a
    stairs or level-surface hazard do not get a higher mean fall-hazard contribution than the
    rest.
    """
    planted = _planted(falls_area, "fall")
    assert planted["falls_on_stairs_hazard_65_plus"] > 1
    assert planted["falls_on_level_hazard_65_plus"] > 1
    assert not any("damp" in k for k in planted)
    drivers = falls.drivers()
    rank = list(drivers.index).index("fall") + 1
    assert rank <= TOP, f"fall hazards rank {rank}; housing drivers: {drivers.round(4).head(8)}"
    assert drivers["damp"] < drivers["fall"]
    hazard = falls.contribution(FALL)
    truly = falls.fall_hazard
    assert truly.sum() >= 100
    assert hazard[truly].mean() > hazard[~truly].mean(), (hazard[truly].mean(),
                                                          hazard[~truly].mean())
