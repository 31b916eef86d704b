"""Shared fixtures: synthetic workspaces made by the project's own generator.

The realism tests need enough people for the figures to settle (20,000 residents over 48
months, about 3 seconds); the behaviour tests use a few hundred.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from risk_model.config import Workspace
from risk_model.synth import SynthConfig, SynthResult, generate


class SynthRun:
    """A generated workspace and helpers to read it."""

    def __init__(self, root: Path, config: SynthConfig, result: SynthResult) -> None:
        self.ws = Workspace.at(root)
        self.config = config
        self.result = result

    def landing(self, name: str) -> pd.DataFrame:
        path = self.ws.landing / f"{name}.{self.config.format}"
        if self.config.format == "csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        return pd.read_parquet(path)

    def truth(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.ws.truth / f"{name}.parquet")


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
