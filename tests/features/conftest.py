"""Fixtures for feature tests: a small generated area, ingested and linked once per session.

3,000 residents over 36 months from 2021-04 (seed 5): big enough that every family has values
(damp reports, surveys, admissions, deaths, moves), small enough to build in seconds. Tests
that change the warehouse work on a copy (:func:`copy_workspace`).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from risk_model.config import Workspace
from risk_model.ingest import KEY_ENV, ingest, load_key
from risk_model.linkage.run import link
from tests.conftest import make_run

FEATURE_TEST_KEY = "feature-test-key-" + "0123456789abcdef" * 3
#: The synthetic period runs 2021-04-01 to 2024-03-31.
PERIOD_END = date(2024, 3, 31)


@pytest.fixture(scope="session")
def linked_small(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The small area, ingested and linked (read only: copy it to change it)."""
    run = make_run(tmp_path_factory.mktemp("featarea"), residents=3_000, months=36, seed=5,
                   format="parquet")
    key = load_key(environ={KEY_ENV: FEATURE_TEST_KEY})
    ingest(run.ws, key=key, today=date(2026, 11, 24))
    link(run.ws)
    return run.ws


def copy_workspace(ws: Workspace, root: Path) -> Workspace:
    """Copy the warehouse (and truth) of ``ws`` into a fresh workspace at ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ws.warehouse, root / "warehouse.duckdb")
    shutil.copytree(ws.truth, root / "truth")
    return Workspace.at(root)
