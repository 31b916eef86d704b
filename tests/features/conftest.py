"""Fixtures for feature tests: a small generated area, ingested and linked once per session.

3,000 residents over 36 months from 2021-04 (seed 5): big enough that every family has values
(damp reports, surveys, admissions, deaths, moves), small enough to build in seconds. Tests
that change the warehouse work on a copy (:func:`tests.conftest.copy_workspace`).
"""

from __future__ import annotations

from datetime import date

import pytest

from risk_model.config import Workspace
from risk_model.ingest import KEY_ENV, ingest, load_key
from risk_model.linkage.run import link
from tests.conftest import make_run

FEATURE_TEST_KEY = "feature-test-key-" + "0123456789abcdef" * 3


@pytest.fixture(scope="session")
def linked_small(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The small area, ingested and linked (read only: copy it to change it)."""
    run = make_run(tmp_path_factory.mktemp("featarea"), residents=3_000, months=36, seed=5,
                   format="parquet")
    key = load_key(environ={KEY_ENV: FEATURE_TEST_KEY})
    ingest(run.ws, key=key, today=date(2026, 11, 24))
    link(run.ws)
    return run.ws
