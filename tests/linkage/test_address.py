"""Address matching at the ingest boundary: quality, supplied UPRNs checked, no address out."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from risk_model.config import Workspace
from risk_model.disclosure import SUPPRESSED
from risk_model.errors import ConfigError, DataError
from risk_model.ingest import KEY_ENV, ingest, load_key
from risk_model.linkage.address import (
    ADDRESS_COLUMNS,
    FUZZY_SCORE,
    GAZETTEER_COLUMNS,
    MATCHING_RUNS_TABLE,
    METHODS,
    MatchSettings,
    _fuzzy_matches,
    _home_keys,
    address_matching_quality,
    match_addresses,
    summarise_address_matching,
)
from tests.conftest import SynthRun

_KEY = "test-key-" + "0123456789abcdef" * 3


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, small_csv: SynthRun) -> Workspace:
    """The small CSV area ingested once (address matching included), its log captured."""
    root = tmp_path_factory.mktemp("address") / "ws"
    shutil.copytree(small_csv.ws.landing, root / "landing")
    ws = Workspace.at(root)
    handler = _ListHandler()
    logging.getLogger().addHandler(handler)
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        ingest(ws, key=load_key(environ={KEY_ENV: _KEY}))
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)
    (root / "ingest.log").write_text("\n".join(handler.lines))
    return ws


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _landing(run: SynthRun, name: str) -> pd.DataFrame:
    return pd.read_csv(run.ws.landing / f"{name}.csv", dtype=str, keep_default_na=False,
                       na_values=[""])


@pytest.mark.slow
def test_quality_on_the_small_area_meets_the_goal(ingested: Workspace,
                                                   small_csv: SynthRun) -> None:
    with duckdb.connect(str(ingested.warehouse), read_only=True) as con:
        quality = address_matching_quality(con, small_csv.ws.truth)
    assert quality is not None
    overall = quality["overall"]
    assert overall["rows"] > 500
    assert overall["precision"] >= 0.99, quality
    assert overall["match_rate"] >= 0.95, quality
    assert quality["met"] is True
    assert set(quality["by_tenure"]) >= {"owner_occupied", "private_rented"}
    assert sum(t["rows"] for t in quality["by_tenure"].values()) == overall["rows"]
    json.dumps(quality)


def test_quality_is_none_without_truth(ingested: Workspace, tmp_path: Path) -> None:
    with duckdb.connect(str(ingested.warehouse), read_only=True) as con:
        assert address_matching_quality(con, tmp_path / "truth") is None


@pytest.mark.slow
def test_unmatched_rows_have_no_uprn_and_methods_are_known(ingested: Workspace) -> None:
    with duckdb.connect(str(ingested.warehouse), read_only=True) as con:
        rows = con.execute("SELECT uprn, uprn_match_score, uprn_match_accepted, "
                           "uprn_match_method, uprn_supplied, uprn_supplied_valid "
                           "FROM gp_registrations").df()
        runs = con.execute(f"SELECT method, rows FROM {MATCHING_RUNS_TABLE}").df()
    assert set(rows["uprn_match_method"]) <= set(METHODS)
    unaccepted = ~rows["uprn_match_accepted"].astype(bool)
    assert rows.loc[unaccepted, "uprn"].isna().all()
    assert rows.loc[~unaccepted, "uprn"].notna().all()
    assert rows["uprn_match_score"].dtype.kind == "f"
    assert (rows["uprn_supplied_valid"] <= rows["uprn_supplied"]).all()
    assert runs["rows"].sum() == len(rows)
    assert set(runs["method"]) == set(METHODS)


@pytest.mark.slow
def test_no_address_text_in_the_warehouse_logs_or_reports(ingested: Workspace,
                                                          small_csv: SynthRun) -> None:
    gp = _landing(small_csv, "gp_registrations")
    gazetteer = _landing(small_csv, "gazetteer")
    # first lines (number and street, or flat and building); later lines can be a locality,
    # which is also a ward's name in the reference tables
    lines = set(gp["ADDRESS_LINE_1"].dropna().str.upper())
    streets = gazetteer["STREET_DESCRIPTION"].dropna().str.upper().unique()
    assert len(streets) > 5
    found: list[str] = []
    with duckdb.connect(str(ingested.warehouse), read_only=True) as con:
        columns = con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                              "WHERE NOT internal AND data_type IN ('VARCHAR', 'JSON')").fetchall()
        for table, column in columns:
            values = con.execute(f'SELECT DISTINCT upper(CAST("{column}" AS VARCHAR)) '
                                 f'FROM "{table}"').df().iloc[:, 0].dropna()
            text = "\n".join(values)
            found += [f"{table}.{column}" for s in streets if s in text]
            found += [f"{table}.{column}" for v in values if v in lines]
    assert not found
    outputs = [ingested.root / "ingest.log", *ingested.reports.rglob("*.json"),
               *ingested.reports.rglob("*.html")]
    for path in outputs:
        text = path.read_text().upper()
        assert not [s for s in streets if s in text], path.name
    with duckdb.connect(str(ingested.warehouse), read_only=True) as con:
        summary = summarise_address_matching(con)
    text = json.dumps(summary).upper()
    assert not [s for s in streets if s in text]


def _true_uprns(run: SynthRun, rows: int) -> pd.Series:
    """The true UPRN of the first ``rows`` GP registration rows."""
    truth = run.truth("record_identity")
    truth = truth[truth["source"] == "gp_registrations"].set_index("row_number")["uprn"]
    return truth.reindex(range(1, rows + 1))


@pytest.mark.slow
def test_a_wrong_supplied_uprn_is_not_trusted(small_csv: SynthRun) -> None:
    gp = _landing(small_csv, "gp_registrations").iloc[:120].reset_index(drop=True)
    gazetteer = _landing(small_csv, "gazetteer")
    true_uprn = _true_uprns(small_csv, len(gp)).to_numpy()
    # another home's UPRN, at another postcode, on every third row; one the gazetteer lacks
    postcode = gazetteer.set_index("UPRN")["POSTCODE_LOCATOR"]
    planted = gp.index[::3]
    for i in planted:
        home = str(true_uprn[i])
        other = gazetteer.loc[gazetteer["POSTCODE_LOCATOR"] != postcode[home], "UPRN"]
        gp.loc[i, "UPRN"] = other.iloc[i % len(other)]
    gp.loc[1, "UPRN"] = "999999999999"
    out = match_addresses(gp[list(ADDRESS_COLUMNS)], gazetteer)
    wrong = pd.to_numeric(gp.loc[planted, "UPRN"]).to_numpy()
    assert not (out.loc[planted, "uprn"].to_numpy() == wrong).any()
    assert (out.loc[planted, "uprn_match_method"].isin(
        ["supplied_corrected", "supplied_rejected"])).all()
    assert out.loc[planted, "uprn_supplied_valid"].all()
    assert (out.loc[planted, "uprn"].dropna() == pd.Series(true_uprn[planted],
                                                           index=planted)).mean() >= 0.95
    assert not out.loc[1, "uprn_supplied_valid"]
    assert out.loc[1, "uprn_supplied"]
    assert pd.isna(out.loc[1, "uprn"]) or out.loc[1, "uprn"] == true_uprn[1]
    assert list(out.index) == list(gp.index)
    assert not set(out.columns) & set(ADDRESS_COLUMNS)


@pytest.mark.slow
def test_a_correct_supplied_uprn_is_confirmed(small_csv: SynthRun) -> None:
    gp = _landing(small_csv, "gp_registrations").iloc[:60].reset_index(drop=True)
    gazetteer = _landing(small_csv, "gazetteer")
    gp["UPRN"] = _true_uprns(small_csv, len(gp)).astype("string").to_numpy()
    out = match_addresses(gp[list(ADDRESS_COLUMNS)], gazetteer)
    assert out["uprn_match_accepted"].all()
    assert (out["uprn"].to_numpy() == pd.to_numeric(gp["UPRN"]).to_numpy()).all()
    assert out["uprn_match_method"].isin(["supplied_confirmed", "supplied_postcode"]).all()


@pytest.mark.slow
def test_summary_reads_the_warehouse_and_suppresses(ingested: Workspace) -> None:
    with duckdb.connect(str(ingested.warehouse), read_only=True) as con:
        summary = summarise_address_matching(con)
    assert set(summary["rows_by_method"]) == set(METHODS)
    for key in ("unmatched_by_tenure", "unmatched_by_area", "unmatched_by_ethnic_group",
                "unmatched_by_age_band"):
        assert summary[key]
        for cell in summary[key].values():
            for count in (cell["rows"], cell["unmatched"]):
                assert count == SUPPRESSED or (count % 5 == 0 and count != 0) or count == 0
    assert any("estimated" in note for note in summary["notes"])
    json.dumps(summary)


def test_summary_needs_matched_registrations() -> None:
    with duckdb.connect() as con, pytest.raises(DataError, match="gp_registrations"):
        summarise_address_matching(con)


def test_missing_columns_are_named() -> None:
    gazetteer = pd.DataFrame({c: [] for c in GAZETTEER_COLUMNS})
    with pytest.raises(DataError, match="POSTCODE"):
        match_addresses(pd.DataFrame({"ADDRESS_LINE_1": []}), gazetteer)


def test_no_rows_gives_no_rows() -> None:
    out = match_addresses(pd.DataFrame({c: [] for c in ADDRESS_COLUMNS}),
                          pd.DataFrame({c: [] for c in GAZETTEER_COLUMNS}))
    assert out.empty
    assert "uprn_match_method" in out


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"min_match_weight": float("nan")}, "min_match_weight must be a finite number"),
    ({"min_distinguishability": "2"}, "min_distinguishability must be a finite number"),
    ({"threads": 0}, "threads must be a whole number of at least 1"),
])
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MatchSettings(**kwargs)  # type: ignore[arg-type]


def test_without_a_gazetteer_nothing_is_accepted(small_csv: SynthRun) -> None:
    gp = _landing(small_csv, "gp_registrations").iloc[:20]
    gp.loc[gp.index[0], "UPRN"] = "123456"
    out = match_addresses(gp[list(ADDRESS_COLUMNS)],
                          pd.DataFrame({c: pd.Series([], dtype="object")
                                        for c in GAZETTEER_COLUMNS}))
    assert not out["uprn_match_accepted"].any()
    assert out["uprn"].isna().all()
    assert out.loc[gp.index[0], "uprn_match_method"] == "supplied_rejected"
    assert not out.loc[gp.index[0], "uprn_supplied_valid"]


def _gazetteer(*homes: tuple[int, str | None, str | None, str, str]) -> pd.DataFrame:
    """Hand-made gazetteer rows: (UPRN, flat, building, number, street) at one postcode."""
    return pd.DataFrame({
        "UPRN": [str(h[0]) for h in homes], "SAO_TEXT": [h[1] for h in homes],
        "PAO_TEXT": [h[2] for h in homes], "PAO_START_NUMBER": [h[3] for h in homes],
        "STREET_DESCRIPTION": [h[4] for h in homes], "LOCALITY": "NORTHFIELD",
        "TOWN_NAME": "SYNTHTON", "POSTCODE_LOCATOR": "QX1 1AA"})


def _rows(*lines: tuple[str, str | None]) -> pd.DataFrame:
    """GP address rows: (first line, supplied UPRN), in Northfield at the same postcode."""
    return pd.DataFrame({
        "ADDRESS_LINE_1": [line[0] for line in lines], "ADDRESS_LINE_2": "Northfield",
        "ADDRESS_LINE_3": "Synthton", "ADDRESS_LINE_4": None, "POSTCODE": "QX11AA",
        "UPRN": [line[1] for line in lines]})


_HOMES = _gazetteer(
    (101, None, None, "12", "HAZEL CRESCENT"), (102, None, None, "14", "HAZEL CRESCENT"),
    (103, None, None, "12", "HOLLY ROAD"),
    (201, "FLAT 1", "ROWAN POINT", "37", "HAZEL CRESCENT"),
    (202, "FLAT 2", "ROWAN POINT", "37", "HAZEL CRESCENT"),
    (301, "FLAT 1", "OAK LODGE", "31", "HAZEL CRESCENT"),
)


def test_a_street_with_one_typo_is_matched_fuzzily_to_its_home() -> None:
    out = match_addresses(_rows(("12 Hazle Cres", None), ("14 Hazel Cresent", None),
                                ("12 Hazle Crescent", "101")), _HOMES)
    assert list(out["uprn"]) == [101, 102, 101]
    assert list(out["uprn_match_method"]) == ["fuzzy", "fuzzy", "supplied_confirmed"]
    # a swap of two letters is one edit, as is a missing letter
    assert list(out["uprn_match_score"]) == [FUZZY_SCORE - 1] * 3
    assert out["uprn_match_accepted"].all()


def test_a_building_of_several_flats_without_the_flat_number_is_not_accepted() -> None:
    out = match_addresses(_rows(("Rowan Point, 37 Hazel Crescent", None),
                                ("Oak Lodge, 31 Hazel Crescent", None)), _HOMES)
    assert out.loc[0, "uprn_match_method"] == "unmatched"
    assert not out.loc[0, "uprn_match_accepted"]
    assert pd.isna(out.loc[0, "uprn"])
    # a building with one flat: the address can only be that flat
    assert out.loc[1, "uprn_match_method"] == "fuzzy"
    assert out.loc[1, "uprn"] == 301


def test_a_typo_close_to_two_homes_is_not_matched_fuzzily() -> None:
    homes = _gazetteer((1, None, None, "12", "HILL ROAD"), (2, None, None, "12", "MILL ROAD"))
    messy = pd.DataFrame({"address_concat": ["12 HILK ROAD, NORTHFIELD, SYNTHTON",
                                             "12 HILL ROAD, NORTHFIELD, SYNTHTON"],
                          "postcode": ["QX1 1AA", "QX1 1AA"]})
    matches, ambiguous = _fuzzy_matches(messy, _home_keys(homes))
    assert list(matches.index) == []  # both within two edits: neither is accepted
    assert list(ambiguous) == []      # nor ruled ambiguous: the matcher decides
    assert set(METHODS) >= {"fuzzy", "unmatched"}
