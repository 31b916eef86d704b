"""Fixtures for ingest tests: a copy of a small generated landing zone and a key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from risk_model.config import Workspace
from risk_model.ingest import KEY_ENV, PseudonymKey, load_key
from tests.conftest import SynthRun

TEST_KEY = "test-key-" + "0123456789abcdef" * 3


@pytest.fixture(scope="session")
def key() -> PseudonymKey:
    return load_key(environ={KEY_ENV: TEST_KEY})


@pytest.fixture
def ws(tmp_path: Path, small_csv: SynthRun) -> Workspace:
    """A fresh workspace whose landing/ and truth/ are copies of the small CSV area's."""
    shutil.copytree(small_csv.ws.landing, tmp_path / "ws" / "landing")
    shutil.copytree(small_csv.ws.truth, tmp_path / "ws" / "truth")
    return Workspace.at(tmp_path / "ws")


def read_landing(ws: Workspace, name: str) -> pd.DataFrame:
    return pd.read_csv(ws.landing / name, dtype=str, keep_default_na=False, na_values=[""])


def write_landing(ws: Workspace, name: str, frame: pd.DataFrame) -> None:
    frame.to_csv(ws.landing / name, index=False)


def snapshot(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None
