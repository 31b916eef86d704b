"""The ingest run on a generated landing zone: reconciliation, quarantine, refusals, opt-outs.

Bad files are made from the generator's own clean files by spoiling chosen rows, so each test
knows exactly which rows must be quarantined and why.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from risk_model.config import Workspace
from risk_model.errors import ConfigError, DataError
from risk_model.ingest import KEY_ENV, PseudonymKey, ingest, load_key
from risk_model.ingest import run as ingest_run
from risk_model.ingest.pseudonymise import pseudonymise
from risk_model.ingest.validate import WITHHELD
from tests.ingest.conftest import read_landing, snapshot, write_landing

TODAY = date(2026, 11, 24)


def _table(ws: Workspace, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        return con.execute(sql).df()


def _quarantine(ws: Workspace, file: str) -> pd.DataFrame:
    return pd.read_csv(ws.quarantine / f"{file}.csv", dtype={"row": int})


def _by_file(result: ingest_run.IngestResult) -> dict[str, ingest_run.FileReconciliation]:
    return {f.file: f for f in result.files}


# ---- a clean area --------------------------------------------------------------------------


def test_clean_area_is_accepted_whole_and_reconciles(ws: Workspace, key: PseudonymKey):
    result = ingest(ws, key=key, today=TODAY)
    files = _by_file(result)
    assert len(files) == 19
    for name, rec in files.items():
        assert rec.reconciled, name
        assert rec.rows_read == len(read_landing(ws, name)), name
        assert rec.rows_quarantined == 0, name  # the generator's files keep every contract
    # opted-out people's health rows are excluded, and only theirs
    opted = set(read_landing(ws, "national_data_opt_outs.csv")["NHS_NUMBER"])
    for name in ("gp_registrations.csv", "hes_apc.csv", "ecds_attendances.csv", "deaths.csv",
                 "gp_long_term_conditions.csv"):
        expected = int(read_landing(ws, name)["NHS_NUMBER"].isin(opted).sum())
        assert files[name].rows_opted_out == expected, name
        stored = _table(ws, f"SELECT count(*) AS n FROM {name.removesuffix('.csv')}")["n"][0]
        assert stored == files[name].rows_accepted
    assert files["housing_residents.csv"].rows_opted_out == 0  # housing data is not health data
    pseudo = set(pseudonymise(pd.Series(sorted(opted)), key, domain="nhs_number"))
    health = _table(ws, "SELECT nhs_pseudo FROM hes_apc UNION ALL SELECT nhs_pseudo FROM "
                        "gp_registrations")
    assert not set(health["nhs_pseudo"].dropna()) & pseudo
    # reconciliation stored in the warehouse and in the run's report
    stored = _table(ws, "SELECT * FROM ingest_reconciliation")
    assert stored["reconciled"].all()
    assert len(stored) == 19
    run_report = json.loads(Path(result.reports["run"]).read_text())
    assert {f["file"] for f in run_report["files"]} == set(files)
    assert Path(result.reports["data_quality_html"]).exists()


def test_warehouse_rows_keep_their_landing_row_numbers(ws: Workspace, key: PseudonymKey):
    ingest(ws, key=key, today=TODAY)
    landing = read_landing(ws, "tenancies.csv")
    stored = _table(ws, "SELECT tenancy_ref, source_row FROM tenancies ORDER BY source_row")
    assert stored["tenancy_ref"].tolist() == landing["TENANCY_REF"].tolist()
    assert stored["source_row"].tolist() == list(range(1, len(landing) + 1))


def test_second_run_on_the_same_files_changes_nothing(ws: Workspace, key: PseudonymKey):
    ingest(ws, key=key, today=TODAY)
    before = snapshot(ws.warehouse)
    again = ingest(ws, key=key, today=TODAY)
    assert again.files == []
    assert len(again.skipped) == 19
    assert snapshot(ws.warehouse) == before


def test_later_extract_adds_without_duplicating(ws: Workspace, key: PseudonymKey):
    hes = read_landing(ws, "hes_apc.csv")
    first, second = hes.iloc[:100], hes.iloc[80:]  # 20 rows in both extracts
    write_landing(ws, "hes_apc.csv", first)
    ingest(ws, key=key, today=TODAY)
    write_landing(ws, "hes_apc__2.csv", second)
    result = ingest(ws, key=key, today=TODAY)
    assert [f.file for f in result.files] == ["hes_apc__2.csv"]
    # the quality report still covers every file in the warehouse
    quality = json.loads(Path(result.reports["data_quality_json"]).read_text())
    assert len(quality["sources"]) == len(quality["run"]["files"]) == 20
    stored = _table(ws, "SELECT epikey, source_file FROM hes_apc")
    assert stored["epikey"].is_unique
    opted = set(read_landing(ws, "national_data_opt_outs.csv")["NHS_NUMBER"])
    assert len(stored) == int((~hes["NHS_NUMBER"].isin(opted)).sum())
    # the overlapping rows now come from the newer extract
    overlap = set(hes.iloc[80:100]["EPIKEY"].astype(int))
    assert set(stored.loc[stored["epikey"].isin(overlap), "source_file"]) <= {"hes_apc__2.csv"}


def test_later_gp_extract_with_renumbered_rows_does_not_duplicate(
        ws: Workspace, key: PseudonymKey):
    gp = read_landing(ws, "gp_registrations.csv")
    ingest(ws, key=key, today=TODAY)
    before = _table(ws, "SELECT count(*) AS n FROM gp_registrations")["n"][0]
    later = gp.iloc[::-1].reset_index(drop=True)
    later["RECORD_ID"] = [str(i) for i in range(1, len(later) + 1)]  # the next extract's ids
    write_landing(ws, "gp_registrations__2.csv", later)
    result = ingest(ws, key=key, today=TODAY)
    assert _by_file(result)["gp_registrations__2.csv"].rows_quarantined == 0
    assert _table(ws, "SELECT count(*) AS n FROM gp_registrations")["n"][0] == before


def test_rebuild_replaces_the_warehouse(ws: Workspace, key: PseudonymKey):
    ingest(ws, key=key, today=TODAY)
    hes = read_landing(ws, "hes_apc.csv")
    write_landing(ws, "hes_apc.csv", hes.iloc[:10])
    ingest(ws, key=key, today=TODAY, rebuild=True)
    assert _table(ws, "SELECT count(*) AS n FROM hes_apc")["n"][0] <= 10


# ---- bad rows are quarantined with the right reasons --------------------------------------


def test_bad_rows_are_quarantined_with_their_reasons(ws: Workspace, key: PseudonymKey):
    res = read_landing(ws, "housing_residents.csv")
    bad_nhs = "9990000019"  # wrong check digit
    res.loc[0, "NHS_NUMBER"] = bad_nhs
    res.loc[1, "DATE_OF_BIRTH"] = "1970-13-45"
    res.loc[2, "END_DATE"] = "1999-01-01"  # before its start
    res.loc[3, "DATE_OF_BIRTH"] = "2030-01-01"  # in the future
    res.loc[4, "ETHNIC_ORIGIN"] = "Martian"
    res.loc[5, "TENANCY_REF"] = "T9999999"  # no such tenancy
    res.loc[6, "SEX"] = pd.NA
    res.loc[6, "RESIDENT_ID"] = pd.NA  # required
    res = pd.concat([res, res.iloc[[7]]], ignore_index=True)  # a duplicate key
    write_landing(ws, "housing_residents.csv", res)
    ten = read_landing(ws, "tenancies.csv")
    ten.loc[0, "BEDROOMS"] = "two"
    write_landing(ws, "tenancies.csv", ten)
    hes = read_landing(ws, "hes_apc.csv")
    hes.loc[0, "HOMEADD"] = "NOT A POSTCODE"
    hes.loc[1, "ADMIMETH"] = "77"
    hes.loc[2, "DIAG_4_01"] = "J44.1"
    write_landing(ws, "hes_apc.csv", hes)

    result = ingest(ws, key=key, today=TODAY)
    files = _by_file(result)

    found = _quarantine(ws, "housing_residents.csv")
    got = set(zip(found["row"], found["field"], found["rule"], strict=True))
    last = len(res)
    # tenancy row 1 is quarantined, so its residents are too (a reference to a refused row)
    orphans = set(res.index[res["TENANCY_REF"] == ten.loc[0, "TENANCY_REF"]] + 1)
    expected = {
        (1, "NHS_NUMBER", "nhs_number_check_digit"),
        (2, "DATE_OF_BIRTH", "not_a_date"),
        (3, "END_DATE", "date_order"),
        (4, "DATE_OF_BIRTH", "date_in_future"),
        (4, "START_DATE", "date_order"),  # a birth in the future is after the move, too
        (5, "ETHNIC_ORIGIN", "code_not_allowed"),
        (6, "TENANCY_REF", "unknown_reference"),
        (7, "RESIDENT_ID", "missing_value"),
        (last, "RESIDENT_ID", "duplicate_key"),
    } | {(r, "TENANCY_REF", "unknown_reference") for r in orphans - {1, 2, 3, 4, 5, 6, 7}}
    assert got == expected
    rec = files["housing_residents.csv"]
    assert rec.rows_quarantined == len({r for r, _, _ in expected})
    assert rec.rows_accepted == len(res) - rec.rows_quarantined
    assert rec.reconciled
    # identifiers are withheld; other values are shown
    shown = dict(zip(found["rule"], found["value"], strict=False))
    assert shown["nhs_number_check_digit"] == WITHHELD
    assert shown["not_a_date"] == WITHHELD  # a date of birth
    assert shown["code_not_allowed"] == "Martian"
    assert bad_nhs not in (ws.quarantine / "housing_residents.csv.csv").read_text()
    assert found["hint"].str.len().gt(10).all()

    found = _quarantine(ws, "tenancies.csv")
    assert set(zip(found["row"], found["field"], found["rule"], strict=True)) == {
        (1, "BEDROOMS", "not_a_whole_number")}

    found = _quarantine(ws, "hes_apc.csv")
    assert set(zip(found["row"], found["field"], found["rule"], strict=True)) == {
        (1, "HOMEADD", "postcode_shape"), (2, "ADMIMETH", "code_not_allowed"),
        (3, "DIAG_4_01", "pattern")}
    assert "NOT A POSTCODE" not in (ws.quarantine / "hes_apc.csv.csv").read_text()
    for rec in files.values():
        assert rec.reconciled


def test_parquet_with_its_own_types_is_checked_the_same_way(ws: Workspace, key: PseudonymKey):
    hes = read_landing(ws, "hes_apc.csv")
    (ws.landing / "hes_apc.csv").unlink()
    typed = hes.assign(
        EPIKEY=hes["EPIKEY"].astype("int64"),
        ADMIDATE=hes["ADMIDATE"].where(hes.index != 1, "01/05/2021"),  # text dates in Parquet
        EPIORDER=hes["EPIORDER"].astype(float).where(hes.index != 2, 1.5),
        DIAG_4_06=None,  # a column entirely null: Parquet type null
    )
    typed["EPISTART"] = pd.to_datetime(typed["EPISTART"])
    typed.to_parquet(ws.landing / "hes_apc.parquet")
    result = ingest(ws, key=key, today=TODAY)
    assert _by_file(result)["hes_apc.parquet"].reconciled
    found = _quarantine(ws, "hes_apc.parquet")
    assert set(zip(found["row"], found["field"], found["rule"], strict=True)) == {
        (2, "ADMIDATE", "not_a_date"), (3, "EPIORDER", "not_a_whole_number")}


def test_free_text_is_scrubbed_before_the_warehouse(ws: Workspace, key: PseudonymKey):
    reports = read_landing(ws, "damp_hazard_reports.csv")
    gp = read_landing(ws, "gp_registrations.csv")
    first, last = gp.loc[0, "FORENAME"], gp.loc[0, "SURNAME"]
    reports.loc[0, "description"] = (
        f"Mould in bathroom. Spoke to {first} {last}, call back on 07700 900123")
    reports.loc[1, "description"] = "Black mould. GP letter attached, NHS no 999 000 0018"
    write_landing(ws, "damp_hazard_reports.csv", reports)
    ingest(ws, key=key, today=TODAY)
    stored = _table(ws, "SELECT description, description_scrubbed FROM damp_hazard_reports "
                        "ORDER BY source_row")
    text = " ".join(stored["description"].dropna())
    for leaked in (f"{first} {last}", "07700", "999 000 0018"):
        assert leaked not in text
    assert stored["description"][1].startswith("Black mould")
    assert stored["description_scrubbed"][:2].tolist() == [True, True]


def test_a_later_free_text_extract_is_scrubbed_with_names_already_ingested(
        ws: Workspace, key: PseudonymKey):
    ingest(ws, key=key, today=TODAY)
    gp = read_landing(ws, "gp_registrations.csv")
    name = f"{gp.loc[3, 'FORENAME']} {gp.loc[3, 'SURNAME']}"
    later = read_landing(ws, "damp_hazard_reports.csv").iloc[:1].copy()
    later["description"] = f"Mould in the kitchen, {name} rang about it"  # no title, no number
    write_landing(ws, "damp_hazard_reports__2.csv", later)
    result = ingest(ws, key=key, today=TODAY)
    assert [f.file for f in result.files] == ["damp_hazard_reports__2.csv"]
    stored = _table(ws, "SELECT description FROM damp_hazard_reports WHERE source_file = "
                        "'damp_hazard_reports__2.csv'")["description"][0]
    assert name not in stored
    assert stored.startswith("Mould in the kitchen")


# ---- files that cannot be read are refused, and nothing changes ----------------------------


def _refused(ws: Workspace, key: PseudonymKey) -> str:
    before = snapshot(ws.warehouse)
    with pytest.raises(DataError) as info:
        ingest(ws, key=key, today=TODAY)
    assert snapshot(ws.warehouse) == before
    assert not list(ws.root.glob(".staging-*"))
    return str(info.value)


@pytest.fixture
def ingested(ws: Workspace, key: PseudonymKey) -> Workspace:
    """A workspace ingested once, so refusals can be checked against a real warehouse."""
    ingest(ws, key=key, today=TODAY)
    return ws


def test_missing_column_is_refused(ingested: Workspace, key: PseudonymKey):
    hes = read_landing(ingested, "hes_apc.csv").drop(columns=["ADMIMETH"])
    write_landing(ingested, "hes_apc__new.csv", hes)
    assert _refused(ingested, key).startswith(
        "hes_apc__new.csv: required column missing: ADMIMETH. Fix: the hes_apc contract needs")


def test_latin1_csv_is_refused(ingested: Workspace, key: PseudonymKey):
    text = (ingested.landing / "tenancies.csv").read_text().replace("Synthton", "Synthtón", 1)
    (ingested.landing / "tenancies__latin1.csv").write_bytes(text.encode("latin-1"))
    assert _refused(ingested, key) == (
        "tenancies__latin1.csv: line 2 is not valid UTF-8 (byte 0xf3); the file is probably in "
        "a Windows or Latin-1 encoding. Fix: re-save it as UTF-8 (in Excel: Save As, CSV UTF-8) "
        "and ingest again")


def test_bom_prefixed_csv_is_read_like_plain_utf8(ws: Workspace, key: PseudonymKey):
    raw = (ws.landing / "tenancies.csv").read_bytes()
    (ws.landing / "tenancies.csv").write_bytes(b"\xef\xbb\xbf" + raw)
    result = ingest(ws, key=key, today=TODAY)
    rec = _by_file(result)["tenancies.csv"]
    assert rec.rows_quarantined == 0
    assert rec.rows_accepted == rec.rows_read > 0


def test_empty_file_is_refused(ingested: Workspace, key: PseudonymKey):
    (ingested.landing / "deaths__empty.csv").write_bytes(b"")
    assert _refused(ingested, key) == (
        "deaths__empty.csv: the file is empty (0 bytes). Fix: ask the data owner for the extract "
        "again, or remove the file from landing/")


def test_truncated_parquet_is_refused(ingested: Workspace, key: PseudonymKey, tmp_path: Path):
    full = tmp_path / "deaths.parquet"
    read_landing(ingested, "deaths.csv").to_parquet(full)
    data = full.read_bytes()
    (ingested.landing / "deaths__cut.parquet").write_bytes(data[: len(data) // 2])
    message = _refused(ingested, key)
    assert message.startswith("deaths__cut.parquet: not a readable Parquet file (")
    assert message.endswith("it may be truncated or not Parquet at all. Fix: ask the data owner "
                            "to send the file again (compare its size with theirs)")


def test_file_that_is_not_csv_is_refused(ingested: Workspace, key: PseudonymKey):
    (ingested.landing / "deaths__x.csv").write_bytes(b"PK\x03\x04\x00\x00binary")
    assert _refused(ingested, key).startswith("deaths__x.csv: not a CSV file (it holds binary")
    (ingested.landing / "deaths__x.csv").unlink()
    (ingested.landing / "deaths.xlsx").write_bytes(b"PK\x03\x04")
    assert _refused(ingested, key).startswith("deaths.xlsx: not a CSV or Parquet file")


def test_unknown_source_is_refused(ingested: Workspace, key: PseudonymKey):
    (ingested.landing / "patients.csv").write_text("A,B\n1,2\n")
    assert _refused(ingested, key).startswith(
        "patients.csv: no data contract for a source called 'patients'")


def test_refusal_on_first_run_creates_no_warehouse(ws: Workspace, key: PseudonymKey):
    (ws.landing / "deaths__empty.csv").write_bytes(b"")
    _refused(ws, key)
    assert not ws.warehouse.exists()
    assert not ws.quarantine.exists() or not any(ws.quarantine.iterdir())


def test_failure_midway_leaves_the_previous_warehouse(
        ingested: Workspace, key: PseudonymKey, monkeypatch: pytest.MonkeyPatch):
    write_landing(ingested, "hes_apc__2.csv", read_landing(ingested, "hes_apc.csv").iloc[:5])
    write_landing(ingested, "deaths__2.csv", read_landing(ingested, "deaths.csv"))
    before = snapshot(ingested.warehouse)
    real = ingest_run._Run._write
    calls = []

    def failing(self, contract, rows, file):
        calls.append(file)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(self, contract, rows, file)

    monkeypatch.setattr(ingest_run._Run, "_write", failing)
    with pytest.raises(OSError, match="disk full"):
        ingest(ingested, key=key, today=TODAY)
    assert snapshot(ingested.warehouse) == before
    assert not list(ingested.root.glob(".staging-*"))


# ---- the key --------------------------------------------------------------------------------


def test_another_key_cannot_add_to_the_warehouse(ingested: Workspace):
    other = load_key(environ={KEY_ENV: "another-key-" + "9" * 40})
    write_landing(ingested, "deaths__2.csv", read_landing(ingested, "deaths.csv"))
    before = snapshot(ingested.warehouse)
    with pytest.raises(ConfigError, match="the warehouse was built with pseudonymisation key"):
        ingest(ingested, key=other, today=TODAY)
    assert snapshot(ingested.warehouse) == before


# ---- the national data opt-out --------------------------------------------------------------


def test_a_later_opt_out_removes_health_rows_already_in_the_warehouse(
        ingested: Workspace, key: PseudonymKey):
    hes = read_landing(ingested, "hes_apc.csv")
    newly = hes["NHS_NUMBER"].dropna().iloc[0]
    opt = read_landing(ingested, "national_data_opt_outs.csv")
    assert newly not in set(opt["NHS_NUMBER"])
    pseudo = pseudonymise(pd.Series([newly]), key, domain="nhs_number")[0]
    assert _table(ingested, f"SELECT count(*) AS n FROM hes_apc WHERE nhs_pseudo = '{pseudo}'"
                  )["n"][0] > 0
    shutil.move(ingested.landing / "national_data_opt_outs.csv",
                ingested.landing / "national_data_opt_outs__old.csv.bak")
    (ingested.landing / "national_data_opt_outs__old.csv.bak").unlink()
    write_landing(ingested, "national_data_opt_outs__2.csv",
                  pd.concat([opt, pd.DataFrame({"NHS_NUMBER": [newly]})]))
    result = ingest(ingested, key=key, today=TODAY)
    assert result.opt_out["rows_removed_from_warehouse"] > 0
    for table in ("hes_apc", "gp_registrations", "ecds_attendances"):
        assert _table(ingested, f"SELECT count(*) AS n FROM {table} WHERE nhs_pseudo = "
                                f"'{pseudo}'")["n"][0] == 0


def test_opt_out_summary_is_by_group_with_small_numbers_suppressed(
        ws: Workspace, key: PseudonymKey):
    result = ingest(ws, key=key, today=TODAY)
    summary = result.opt_out
    assert summary["rows_excluded"] == sum(f.rows_opted_out for f in result.files) > 0
    for dimension in ("people_by_sex", "people_by_ethnic_group", "people_by_age_band"):
        counts = summary[dimension]
        assert counts
        for value in counts.values():
            assert value == "*" or (value == 0 or (value >= 8 and value % 5 == 0))
