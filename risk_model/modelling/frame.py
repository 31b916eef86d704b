"""The model's input frame: one canonical shape for training, the pyfunc model and scoring.

A snapshot row holds counts as nullable integers, flags as nullable booleans and categories as
text. :func:`model_frame` turns the catalogue features a model uses into the frame every model
sees: numbers and flags as float (missing as NaN), categories as text with "not known" for
missing. This is the frame a registered model's ``predict`` takes (its MLflow signature says
so); :func:`read_model_frame` reads it straight from ``feature_snapshots``.
:func:`lightgbm_frame` then gives categories their fixed catalogue levels, so a level unseen
in training is treated as missing instead of shifting the codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from risk_model.features.catalogue import NOT_KNOWN

__all__ = ["FeatureSchema", "input_example", "lightgbm_frame", "model_frame", "model_frame_select",
           "read_model_frame"]


class FeatureSchema:
    """What a model needs to know about its features: names, types and category levels.

    Parameters
    ----------
    entries : sequence of dict
        One per feature, in model order: ``name``, ``type`` and (categories) ``values``, as in
        the catalogue's ``as_dict()["features"]`` entries.
    """

    def __init__(self, entries: Sequence[dict[str, Any]]) -> None:
        self.entries = [dict(e) for e in entries]
        self.names = [e["name"] for e in self.entries]
        self.categories = {e["name"]: list(e.get("values") or []) for e in self.entries
                           if e["type"] == "category"}

    @classmethod
    def from_features(cls, features: Sequence[Any]) -> FeatureSchema:
        """Build from catalogue :class:`~risk_model.features.catalogue.Feature` objects."""
        return cls([{"name": f.name, "type": f.type, "values": list(f.values),
                     "label": f.label, "family": f.family, "unit": f.unit,
                     "sensitivity": f.sensitivity, "roles": list(f.roles),
                     "broad_category": f.broad_category, "modifiable": f.modifiable,
                     "remedied_value": f.remedied_value, "reason": f.reason,
                     "reason_group": f.reason_group} for f in features])


def model_frame(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """Return the model's columns in order, in the canonical types.

    Raises
    ------
    ValueError
        If a feature the model uses is missing from ``frame`` (naming every missing one), so a
        renamed feature fails loudly instead of becoming NaN.
    """
    missing = [n for n in schema.names if n not in frame.columns]
    if missing:
        raise ValueError(f"the feature frame lacks {len(missing)} feature(s) the model uses: "
                         f"{', '.join(missing)}; build features with the catalogue the model "
                         "was trained on")
    out = {}
    for name in schema.names:
        column = frame[name]
        if name in schema.categories:
            if pd.api.types.is_string_dtype(column.dtype) and not column.hasnans:
                out[name] = column  # already canonical (as read_model_frame gives it)
            else:
                out[name] = column.astype("object").where(column.notna(), NOT_KNOWN).astype(str)
        elif column.dtype == np.float64:
            out[name] = column  # already canonical
        else:
            out[name] = pd.to_numeric(column.astype("object"), errors="coerce").astype("float64")
    return pd.DataFrame(out, index=frame.index, copy=False)


def lightgbm_frame(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """Return :func:`model_frame` with categories as pandas categoricals of fixed levels."""
    out = model_frame(frame, schema)
    for name, levels in schema.categories.items():
        known = out[name].where(out[name].isin(levels))  # an unseen level becomes missing
        out[name] = pd.Categorical(known, categories=levels)
    return out


def input_example(schema: FeatureSchema) -> pd.DataFrame:
    """Two made-up rows for the model's signature example: never a real person's data.

    The first row has every number at 0 and every category at its first level; the second has
    everything missing or "not known".
    """
    first = {n: (schema.categories[n][0] if n in schema.categories else 0.0)
             for n in schema.names}
    second = {n: (NOT_KNOWN if n in schema.categories else np.nan) for n in schema.names}
    return pd.DataFrame([first, second])


def model_frame_select(schema: FeatureSchema) -> str:
    """Return the SQL select list of the model's columns in the canonical types.

    Categories as text with "not known" for missing, everything else as ``DOUBLE``: the
    columns of :func:`read_model_frame`, and of the frame the Spark engine scores.
    """
    return ", ".join(
        f'coalesce("{n}", \'{NOT_KNOWN}\') AS "{n}"' if n in schema.categories
        else f'CAST("{n}" AS DOUBLE) AS "{n}"' for n in schema.names)


def read_model_frame(con: Any, as_of: Any, schema: FeatureSchema,
                     table: str = "feature_snapshots") -> tuple[pd.Series, pd.DataFrame]:
    """Read one as-of date's snapshot as the model's input frame.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse.
    as_of : datetime.date
        The snapshot's date.
    schema : FeatureSchema
        The model's features.
    table : str, optional
        The snapshot table.

    Returns
    -------
    (pandas.Series, pandas.DataFrame)
        The people (``person_id``) and their features in the canonical types, same order.
    """
    columns = con.execute("SELECT column_name FROM information_schema.columns "
                          "WHERE table_name = ?", [table]).fetchall()
    present = {c for (c,) in columns}
    missing = [n for n in schema.names if n not in present]
    if missing:
        raise ValueError(f"{table} lacks {len(missing)} feature(s) the model uses: "
                         f"{', '.join(missing)}; rebuild the snapshots with the catalogue the "
                         "model was trained on")
    select = model_frame_select(schema)
    # through Arrow: several times faster than .df() for a wide frame of a million rows
    frame = con.execute(f"SELECT person_id, {select} FROM {table} WHERE as_of = ? "
                        "ORDER BY person_id", [as_of]).to_arrow_table().to_pandas()
    return frame.pop("person_id"), model_frame(frame, schema)
