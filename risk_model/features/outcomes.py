"""Outcome labels: what happened to each person in the window after an as-of date.

This is the one module that reads events dated on or after the as-of date, and its output goes
to its own table (``outcome_labels``), never into a feature snapshot. For each model spec
(``models/*.yaml``) and each person of its cohort in the snapshot's population:

- ``label`` is true when an outcome event (a row of the spec's catalogue view matching its
  ``where``) is dated in ``[as_of, as_of + window)``;
- otherwise, a person who died or left the area (their last GP registration ended) before the
  window closed is **censored**: ``label`` is null with ``status`` ``died`` or ``moved_away``,
  not counted as "no admission";
- a window that runs past the end of the outcome's data is censored as
  ``follow_up_incomplete`` (the latest dated row of the outcome view is the data's end);
- everyone else is false (``no_event``).

``days_to_event`` and ``follow_up_days`` let evaluation use the timing.
"""

from __future__ import annotations

from datetime import date

from risk_model.errors import ConfigError
from risk_model.features.catalogue import Catalogue
from risk_model.features.population import POPULATION_TABLE
from risk_model.modelling.spec import ModelSpec

__all__ = ["LABELS_TABLE", "STATUSES", "label_sql"]

LABELS_TABLE = "outcome_labels"

#: Every ``status`` a label can have.
STATUSES: tuple[str, ...] = ("event", "no_event", "died", "moved_away", "follow_up_incomplete")


def label_sql(spec: ModelSpec, catalogue: Catalogue, as_of: date) -> str:
    """Return the ``SELECT`` of one model's labels for an as-of date.

    It reads the ``population`` and ``view__<name>`` relations that
    :func:`risk_model.features.snapshot.build_snapshot` creates, so run it on the same
    connection straight after the snapshot.

    Parameters
    ----------
    spec : ModelSpec
        The model whose outcome and cohort to use.
    catalogue : Catalogue
        The feature catalogue holding the outcome's view.
    as_of : datetime.date
        The as-of date: the window starts on it.

    Returns
    -------
    str
        SQL returning ``model``, ``as_of``, ``person_id``, ``label``, ``status``,
        ``days_to_event``, ``follow_up_days``.

    Raises
    ------
    ConfigError
        If the outcome names a view the catalogue lacks, or one with no dated rows.
    """
    outcome = spec.outcome
    view = catalogue.views.get(outcome.view)
    if view is None or view.date is None or view.key != "person_id":
        raise ConfigError(
            f"model {spec.name!r}: outcome view {outcome.view!r} must be a dated person view of "
            "the feature catalogue",
            hint="dated person views: " + ", ".join(
                n for n, v in catalogue.views.items() if v.date and v.key == "person_id"))
    start = f"DATE '{as_of.isoformat()}'"
    end = f"({start} + INTERVAL {outcome.months} MONTH)"
    ages = []
    if spec.cohort.min_age is not None:
        ages.append(f"age >= {spec.cohort.min_age}")
    if spec.cohort.max_age is not None:
        ages.append(f"age <= {spec.cohort.max_age}")
    cohort_where = " AND ".join(ages) if ages else "true"
    where = f"AND ({outcome.where})" if outcome.where else ""
    return f"""
        WITH cohort AS (
            SELECT person_id FROM {POPULATION_TABLE} WHERE {cohort_where}
        ),
        data_end AS (SELECT max({view.date}) AS last_day FROM view__{view.name}),
        events AS (
            SELECT person_id, min({view.date}) AS first_event FROM view__{view.name}
            WHERE {view.date} >= {start} AND {view.date} < {end} {where}
              AND person_id IN (SELECT person_id FROM cohort)
            GROUP BY person_id
        ),
        died AS (
            SELECT nhs_pseudo AS person_id, min(date_of_death) AS died_on FROM deaths
            WHERE date_of_death >= {start} AND nhs_pseudo IS NOT NULL GROUP BY nhs_pseudo
        ),
        moved AS (
            SELECT nhs_pseudo AS person_id, max(deregistration_date) AS left_on
            FROM gp_registrations WHERE nhs_pseudo IS NOT NULL
            GROUP BY nhs_pseudo HAVING count(*) FILTER (WHERE deregistration_date IS NULL) = 0
        ),
        judged AS (
            SELECT c.person_id, e.first_event, d.died_on, m.left_on, x.last_day,
                   CASE WHEN e.first_event IS NOT NULL THEN 'event'
                        WHEN d.died_on < {end} THEN 'died'
                        WHEN m.left_on < {end} THEN 'moved_away'
                        WHEN {end} > x.last_day + INTERVAL 1 DAY THEN 'follow_up_incomplete'
                        ELSE 'no_event' END AS status
            FROM cohort c CROSS JOIN data_end x
            LEFT JOIN events e USING (person_id)
            LEFT JOIN died d USING (person_id)
            LEFT JOIN moved m USING (person_id)
        )
        SELECT '{spec.name}' AS model, {start} AS as_of, person_id,
               CASE status WHEN 'event' THEN true WHEN 'no_event' THEN false END AS label,
               status,
               CAST(date_diff('day', {start}, CAST(first_event AS DATE)) AS INTEGER)
                 AS days_to_event,
               CAST(date_diff('day', {start}, least(
                   CAST(first_event AS DATE), CAST(died_on AS DATE),
                   CASE WHEN left_on >= {start} THEN CAST(left_on AS DATE) END,
                   CAST(last_day AS DATE) + INTERVAL 1 DAY, CAST({end} AS DATE))) AS INTEGER)
                 AS follow_up_days
        FROM judged
        ORDER BY person_id
    """
