"""Fixtures for modelling tests: the truth areas (the small featured area is shared, in
``tests/conftest.py``). Tests that train or promote work on a copy with their own MLflow store.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from risk_model.config import Workspace
from risk_model.features.run import build_features
from risk_model.ingest import KEY_ENV, ingest, load_key
from risk_model.linkage.run import link
from risk_model.synth.config import AdmissionConfig
from tests.conftest import DATES, MODEL_TEST_KEY, make_run

#: The truth tests' area (see :func:`truth_area`).
TRUTH_AREA = {"residents": 20_000, "seed": 11}
#: Everyone rents from a social landlord and every home gets a stock-condition survey, so the
#: landlord's damp and HHSRS records cover every home (by default they cover the 17% of homes
#: that are social, and damp ranks 6th of the respiratory model's housing drivers at 40,000
#: residents, as the records cannot show damp elsewhere). The planted effects are unchanged.
SOCIAL_HOUSING = {"tenure_mix": {"owner_occupied": 0.0, "private_rented": 0.0,
                                 "local_authority": 0.5, "housing_association": 0.5},
                  "stock_survey_share": 1.0}


@pytest.fixture(scope="session")
def truth_area(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """An area of social homes, all surveyed, featured for the specs' dates (read only).

    For the explanation truth tests: big enough for the respiratory model to learn damp from
    the landlord's records. Its ``truth/`` holds the planted effects.
    """
    run = make_run(tmp_path_factory.mktemp("trutharea"), months=48, format="parquet",
                   housing=SOCIAL_HOUSING, **TRUTH_AREA)
    ingest(run.ws, key=load_key(environ={KEY_ENV: MODEL_TEST_KEY}), today=date(2026, 11, 24))
    link(run.ws)
    build_features(run.ws, DATES)
    shutil.rmtree(run.ws.mlflow, ignore_errors=True)
    return run.ws


def _featured(root: Path, **config: object) -> Workspace:
    run = make_run(root, format="parquet", **config)
    ingest(run.ws, key=load_key(environ={KEY_ENV: MODEL_TEST_KEY}), today=date(2026, 11, 24))
    link(run.ws)
    build_features(run.ws, DATES)
    shutil.rmtree(run.ws.mlflow, ignore_errors=True)
    return run.ws


def _rates(**scale: float) -> dict[str, dict[str, float]]:
    """The default admission rates with some (band, cause) or (cause) rates multiplied."""
    rates = {band: dict(r) for band, r in AdmissionConfig().rates_per_1000.items()}
    for key, factor in scale.items():
        for band, r in rates.items():
            for cause in r:
                if key in (cause, f"{band}:{cause}"):
                    r[cause] *= factor
    return rates


#: Eight years from 2017-04 to 2025-03: each home's one stock-condition survey falls in a
#: random month of the period, so by the training date (2022-03-31) 60 of 96 months (62%) of
#: surveys have happened (25% with the default 48 months from 2021-04), and the HHSRS records
#: say something of most homes, as a landlord's rolling five-year survey programme would.
SURVEYED_DECADE = {"start": "2017-04", "months": 96}


@pytest.fixture(scope="session")
def damp_area(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Social homes, all surveyed, with more damp and breathing admissions (read only).

    For the respiratory explanation test: 20,000 residents over 96 months (seed 11), 25% of
    social homes damp (9% and 5% by default) and respiratory admission rates doubled, so the
    planted damp effect (hazard ratio 1.5, 2.0 for children, 2.2 with asthma or COPD, unchanged)
    has the power to show through the landlord's records.
    """
    housing = {**SOCIAL_HOUSING, "damp_by_tenure": {
        "owner_occupied": 0.04, "private_rented": 0.09, "local_authority": 0.25,
        "housing_association": 0.25}}
    return _featured(tmp_path_factory.mktemp("damparea"), residents=20_000, seed=11,
                     housing=housing, admissions={"rates_per_1000": _rates(respiratory=2)},
                     **SURVEYED_DECADE)


@pytest.fixture(scope="session")
def falls_area(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Social homes, all surveyed, with more fall hazards and fall admissions (read only).

    For the falls explanation test: 60,000 residents over 96 months (seed 11), the stairs
    hazard share 0.4 (0.06 by default; the generator puts it only in homes with stairs), the
    level-surface hazard in 50% of homes (3%), and the 67+ fall admission target at 105 per
    1,000 a year (21), so about 9,000 people 65+ and 800 falls in training. The planted
    hazard ratios (1.8 and 1.4) are unchanged.
    """
    housing = {**SOCIAL_HOUSING, "stair_hazard_share": 0.4, "level_fall_hazard_share": 0.5}
    return _featured(tmp_path_factory.mktemp("fallsarea"), residents=60_000, seed=11,
                     housing=housing, admissions={"rates_per_1000": _rates(**{"67+:fall": 5})},
                     **SURVEYED_DECADE)
