"""Fixtures for modelling tests: a small 48-month area, ingested, linked and featured once.

4,000 residents over 48 months from 2021-04 (seed 11), so the shipped specs' dates (train
2022-03-31, validation 2023-03-31, test 2024-03-31 with follow-up to 2025-03-31) all fit.
Tests that train or promote work on a copy with their own MLflow store.
"""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from risk_model.config import Workspace
from risk_model.features.run import build_features
from risk_model.ingest import KEY_ENV, ingest, load_key
from risk_model.linkage.run import link
from tests.conftest import make_run

MODEL_TEST_KEY = "model-test-key-" + "0123456789abcdef" * 3
DATES = [date(2022, 3, 31), date(2023, 3, 31), date(2024, 3, 31)]


@pytest.fixture(scope="session")
def featured(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The area with snapshots and labels for the shipped specs' dates (read only)."""
    run = make_run(tmp_path_factory.mktemp("modelarea"), residents=4_000, months=48, seed=11,
                   format="parquet")
    ingest(run.ws, key=load_key(environ={KEY_ENV: MODEL_TEST_KEY}), today=date(2026, 11, 24))
    link(run.ws)
    build_features(run.ws, DATES)
    shutil.rmtree(run.ws.mlflow, ignore_errors=True)  # each test brings its own store
    return run.ws


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
