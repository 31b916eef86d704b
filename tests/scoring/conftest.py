"""Fixtures for scoring tests: the small featured area with a champion model, once.

Tests score months on copies (:func:`scoring_copy`), so each has its own warehouse, lists and
MLflow store, and none sees another's months.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from risk_model.config import Workspace
from risk_model.modelling.run import promote, train
from tests.conftest import copy_workspace

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


def scoring_copy(ws: Workspace, root: Path) -> Workspace:
    """A copy of a workspace with its warehouse, truth, MLflow store, settings and lists."""
    root.mkdir(parents=True, exist_ok=True)
    for part in ("warehouse.duckdb", "settings.yaml", "review.db"):
        if (ws.root / part).exists():
            shutil.copy2(ws.root / part, root / part)
    for part in ("truth", "mlflow", "lists"):
        if (ws.root / part).exists():
            shutil.copytree(ws.root / part, root / part)
    return Workspace.at(root)
