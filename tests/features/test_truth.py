"""On synthetic data the features must carry the planted truth about each home.

Read against ``truth/`` (tests may; the pipeline never does): people whose landlord records a
damp report, or whose last HHSRS assessment found damp, live in homes that really are damp far
more often than the rest; people 65+ flagged with a stairs hazard really have one.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from risk_model.config import Workspace
from risk_model.features import build_snapshot, load_catalogue

pytestmark = pytest.mark.slow

AS_OF = date(2023, 3, 31)


@pytest.fixture(scope="module")
def joined(linked_small: Workspace) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(linked_small.warehouse), read_only=True)
    build_snapshot(con, load_catalogue(), AS_OF)
    truth = linked_small.truth
    con.execute(f"""CREATE TEMP TABLE judged AS
        SELECT s.*, p.uprn,
               EXISTS (SELECT 1 FROM '{truth / "damp_intervals.parquet"}' d
                       WHERE d.uprn = p.uprn AND d.from_date < DATE '{AS_OF}'
                         AND (d.to_date IS NULL OR d.to_date >= DATE '{AS_OF}')) AS truly_damp,
               h.falls_on_stairs_hazard AS truly_stairs
        FROM snapshot s JOIN population p USING (person_id)
        LEFT JOIN '{truth / "homes.parquet"}' h ON h.uprn = p.uprn""")
    return con


def _rate(con: duckdb.DuckDBPyConnection, column: str, where: str) -> tuple[float, int]:
    rate, n = con.execute(f"SELECT avg(CAST({column} AS INTEGER)), count(*) FROM judged "
                          f"WHERE {where}").fetchone()
    return float(rate), int(n)


def test_damp_features_point_at_truly_damp_homes(joined: duckdb.DuckDBPyConnection) -> None:
    reported, n1 = _rate(joined, "truly_damp", "damp_reports_12m > 0")
    quiet, n0 = _rate(joined, "truly_damp", "damp_reports_12m = 0")
    assert n1 >= 30 and n0 >= 300
    assert reported > 3 * quiet, (reported, quiet)
    found, n2 = _rate(joined, "truly_damp", "hazard_damp_mould IN ('Category 1', 'Category 2')")
    none, _ = _rate(joined, "truly_damp", "hazard_damp_mould = 'none found'")
    assert n2 >= 10 and found > 4 * none, (found, none)


def test_a_recorded_stairs_hazard_is_a_real_one(joined: duckdb.DuckDBPyConnection) -> None:
    flagged, n = _rate(joined, "truly_stairs",
                       "hazard_falls_on_stairs IN ('Category 1', 'Category 2')")
    assert n >= 3 and flagged == 1.0  # the generator never records a hazard that is not there
