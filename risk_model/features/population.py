"""Who is in a snapshot: the resident population on a date, one row per person.

The population is everyone registered with a GP in the area on the date (the usual denominator
of NHS population health management), so owner-occupiers and private renters are scored as well
as social tenants. A person is in it when, using only what was known before the cut-off:

- a GP registration covers the cut-off (registered before it, not deregistered by it);
- no death is recorded before it;
- they have not opted out of data sharing (ingest already removes their health rows; this is a
  second lock, so a stale warehouse cannot put them back).

Their home on the date comes from ``person_homes`` (built by linkage: a social tenancy wins over
a GP-registered address), and through its UPRN the gazetteer gives tenure, LSOA and ward, and the
IMD file the decile. Age is in whole years from year and month of birth (the day is not kept in
the warehouse, so a birthday counts from the first of its month). The columns are listed in
:data:`risk_model.features.catalogue.POPULATION_COLUMNS`.
"""

from __future__ import annotations

from risk_model.features.catalogue import POPULATION_COLUMNS

__all__ = ["POPULATION_TABLE", "population_sql"]

POPULATION_TABLE = "population"


def population_sql(cutoff: str) -> str:
    """Return the ``SELECT`` building the population for a cut-off date.

    Parameters
    ----------
    cutoff : str
        A SQL date literal (``DATE '2025-03-31'``): nothing dated on or after it is used.

    Returns
    -------
    str
        SQL with exactly the columns of ``POPULATION_COLUMNS``, one row per person.
    """
    columns = ", ".join(POPULATION_COLUMNS)
    return f"""
        WITH registered AS (
            SELECT nhs_pseudo AS person_id, sex, ethnic_category, birth_year, birth_month
            FROM gp_registrations
            WHERE nhs_pseudo IS NOT NULL AND registration_date < {cutoff}
              AND (deregistration_date IS NULL OR deregistration_date >= {cutoff})
              AND (address_from IS NULL OR address_from < {cutoff})
            QUALIFY row_number() OVER (
                PARTITION BY nhs_pseudo
                ORDER BY registration_date DESC, address_from DESC NULLS LAST, record_id DESC) = 1
        ),
        home AS (
            SELECT person_id, uprn, tenancy_ref, source AS home_source
            FROM person_homes
            WHERE from_date < {cutoff} AND (to_date IS NULL OR to_date >= {cutoff})
            QUALIFY row_number() OVER (
                PARTITION BY person_id
                ORDER BY priority, from_date DESC, uprn NULLS LAST, tenancy_ref NULLS LAST) = 1
        ),
        people AS (
            SELECT r.person_id, h.uprn, h.tenancy_ref, h.home_source, g.tenure,
                   g.classification_code, g.lsoa_code, i.ward_code, i.imd_decile,
                   CASE WHEN r.sex IN ('F', 'M') THEN r.sex END AS sex,
                   r.ethnic_category, r.birth_year, r.birth_month,
                   CAST(floor((year({cutoff}) * 12 + month({cutoff})
                               - (r.birth_year * 12 + r.birth_month)) / 12) AS INTEGER) AS age
            FROM registered r
            LEFT JOIN home h USING (person_id)
            LEFT JOIN gazetteer g ON g.uprn = h.uprn
            LEFT JOIN lsoa_imd i ON i.lsoa_code = g.lsoa_code
            WHERE r.person_id NOT IN (SELECT nhs_pseudo FROM deaths
                                      WHERE date_of_death < {cutoff} AND nhs_pseudo IS NOT NULL)
              AND r.person_id NOT IN (SELECT nhs_pseudo FROM national_data_opt_outs
                                      WHERE nhs_pseudo IS NOT NULL)
        )
        SELECT {columns} FROM people
    """
