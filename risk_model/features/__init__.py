"""Point-in-time features from the declarative catalogue in ``features/``, and outcome labels.

- :mod:`~risk_model.features.catalogue` loads and validates the catalogue;
- :mod:`~risk_model.features.population` says who is in a snapshot;
- :mod:`~risk_model.features.snapshot` turns the catalogue into SQL for one as-of date;
- :mod:`~risk_model.features.outcomes` labels what happened after it (the only forward look);
- :mod:`~risk_model.features.dictionary` generates the data dictionary;
- :mod:`~risk_model.features.run` is ``risk-model features``.
"""

from __future__ import annotations

from risk_model.features.catalogue import (
    NOT_KNOWN,
    Catalogue,
    Feature,
    View,
    Window,
    load_catalogue,
)
from risk_model.features.snapshot import Snapshot, build_snapshot, snapshot_sql

__all__ = [
    "NOT_KNOWN",
    "Catalogue",
    "Feature",
    "Snapshot",
    "View",
    "Window",
    "build_snapshot",
    "load_catalogue",
    "snapshot_sql",
]
