"""Helpers for scoring tests (the ``champion`` fixture is shared, in ``tests/conftest.py``).

Tests score months on copies (:func:`scoring_copy`), so each has its own warehouse, lists and
MLflow store, and none sees another's months.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from risk_model.config import Workspace
from tests.conftest import MODEL  # noqa: F401 (the scored model, for tests)


def scoring_copy(ws: Workspace, root: Path) -> Workspace:
    """A copy of a workspace with its warehouse, truth, MLflow store, settings and lists."""
    root.mkdir(parents=True, exist_ok=True)
    for part in ("warehouse.duckdb", "settings.yaml", "review.db", "review.db-wal",
                 "review.db-shm"):
        if (ws.root / part).exists():
            shutil.copy2(ws.root / part, root / part)
    for part in ("truth", "mlflow", "lists"):
        if (ws.root / part).exists():
            shutil.copytree(ws.root / part, root / part)
    return Workspace.at(root)
