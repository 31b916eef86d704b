"""The best any model could do, on synthetic data: each person's true risk from ``truth/``.

The generator records every resident's true probability of an emergency admission (by cause)
in every month. Over an outcome window the true risk is ``1 - prod(1 - p_month)``; scored
against the observed labels it gives the ceiling for AUROC and the other metrics, so every
training run on synthetic data shows the gap to the limit. The generator raises a person's
hazard after an emergency admission; within the window that rise is caused by the outcome
itself, so from the month of the first admission on the risk is held at its level then (else
the "true risk" would know the outcome). Evaluation only: nothing in the
pipeline reads ``truth/``, and on real data there is no truth folder and this returns ``None``.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from risk_model.linkage.quality import truth_persons
from risk_model.modelling.spec import ModelSpec, add_months

__all__ = ["TRUE_RISK_COLUMN", "true_risk"]

#: The ``monthly_risk`` column behind each outcome condition (``where`` of the spec).
TRUE_RISK_COLUMN = {None: "p_emergency", "respiratory": "p_respiratory", "fall": "p_fall"}


def true_risk(con: duckdb.DuckDBPyConnection, truth: Path, person_ids: pd.Series,
              as_of: date, spec: ModelSpec) -> pd.Series | None:
    """Return the true risk over the spec's outcome window for each person, if known.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse (to find the true person behind each NHS-number pseudonym).
    truth : pathlib.Path
        The workspace's ``truth/`` folder.
    person_ids : pandas.Series
        NHS-number pseudonyms.
    as_of : datetime.date
        The as-of date; the window is the months from the day after it.
    spec : ModelSpec
        The model (its outcome's window and cause).

    Returns
    -------
    pandas.Series or None
        True risk aligned with ``person_ids`` (NaN where the person is not found), or ``None``
        when there is no truth or the outcome has no true-risk column.
    """
    column = TRUE_RISK_COLUMN.get(spec.outcome.where)
    monthly = truth / "monthly_risk.parquet"
    if column is None or not monthly.exists():
        return None
    _, health = truth_persons(con, truth)
    first = as_of + timedelta(days=1)
    start = date(first.year, first.month, 1)
    end = add_months(start, spec.outcome.months)
    events = truth / "events.parquet"
    # after a person's first emergency admission in the window the generator raises their
    # hazard (a recent admission): that rise is the outcome leaking into the risk, so from
    # then on the month's risk is held at its level in the month of that admission
    risk = con.execute(f"""
        WITH first_admission AS (
            SELECT person_id, min(date_trunc('month', date)) AS month
            FROM read_parquet('{events.as_posix()}')
            WHERE event LIKE 'emergency_%' AND date >= DATE '{start}' AND date < DATE '{end}'
            GROUP BY person_id
        ),
        months AS (
            SELECT r.person_id, r.month, r.{column} AS p, f.month AS admitted
            FROM read_parquet('{monthly.as_posix()}') r
            LEFT JOIN first_admission f USING (person_id)
            WHERE r.month >= DATE '{start}' AND r.month < DATE '{end}'
        ),
        held AS (
            SELECT person_id,
                   last_value(CASE WHEN admitted IS NULL OR month <= admitted THEN p END
                              IGNORE NULLS) OVER (PARTITION BY person_id ORDER BY month) AS p
            FROM months
        )
        SELECT person_id, 1 - exp(sum(ln(greatest(1 - p, 1e-12)))) AS risk
        FROM held GROUP BY person_id""").df().set_index("person_id")["risk"]
    true_person = person_ids.map(health)
    return pd.Series(true_person.map(risk).to_numpy(dtype=float), index=person_ids.index,
                     name="true_risk")
