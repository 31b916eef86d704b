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
