"""Each health person's homes over time, from GP registrations and linked tenancies.

Two sources say where a person lived: their GP-registered addresses (resolved to UPRNs at
ingest) and, for social tenants, the tenancy the landlord holds them on. The landlord's record
is the better one when both exist (a GP address often lags a move), so a tenancy spell takes
priority over a GP registration for the dates it covers.

:data:`HOMES_TABLE` holds every spell (``person_id`` is the NHS-number pseudonym, ``from_date``
inclusive, ``to_date`` exclusive or null while current); :func:`homes_on` answers "where did
each person live on this date" with that priority, joined to LSOA and tenure from the gazetteer.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

__all__ = ["HOMES_TABLE", "build_homes", "homes_on", "homes_sql"]

HOMES_TABLE = "person_homes"


def build_homes(con: duckdb.DuckDBPyConnection, links_table: str) -> None:
    """Create (or replace) :data:`HOMES_TABLE` in the warehouse.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse, writable.
    links_table : str
        The table of resident-to-person links (``resident_id_pseudo``, ``nhs_pseudo``).
    """
    con.execute(f"CREATE OR REPLACE TABLE {HOMES_TABLE} AS {homes_sql(links_table)}")


def homes_sql(links_table: str) -> str:
    """Return the ``SELECT`` of every home spell (the rows of :data:`HOMES_TABLE`).

    Parameters
    ----------
    links_table : str
        The table of resident-to-person links (``resident_id_pseudo``, ``nhs_pseudo``).

    Returns
    -------
    str
        DuckDB SQL (the Spark engine translates it).
    """
    return f"""
        WITH spells AS (
            SELECT l.nhs_pseudo AS person_id, t.uprn,
                   greatest(r.start_date, t.start_date) AS from_date,
                   CASE WHEN r.end_date IS NULL THEN t.end_date
                        WHEN t.end_date IS NULL THEN r.end_date
                        ELSE least(r.end_date, t.end_date) END AS to_date,
                   'tenancy' AS source, 1 AS priority, r.tenancy_ref,
                   l.resident_id_pseudo
            FROM {links_table} l
            JOIN housing_residents r USING (resident_id_pseudo)
            JOIN tenancies t USING (tenancy_ref)
            UNION ALL
            SELECT nhs_pseudo, uprn, address_from, address_to, 'gp_registration', 2,
                   NULL, NULL
            FROM gp_registrations
            WHERE nhs_pseudo IS NOT NULL AND address_from IS NOT NULL
        )
        SELECT s.*, g.lsoa_code, g.tenure
        FROM spells s LEFT JOIN gazetteer g ON g.uprn = s.uprn
        ORDER BY person_id, from_date, priority
    """


def homes_on(con: duckdb.DuckDBPyConnection, when: date) -> pd.DataFrame:
    """Return each health person's home on a date.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The warehouse, after :func:`build_homes`.
    when : datetime.date
        The date.

    Returns
    -------
    pandas.DataFrame
        One row per person with a spell covering ``when``: ``person_id``, ``uprn`` (null if
        the GP address could not be matched), ``lsoa_code``, ``tenure``, ``source``
        (``tenancy`` wins over ``gp_registration``; among GP registrations the latest
        started).
    """
    return con.execute(f"""
        SELECT person_id, uprn, lsoa_code, tenure, source, tenancy_ref
        FROM {HOMES_TABLE}
        WHERE from_date <= ? AND (to_date IS NULL OR to_date > ?)
        QUALIFY row_number() OVER (PARTITION BY person_id
                                   ORDER BY priority, from_date DESC, uprn NULLS LAST) = 1
        ORDER BY person_id
    """, [when, when]).df()
