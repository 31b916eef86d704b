"""Person linkage on Splink's Spark backend: the same records, settings and parameters.

:func:`risk_model.linkage.person.link_persons` calls :func:`score_pairs` on the Spark engine in
place of its DuckDB scoring. Everything else is shared:

- the records of both sides come from the same SQL (:func:`~risk_model.linkage.person.housing_sql`,
  :func:`~risk_model.linkage.person.health_sql`), translated to Spark SQL;
- the settings come from the same declaration
  (:func:`~risk_model.linkage.person.splink_settings`), which Splink writes in Spark's
  dialect;
- a saved model (``--model``, a DuckDB run's ``reports/linkage/<run>-model.json``) is applied
  by copying its prior and every level's m and u onto that declaration (:func:`model_for`):
  the same parameters, never SQL text written for another engine;
- without one, the parameters are estimated by the same steps
  (:func:`~risk_model.linkage.person.train_model`); u is sampled by Spark's random sampling,
  so a Spark-trained model differs from a DuckDB-trained one by sampling noise;
- the candidate pairs are read by the same SQL (:func:`~risk_model.linkage.person.read_predictions`)
  and resolved on the driver by the same code (only pairs from the review probability up
  leave the cluster).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import pandas as pd

from risk_model.errors import DataError
from risk_model.linkage.person import (
    RECORD_COLUMNS,
    LinkageSettings,
    health_sql,
    housing_sql,
    read_predictions,
    splink_settings,
    train_model,
)

__all__ = ["model_for", "score_pairs"]

log = logging.getLogger(__name__)

_PARAMETERS = ("m_probability", "u_probability")


def model_for(saved: dict[str, Any], dialect: str = "spark") -> dict[str, Any]:
    """Return the settings declaration in ``dialect`` carrying a saved model's parameters.

    Parameters
    ----------
    saved : dict
        A Splink model saved by a linkage run (any dialect).
    dialect : str, optional
        The dialect to write the SQL in.

    Returns
    -------
    dict
        :func:`~risk_model.linkage.person.splink_settings` for ``dialect`` with the saved
        prior and each level's m and u probabilities.

    Raises
    ------
    DataError
        If the saved model's comparisons or levels are not those of the declaration (a model
        saved by another version of the settings).
    """
    model = copy.deepcopy(splink_settings(dialect))
    ours = {c["output_column_name"]: c for c in model["comparisons"]}
    theirs = {c.get("output_column_name"): c for c in saved.get("comparisons", [])}
    if set(ours) != set(theirs):
        raise DataError(f"the saved linkage model compares {', '.join(map(str, theirs))}; "
                        f"these settings compare {', '.join(ours)}",
                        hint="link without --model to estimate the parameters again")
    for name, comparison in ours.items():
        levels, saved_levels = comparison["comparison_levels"], theirs[name]["comparison_levels"]
        if len(levels) != len(saved_levels):
            raise DataError(f"the saved linkage model's {name!r} comparison has "
                            f"{len(saved_levels)} levels, these settings {len(levels)}",
                            hint="link without --model to estimate the parameters again")
        for level, saved_level in zip(levels, saved_levels, strict=True):
            for key in _PARAMETERS:
                if key in saved_level:
                    level[key] = saved_level[key]
    model["probability_two_random_records_match"] = saved["probability_two_random_records_match"]
    return model


def score_pairs(con: Any, labels: pd.DataFrame, settings: LinkageSettings,
                model: dict[str, Any] | None,
                ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Estimate (or apply) the Splink model on Spark and score the candidate pairs.

    Parameters
    ----------
    con : risk_model.spark.SparkConnection
        The Spark engine.
    labels : pandas.DataFrame
        The NHS-number links (for ``m_estimation="nhs_number_links"``).
    settings : LinkageSettings
        Thresholds and training settings (DuckDB's memory and threads do not apply).
    model : dict, optional
        A saved model: its parameters are used (see :func:`model_for`).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame, dict)
        The candidates from the review probability up, the match-weight histogram of all
        pairs and the model (Spark dialect), as the DuckDB path returns them.
    """
    from splink import Linker
    from splink.backends.spark import SparkAPI

    columns = ", ".join(RECORD_COLUMNS)
    housing = con.sql(f"SELECT {columns} FROM ({housing_sql()})").persist()
    health = con.sql(f"SELECT {columns} FROM ({health_sql()})").persist()
    try:
        spec = model_for(model) if model is not None else splink_settings("spark")
        if housing.isEmpty() or health.isEmpty():
            from risk_model.linkage.person import _empty_candidates

            return _empty_candidates(), pd.DataFrame({"match_weight_bin": [], "pairs": []}), spec
        db = SparkAPI(spark_session=con.spark, break_lineage_method="persist")
        linker = Linker([housing, health], spec, db, input_table_aliases=["housing", "health"],
                        set_up_basic_logging=False)  # the CLI owns logging
        if model is None:
            train_model(linker, labels, settings)
        trained = linker.misc.save_model_to_json()
        predictions = linker.inference.predict()
        candidates, histogram = read_predictions(con, predictions.physical_name, settings)
        linker.table_management.invalidate_cache()
        return candidates, histogram, trained
    finally:
        housing.unpersist()
        health.unpersist()
