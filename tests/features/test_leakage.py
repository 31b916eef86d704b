"""Leakage is tested, not trusted: events after the as-of date must not change a snapshot.

The property: for any as-of date and recording lag, appending any rows dated on or after the
cut-off to any warehouse table leaves the snapshot byte-identical (written to Parquet and
compared byte for byte). The appended rows are copies of real rows with every date moved into
the future, so they exercise every view's joins and filters; surveys and inspections get new
references so their hazards are new future findings, not changes to past ones.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from risk_model.config import Workspace
from risk_model.features import build_snapshot, load_catalogue
from risk_model.features.outcomes import label_sql
from risk_model.modelling import load_specs
from tests.conftest import copy_workspace

pytestmark = pytest.mark.slow

# tables whose rows hang off a dated parent by reference: copies get a new, future parent
_CHILDREN = {
    "stock_condition_hazards": ("stock_condition_surveys", "survey_reference"),
    "private_sector_hazards": ("private_sector_inspections", "inspection_reference"),
}


def _date_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "AND data_type IN ('TIMESTAMP', 'DATE', 'TIMESTAMP_S')", [table]).fetchall()]


def append_future(con: duckdb.DuckDBPyConnection, cutoff: date, rng: np.random.Generator,
                  *, share: float = 0.3) -> dict[str, int]:
    """Append copies of a share of every dated table's rows, all dates on or after ``cutoff``."""
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT internal").fetchall()]
    added: dict[str, int] = {}
    for table in tables:
        dates = _date_columns(con, table)
        if not dates or table in ("ingest_runs", "ingest_files", "ingest_reconciliation",
                                  "linkage_runs", "address_matching_runs"):
            continue
        shift = int(rng.integers(0, 400))
        # every date of the copy: the cut-off plus a per-table offset plus the row's own spread
        moved = ", ".join(
            f"CASE WHEN {c} IS NULL THEN NULL ELSE CAST(DATE '{cutoff}' AS TIMESTAMP) "
            f"+ to_days(CAST({shift} + abs(hash(rowid, '{c}')) % 30 AS INTEGER)) END AS {c}"
            for c in dates)
        keys = {"survey_reference": "'FUT-' || survey_reference",
                "inspection_reference": "'FUT-' || inspection_reference"}
        renamed = ", ".join(f"{expr} AS {col}" for col, expr in keys.items()
                            if col in _columns(con, table))
        replace = ", ".join(x for x in (moved, renamed) if x)
        con.execute(f"CREATE TEMP TABLE future AS SELECT * REPLACE ({replace}) FROM {table} "
                    f"USING SAMPLE {share * 100:.0f} PERCENT (bernoulli, 7)")
        con.execute(f"INSERT INTO {table} SELECT * FROM future")
        added[table] = con.execute("SELECT count(*) FROM future").fetchone()[0]
        for child, (parent, ref) in _CHILDREN.items():
            if parent == table:
                copies = (f"SELECT * REPLACE ('FUT-' || {ref} AS {ref}) FROM {child} "
                          f"WHERE {ref} IN (SELECT substr({ref}, 5) FROM future)")
                added[child] = con.execute(f"SELECT count(*) FROM ({copies})").fetchone()[0]
                con.execute(f"INSERT INTO {child} {copies}")
        con.execute("DROP TABLE future")
    return added


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
        [table]).fetchall()}


def snapshot_bytes(ws: Workspace, as_of: date, lag_days: int, out: Path) -> bytes:
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        build_snapshot(con, load_catalogue(), as_of, lag_days=lag_days)
        con.execute(f"COPY snapshot TO '{out}' (FORMAT parquet)")
    return out.read_bytes()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_future_rows_leave_the_snapshot_byte_identical(linked_small: Workspace,
                                                       tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    as_of = date(2022, 3, 31) + timedelta(days=int(rng.integers(0, 700)))
    lag = int(rng.choice([0, 0, 14, 60]))
    ws = copy_workspace(linked_small, tmp_path / "ws")
    before = snapshot_bytes(ws, as_of, lag, tmp_path / "before.parquet")

    cutoff = as_of - timedelta(days=lag)
    with duckdb.connect(str(ws.warehouse)) as con:
        added = append_future(con, cutoff, rng)
    # the property is only tested if events of every kind were appended
    for table in ("hes_apc", "ecds_attendances", "gp_long_term_conditions", "deaths",
                  "damp_hazard_reports", "damp_investigations", "damp_work_orders",
                  "epc_certificates", "stock_condition_surveys", "private_sector_inspections",
                  "tenancies", "housing_residents", "gp_registrations", "person_homes",
                  "adaptations", "stock_condition_hazards"):
        assert added.get(table, 0) > 0, table
    after = snapshot_bytes(ws, as_of, lag, tmp_path / "after.parquet")
    assert after == before, f"rows dated from {cutoff} changed the snapshot as of {as_of}"


def test_the_same_rows_dated_before_the_cutoff_do_change_it(linked_small: Workspace,
                                                            tmp_path: Path) -> None:
    """The check above can fail: rows moved to just before the cut-off change the snapshot."""
    as_of = date(2023, 3, 31)
    ws = copy_workspace(linked_small, tmp_path / "ws")
    before = snapshot_bytes(ws, as_of, 0, tmp_path / "before.parquet")
    with duckdb.connect(str(ws.warehouse)) as con:
        append_future(con, as_of - timedelta(days=500), np.random.default_rng(1))
    after = snapshot_bytes(ws, as_of, 0, tmp_path / "after.parquet")
    assert after != before


def test_labels_ignore_events_after_their_window(linked_small: Workspace,
                                                 tmp_path: Path) -> None:
    as_of = date(2022, 9, 30)
    ws = copy_workspace(linked_small, tmp_path / "ws")
    catalogue, specs = load_catalogue(), load_specs()

    def labels() -> list[tuple]:
        with duckdb.connect(str(ws.warehouse), read_only=True) as con:
            build_snapshot(con, catalogue, as_of)
            return [tuple(r) for spec in specs.values()
                    for r in con.execute(label_sql(spec, catalogue, as_of)).fetchall()]

    before = labels()
    with duckdb.connect(str(ws.warehouse)) as con:
        # admissions after the 12-month window (but within the data) must not count
        con.execute("""INSERT INTO hes_apc SELECT * REPLACE (
                           admidate + INTERVAL 13 MONTH AS admidate, epikey + 10000000 AS epikey)
                       FROM hes_apc WHERE admidate >= DATE '2022-09-30'
                         AND admidate < DATE '2023-03-01'""")
    assert labels() == before
