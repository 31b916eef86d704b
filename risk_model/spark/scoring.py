"""The month's residents on Spark: predictions, attributable risk, reasons and drift counts.

:func:`risk_model.scoring.run.score` builds the month's snapshot with the same catalogue SQL
(translated) and hands the per-resident work to :class:`SparkMonth`; the lists (patches, ranks,
hold-back, movement), the summary and the outputs stay in ``score``, as on DuckDB. Here:

- **risk**: the registered model through ``mlflow.pyfunc.spark_udf``
  (:func:`risk_model.tracking.spark_udf`): MLflow ships the model to the executors;
- **housing-attributable risk**, in the executors (``mapInPandas``), by the same
  :func:`risk_model.modelling.explain.attributable_risk` and the registered model's own
  ``predict`` (:class:`risk_model.modelling.pyfunc.RiskPyfunc`, rebuilt from its booster,
  calibration and feature schema, a few hundred kilobytes broadcast once);
- **reasons**, in the executors, by the same
  :func:`~risk_model.modelling.explain.shap_values` and
  :func:`~risk_model.modelling.explain.reasons`, for the listed residents or everyone;
- **drift**: each partition's rows counted in the profile's bins by
  :func:`risk_model.scoring.drift.drift_counts` in the executors, the counts summed on the
  driver and compared by :func:`~risk_model.scoring.drift.drift_from_counts`.

Only the month's scores (a few numbers a resident), the listed residents' reasons and the bin
counts come back to the driver.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from risk_model.modelling.frame import FeatureSchema, model_frame, model_frame_select

__all__ = ["SparkMonth"]

_ROLES = {"officer": "housing_officer", "analyst": "analyst"}


def _model(payload: dict[str, Any]) -> Any:
    """The registered pyfunc model, rebuilt in an executor from its bundled parts."""
    import lightgbm as lgb

    from risk_model.modelling.pyfunc import Calibration, RiskPyfunc

    py = RiskPyfunc()
    py.booster = lgb.Booster(model_str=payload["booster"])
    py.calibration = Calibration(payload["calibration"]["method"],
                                 payload["calibration"]["params"])
    py.schema = FeatureSchema(payload["entries"])
    return py


class SparkMonth:
    """The month's model frame on Spark, and the per-resident work done on it.

    Parameters
    ----------
    con : risk_model.spark.SparkConnection
        The Spark engine; ``table`` is one of its temporary tables.
    table : str
        The month's snapshot (:func:`risk_model.features.snapshot.build_snapshot`).
    py : risk_model.modelling.pyfunc.RiskPyfunc
        The registered model, loaded on the driver.
    exclude : str
        A SQL query of the pseudonyms to leave out (opt-outs: the second lock).
    """

    def __init__(self, con: Any, table: str, py: Any, exclude: str) -> None:
        self.con = con
        self.schema: FeatureSchema = py.schema
        self.frame = con.sql(
            f"SELECT person_id, {model_frame_select(self.schema)} FROM {table} "
            f"WHERE person_id NOT IN ({exclude})").persist()
        self._payload = con.spark.sparkContext.broadcast({
            "booster": py.booster.model_to_string(),
            "calibration": py.calibration.to_dict(), "entries": self.schema.entries})
        self._scored: Any = None

    def empty_frame(self) -> pd.DataFrame:
        """No rows, the frame's columns and types (for the MLflow signature check)."""
        return self.frame.limit(0).toPandas().drop(columns="person_id")

    def predict(self, workspace: Any, model_uri: str) -> pd.DataFrame:
        """Score everyone: ``person_id``, ``risk`` and ``attributable_risk``, by pseudonym.

        Parameters
        ----------
        workspace : Workspace
            Whose registry holds the model.
        model_uri : str
            The registered version (``models:/name/3``).

        Returns
        -------
        pandas.DataFrame
            One row per resident, sorted by ``person_id``.
        """
        from pyspark.sql import functions as F

        from risk_model.tracking import spark_udf

        udf = spark_udf(workspace, self.con.spark, model_uri)
        names = self.schema.names
        with_risk = self.frame.withColumn("risk", udf(F.struct(*[F.col(n) for n in names])))
        payload = self._payload

        def attributable(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            from risk_model.modelling.explain import attributable_risk

            py = _model(payload.value)
            for batch in batches:
                frame = model_frame(batch[names], py.schema)
                risk = batch["risk"].to_numpy(dtype=float)
                extra = attributable_risk(lambda f: py.predict(None, f).to_numpy(), frame,
                                          py.schema.entries, risk=risk)
                yield pd.DataFrame({"person_id": batch["person_id"], "risk": risk,
                                    "attributable_risk": extra})

        self._scored = with_risk.mapInPandas(  # kept: the drift counts read the risk again
            attributable, "person_id string, risk double, attributable_risk double").persist()
        out = self._scored.toPandas().sort_values("person_id", kind="stable")
        return out.reset_index(drop=True)

    def reasons(self, people: Sequence[str] | None, *, top: int,
                method: str = "lightgbm") -> Any:
        """Reasons for each role, computed in the executors.

        Parameters
        ----------
        people : sequence of str, optional
            Whose (pseudonyms); ``None`` for everyone.
        top : int
            Reasons per resident.
        method : {"lightgbm", "fast"}
            The exact SHAP implementation (:func:`risk_model.modelling.explain.shap_values`).

        Returns
        -------
        pyspark.sql.DataFrame
            ``person_id``, ``reasons_officer``, ``reasons_analyst`` (arrays of text).
        """
        frame = self.frame
        if people is not None:
            wanted = self.con.frame(pd.DataFrame({"person_id": list(people)}),
                                    "person_id string")
            frame = frame.join(wanted.hint("broadcast"), "person_id", "left_semi")
        names = self.schema.names
        payload = self._payload

        def explain(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            from risk_model.modelling.explain import reasons, shap_values

            py = _model(payload.value)
            for batch in batches:
                if batch.empty:
                    continue
                data = model_frame(batch[names].reset_index(drop=True), py.schema)
                explanation = shap_values(py.booster, data, py.schema, method=method)
                out = {"person_id": batch["person_id"].to_numpy()}
                for short, role in _ROLES.items():
                    out[f"reasons_{short}"] = reasons(explanation, data, py.schema.entries,
                                                      role=role, top=top)
                yield pd.DataFrame(out)

        return frame.mapInPandas(explain, "person_id string, reasons_officer array<string>, "
                                          "reasons_analyst array<string>")

    def drift_counts(self, profile: dict[str, Any]) -> dict[str, Any]:
        """Count the month's rows in the profile's bins, partition by partition, and sum.

        Returns
        -------
        dict
            As :func:`risk_model.scoring.drift.drift_counts` returns for the whole month.
        """
        from pyspark.sql import functions as F

        names = list(profile["features"])
        text = json.dumps(profile)

        def count(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            from risk_model.scoring.drift import drift_counts

            reference = json.loads(text)
            for batch in batches:
                counted = drift_counts(reference, batch[names], batch["risk"].to_numpy(float))
                yield pd.DataFrame({"counts": [json.dumps(counted)]})

        rows = (self.frame.join(self._scored.select("person_id", "risk"), "person_id")
                .select(*names, F.col("risk"))
                .mapInPandas(count, "counts string").collect())
        return _sum_counts([json.loads(r["counts"]) for r in rows], profile)

    def close(self) -> None:
        """Free what the month cached."""
        self.frame.unpersist()
        if self._scored is not None:
            self._scored.unpersist()
        self._payload.unpersist()


def _sum_counts(parts: list[dict[str, Any]], profile: dict[str, Any]) -> dict[str, Any]:
    total: dict[str, Any] = {
        "rows": 0, "score": np.zeros(len(profile["score"]["proportions"]), dtype=np.int64),
        "features": {n: np.zeros(len(e["proportions"]), dtype=np.int64)
                     for n, e in profile["features"].items()}, "unseen": {}}
    for part in parts:
        total["rows"] += int(part["rows"])
        total["score"] += np.asarray(part["score"], dtype=np.int64)
        for name, counts in part["features"].items():
            total["features"][name] += np.asarray(counts, dtype=np.int64)
        for name, levels in part["unseen"].items():
            merged = total["unseen"].setdefault(name, {})
            for level, n in levels.items():
                merged[level] = merged.get(level, 0) + int(n)
    total["score"] = total["score"].tolist()
    total["features"] = {n: c.tolist() for n, c in total["features"].items()}
    return total
