"""Shared fixtures: synthetic workspaces made by the project's own generator.

The realism tests need enough people for the figures to settle (20,000 residents over 48
months, about 3 seconds); the behaviour tests use a few hundred.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from risk_model.config import Workspace
from risk_model.features.run import build_features
from risk_model.ingest import KEY_ENV, ingest, load_key
from risk_model.linkage.run import link
from risk_model.modelling.run import promote, train
from risk_model.synth import SynthConfig, SynthResult, generate
from risk_model.synth.realism import Realism

#: Debian's Chromium through Playwright: ``chromium``, ``browser`` and ``page`` for every folder.
pytest_plugins = ["tests.chromium"]


class SynthRun:
    """A generated workspace; its files are read through :class:`Realism`, as the docs' are."""

    def __init__(self, root: Path, config: SynthConfig, result: SynthResult) -> None:
        self.ws = Workspace.at(root)
        self.config = config
        self.result = result
        self._files = Realism(self.ws.root)

    def landing(self, name: str) -> pd.DataFrame:
        return self._files.landing(name).copy()

    def truth(self, name: str) -> pd.DataFrame:
        return self._files.truth(name).copy()


def copy_workspace(ws: Workspace, root: Path) -> Workspace:
    """Copy the warehouse and truth of ``ws`` into a fresh workspace (empty MLflow store)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ws.warehouse, root / "warehouse.duckdb")
    shutil.copytree(ws.truth, root / "truth")
    return Workspace.at(root)


def make_run(root: Path, **kwargs: object) -> SynthRun:
    config = SynthConfig(**kwargs)
    result = generate(config, Workspace.at(root))
    return SynthRun(root, config, result)


@pytest.fixture(scope="session")
def area(tmp_path_factory: pytest.TempPathFactory) -> SynthRun:
    """20,000 residents, 48 months from 2021-04, seed 1, Parquet."""
    return make_run(tmp_path_factory.mktemp("area"), residents=20_000, months=48, seed=1,
                    format="parquet")


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> SynthRun:
    """600 residents, 12 months, CSV."""
    return make_run(tmp_path_factory.mktemp("small"), residents=600, months=12, seed=7)


#: The pseudonymisation key of the tests' featured areas.
MODEL_TEST_KEY = "model-test-key-" + "0123456789abcdef" * 3
#: The shipped specs' dates: train 2022-03-31, validation 2023-03-31, test 2024-03-31.
DATES = [date(2022, 3, 31), date(2023, 3, 31), date(2024, 3, 31)]


@pytest.fixture(scope="session")
def featured(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A small area with snapshots and labels for the shipped specs' dates (read only).

    4,000 residents over 48 months from 2021-04 (seed 11), so the specs' dates (with follow-up
    to 2025-03-31) all fit; for modelling and scoring tests, which work on copies.
    """
    run = make_run(tmp_path_factory.mktemp("modelarea"), residents=4_000, months=48, seed=11,
                   format="parquet")
    ingest(run.ws, key=load_key(environ={KEY_ENV: MODEL_TEST_KEY}), today=date(2026, 11, 24))
    link(run.ws)
    build_features(run.ws, DATES)
    shutil.rmtree(run.ws.mlflow, ignore_errors=True)  # each test brings its own store
    return run.ws


#: The model the scoring and review tests score with.
MODEL = "emergency_admission_12m"


@pytest.fixture(scope="session")
def champion(featured: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The featured area with the emergency-admission model trained and promoted (read only).

    Promotion is forced (the audit is another room's test); the reason says so.
    """
    ws = copy_workspace(featured, tmp_path_factory.mktemp("champion"))
    result = train(ws, MODEL)
    promote(ws, MODEL, result.version, force=True, reason="scoring tests: audit not run")
    return ws
