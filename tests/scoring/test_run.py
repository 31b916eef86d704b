"""``risk-model score``: capacity, hold-back, opt-outs, movement, drift, the signature check,
idempotence and atomicity, on the small featured area with a champion model."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from risk_model.cli import app
from risk_model.config import Workspace
from risk_model.errors import ConfigError, DataError, OutputExistsError
from risk_model.features.catalogue import CATALOGUE_ENV, default_catalogue_path
from risk_model.review.store import record_action
from risk_model.scoring import run as scoring
from risk_model.scoring.run import FILE_COLUMNS, score
from tests.scoring.conftest import MODEL, scoring_copy

pytestmark = pytest.mark.slow

MONTH, NEXT = "2025-02", "2025-03"


def _ws(champion: Workspace, tmp_path: Path, settings: dict | None = None) -> Workspace:
    ws = scoring_copy(champion, tmp_path / "ws")
    if settings is not None:
        ws.settings_file.write_text(yaml.safe_dump(settings))
    return ws


def _table(ws: Workspace, sql: str, *params: object) -> pd.DataFrame:
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).df()


def _lists(ws: Workspace, month: str) -> pd.DataFrame:
    return _table(ws, "SELECT * FROM lists WHERE month = ? ORDER BY patch, position", month)


@pytest.fixture(scope="module")
def two_months(champion: Workspace, tmp_path_factory: pytest.TempPathFactory
               ) -> tuple[Workspace, dict, dict]:
    """February then March scored on one copy, with default settings (ward patches)."""
    ws = scoring_copy(champion, tmp_path_factory.mktemp("twomonths"))
    first = score(ws, MONTH).to_dict()
    second = score(ws, NEXT).to_dict()
    return ws, first, second


# ---- capacity and the lists ---------------------------------------------------------------


def test_each_patch_list_holds_its_top_residents_up_to_capacity(
        champion: Workspace, tmp_path: Path) -> None:
    lsoas = _table(champion, "SELECT DISTINCT lsoa_code FROM lsoa_imd ORDER BY 1")["lsoa_code"]
    assert len(lsoas) >= 2
    settings = {"patches": {"named": [{"name": "North team", "lsoas": [lsoas[0]], "capacity": 7},
                                      {"name": "Rest", "lsoas": list(lsoas[1:]),
                                       "capacity": 12}],
                            "others": "none"}}
    ws = _ws(champion, tmp_path, settings)
    result = score(ws, MONTH)
    sizes = {p["patch"]: p["listed"] for p in result.patches}
    assert sizes == {"North team": 7, "Rest": 12}
    scores = _table(ws, "SELECT * FROM scores WHERE month = ?", MONTH)
    lists = _lists(ws, MONTH)
    for patch, capacity in (("North team", 7), ("Rest", 12)):
        mine = scores[scores["patch"] == patch].sort_values("rank_in_patch")
        expected = mine.head(capacity)["person_id"].tolist()
        assert lists[lists["patch"] == patch]["person_id"].tolist() == expected
        assert lists[lists["patch"] == patch]["position"].tolist() == list(range(1, capacity + 1))
        # the list is in priority order, and the ranks agree with it
        assert mine.head(capacity)["priority"].is_monotonic_decreasing
    assert scores["on_list"].sum() == 19
    assert result.counts["listed"] == 19 and result.counts["capacity"] == 19


def test_every_listed_resident_has_reasons_and_officers_never_see_a_diagnosis(
        two_months: tuple[Workspace, dict, dict]) -> None:
    ws, _, _ = two_months
    lists = _lists(ws, NEXT)
    assert lists["reasons_analyst"].map(len).gt(0).all()
    officer = [r for rs in lists["reasons_officer"] for r in rs]
    assert officer and any(r.startswith("Health: ") for r in officer)
    # a condition's name is in some analyst's reasons, and never in an officer's
    analyst = " ".join(r for rs in lists["reasons_analyst"] for r in rs)
    assert "Long-term health conditions" in analyst or "admission" in analyst
    assert not any("admission" in r and not r.startswith("Health: ") for r in officer)


def test_person_level_files_carry_only_pseudonymised_ids_tenancy_and_uprn(
        two_months: tuple[Workspace, dict, dict], featured: Workspace) -> None:
    _, _, second = two_months
    folder = Path(second["outputs"]["lists"])
    summary = json.loads((folder / "summary.json").read_text())
    assert len(summary["files"]) == len(second["patches"])
    for patch, files in summary["files"].items():
        frame = pd.read_parquet(folder / files["parquet"])
        csv = pd.read_csv(folder / files["csv"], dtype={"person_id": str, "tenancy_ref": str})
        reasons = [c for c in frame.columns if c.startswith("reason_")]
        assert list(frame.columns) == FILE_COLUMNS + reasons
        assert list(csv.columns) == list(frame.columns)
        assert len(frame) == next(p["listed"] for p in second["patches"] if p["patch"] == patch)
        assert frame["person_id"].str.fullmatch(r"[0-9a-f]{32}").all()
    # nothing identifying from the landing zone is in any output of the month
    landing = pd.read_parquet(featured.landing / "gp_registrations.parquet")
    text = " ".join(p.read_text(errors="ignore") for p in folder.glob("*.csv")) + \
        (folder / "summary.json").read_text()
    for column in ("NHS_NUMBER", "SURNAME", "POSTCODE", "DATE_OF_BIRTH"):
        values = set(landing[column].dropna().astype(str)) - {""}
        assert values and not any(v in text for v in values if len(v) > 4), column


def test_reasons_for_everyone_are_the_listed_residents_reasons_for_all(
        two_months: tuple[Workspace, dict, dict], tmp_path: Path) -> None:
    base, _, _ = two_months
    ws = scoring_copy(base, tmp_path / "ws")
    listed_only = _lists(ws, NEXT)
    result = score(ws, NEXT, overwrite=True, reasons_for="everyone")
    everyone = _table(ws, "SELECT * FROM resident_reasons WHERE month = ?", NEXT)
    assert len(everyone) == result.counts["scored"] == everyone["person_id"].nunique()
    assert everyone["reasons_analyst"].map(len).gt(0).mean() > 0.9
    again = _lists(ws, NEXT)  # exact values either way: the same lists, the same reasons
    for column in ("person_id", "position", "reasons_officer", "reasons_analyst"):
        assert again[column].map(list if column.startswith("reasons") else str).tolist() == \
            listed_only[column].map(list if column.startswith("reasons") else str).tolist()
    mine = everyone.set_index("person_id").loc[again["person_id"], "reasons_analyst"]
    assert [list(r) for r in mine] == [list(r) for r in again["reasons_analyst"]]
    score(ws, NEXT, overwrite=True)  # listed only: the month's reasons for all are replaced
    assert _table(ws, "SELECT count(*) AS n FROM resident_reasons WHERE month = ?",
                  NEXT)["n"][0] == 0


# ---- hold-back and opt-outs ---------------------------------------------------------------


def test_recently_actioned_residents_are_held_back_and_others_are_not(
        two_months: tuple[Workspace, dict, dict], tmp_path: Path) -> None:
    base, _, _ = two_months
    ws = scoring_copy(base, tmp_path / "ws")
    before = _lists(ws, NEXT)
    first = before.groupby("patch").head(3)  # the top three of every patch
    recent, old, unreached = first.iloc[0::3], first.iloc[1::3], first.iloc[2::3]
    for person, patch in zip(recent["person_id"], recent["patch"], strict=True):
        record_action(ws, person_id=person, month=MONTH, patch=patch, action="visit_booked",
                      officer="o1", at=datetime(2025, 3, 10))
    for person, patch in zip(old["person_id"], old["patch"], strict=True):  # 120 days before
        record_action(ws, person_id=person, month=MONTH, patch=patch, action="contacted",
                      officer="o1", at=datetime(2024, 12, 1))
    for person, patch in zip(unreached["person_id"], unreached["patch"], strict=True):
        record_action(ws, person_id=person, month=MONTH, patch=patch,
                      action="unable_to_contact", officer="o1", at=datetime(2025, 3, 12))
    result = score(ws, NEXT, overwrite=True)
    after = _lists(ws, NEXT)
    assert not after["person_id"].isin(recent["person_id"]).any()
    assert old["person_id"].isin(after["person_id"]).all()
    assert unreached["person_id"].isin(after["person_id"]).all()
    assert after.groupby("patch").size().to_dict() == before.groupby("patch").size().to_dict()
    scores = _table(ws, "SELECT person_id, held_back_action FROM scores WHERE month = ?", NEXT)
    held = scores.dropna(subset=["held_back_action"])
    assert set(held["person_id"]) == set(recent["person_id"])
    assert set(held["held_back_action"]) == {"visit_booked"}
    assert result.counts["held_back"] in ("*", len(recent))
    leavers = _table(ws, "SELECT * FROM list_leavers WHERE month = ?", NEXT)
    gone = leavers[leavers["person_id"].isin(recent["person_id"])]
    if len(gone):  # those on February's list too left it because they were helped
        assert set(gone["why"]) == {"held_back"}


def test_opted_out_people_never_appear_and_leave_last_months_list_as_opted_out(
        two_months: tuple[Workspace, dict, dict], tmp_path: Path) -> None:
    base, _, _ = two_months
    ws = scoring_copy(base, tmp_path / "ws")
    february = _lists(ws, MONTH)
    leaving = february["person_id"].iloc[:2].tolist()
    with duckdb.connect(str(ws.warehouse)) as con:
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'national_data_opt_outs'").fetchall()]
        for person in leaving:
            row = {c: None for c in columns} | {"nhs_pseudo": person}
            con.execute(f"INSERT INTO national_data_opt_outs ({', '.join(columns)}) VALUES "
                        f"({', '.join('?' for _ in columns)})", list(row.values()))
    score(ws, NEXT, overwrite=True)
    scores = _table(ws, "SELECT person_id FROM scores WHERE month = ?", NEXT)
    assert not scores["person_id"].isin(leaving).any()
    assert not _lists(ws, NEXT)["person_id"].isin(leaving).any()
    leavers = _table(ws, "SELECT person_id, why FROM list_leavers WHERE month = ?", NEXT)
    assert leavers.set_index("person_id").loc[leaving, "why"].tolist() == ["opted_out"] * 2


# ---- movement ------------------------------------------------------------------------------


def test_movement_accounts_for_everyone_on_both_months_lists(
        two_months: tuple[Workspace, dict, dict]) -> None:
    ws, first, second = two_months
    february, march = _lists(ws, MONTH), _lists(ws, NEXT)
    assert set(february["movement"]) == {"new"}  # the first month: everyone is new
    assert first["left"] == {k: 0 for k in first["left"]}
    merged = march.merge(february[["person_id", "patch", "position"]],
                         on=["person_id", "patch"], how="left", suffixes=("", "_before"))
    expected = merged["position_before"].isna().map({True: "new", False: None})
    delta = merged["position_before"] - merged["position"]
    expected = expected.where(expected.notna(), delta.map(
        lambda d: "up" if d > 0 else "down" if d < 0 else "same"))
    assert merged["movement"].tolist() == expected.tolist()
    assert (merged["previous_position"].fillna(-1) ==
            merged["position_before"].fillna(-1)).all()
    leavers = _table(ws, "SELECT * FROM list_leavers WHERE month = ?", NEXT)
    assert set(leavers["person_id"]) == set(february["person_id"]) - set(march["person_id"])
    assert leavers["why"].isin(scoring.LEFT_WHY).all()
    for p in second["patches"]:
        assert p["new"] + p["up"] + p["down"] + p["same"] == p["listed"]
    assert second["counts"]["listed"] == len(march)


# ---- drift ---------------------------------------------------------------------------------


def test_a_shifted_month_raises_drift_alerts_and_is_not_trusted(
        two_months: tuple[Workspace, dict, dict], tmp_path: Path) -> None:
    base, _, usual = two_months
    ws = scoring_copy(base, tmp_path / "ws")
    with duckdb.connect(str(ws.warehouse)) as con:  # everyone 25 years older
        con.execute("UPDATE gp_registrations SET birth_year = birth_year - 25")
    shifted = score(ws, NEXT, overwrite=True).to_dict()
    alerted = {a["name"] for a in shifted["drift"]["alerts"]}
    assert {"age_years", "age_band"} <= alerted, shifted["drift"]["summary"]
    assert shifted["drift"]["trusted"] is False
    assert "age_years" in shifted["drift"]["summary"]
    assert "age_years" not in {a["name"] for a in usual["drift"]["alerts"]}
    drift = json.loads(Path(shifted["outputs"]["drift"]).read_text())
    before = json.loads(Path(usual["outputs"]["drift"]).read_text())
    assert drift["features"]["age_years"]["psi"] > 0.2 > before["features"]["age_years"]["psi"]
    assert drift["score"]["psi"] > 5 * before["score"]["psi"]  # older people, higher risks


# ---- the signature check -------------------------------------------------------------------


def test_a_feature_missing_from_the_catalogue_is_a_clear_error(
        two_months: tuple[Workspace, dict, dict], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    base, _, _ = two_months
    ws = scoring_copy(base, tmp_path / "ws")
    features = tmp_path / "features"
    shutil.copytree(default_catalogue_path(), features)
    housing = features / "housing.yaml"
    housing.write_text(housing.read_text().replace("name: epc_band", "name: epc_rating_band"))
    monkeypatch.setenv(CATALOGUE_ENV, str(features))
    with pytest.raises(DataError, match=r"'epc_band' is not in the catalogue \(removed or "
                                        r"renamed\)") as info:
        score(ws, NEXT, overwrite=True)
    assert "promote a version on the current catalogue" in str(info.value)
    assert _lists(ws, NEXT).equals(_lists(base, NEXT))  # nothing was replaced


def test_a_frame_that_does_not_match_the_signature_is_refused(champion: Workspace) -> None:
    from risk_model.tracking import load_pyfunc

    model = load_pyfunc(champion, f"models:/{MODEL}@champion")
    names = [i.name for i in model.metadata.get_input_schema().inputs]
    frame = pd.DataFrame({n: [1.0] for n in names})
    with pytest.raises(DataError, match="wrong type"):
        scoring._check_signature(model, frame, "the model")  # categories given as numbers
    with pytest.raises(DataError, match=f"missing {names[0]}"):
        scoring._check_signature(model, frame.drop(columns=names[0]), "the model")


# ---- idempotence and atomicity -------------------------------------------------------------


def _state(ws: Workspace, month: str) -> dict[str, object]:
    folder = ws.lists / month
    return {
        "lists": _lists(ws, month).drop(columns=[]).to_json(),
        "scores": _table(ws, "SELECT count(*) AS n FROM scores WHERE month = ?", month)["n"][0],
        "runs": _table(ws, "SELECT count(*) AS n FROM scoring_runs WHERE month = ?",
                       month)["n"][0],
        "files": {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))},
    }


def test_scoring_a_month_again_gives_the_same_lists_and_needs_overwrite(
        two_months: tuple[Workspace, dict, dict], tmp_path: Path) -> None:
    base, _, _ = two_months
    ws = scoring_copy(base, tmp_path / "ws")
    before = _state(ws, NEXT)
    with pytest.raises(OutputExistsError, match="2025-03 has been scored already"):
        score(ws, NEXT)
    assert _state(ws, NEXT) == before
    score(ws, NEXT, overwrite=True)
    after = _state(ws, NEXT)
    assert after == before  # same people, same order, same files, no duplicate rows
    assert after["runs"] == 1
    assert not list(ws.root.glob(".staging-*")) and not list(ws.lists.glob(".old-*"))


@pytest.mark.parametrize("fail_at", [1, 3, 4])
def test_a_failure_midway_leaves_the_previous_month_intact(
        two_months: tuple[Workspace, dict, dict], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, fail_at: int) -> None:
    base, _, _ = two_months
    ws = scoring_copy(base, tmp_path / "ws")
    before = _state(ws, NEXT)
    real, calls = scoring._insert, []

    def failing(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
        calls.append(table)
        if len(calls) == fail_at:
            raise OSError("disk full (injected)")
        real(con, table, frame)

    monkeypatch.setattr(scoring, "_insert", failing)
    with pytest.raises(OSError, match="injected"):
        score(ws, NEXT, overwrite=True)
    assert _state(ws, NEXT) == before
    assert not list(ws.root.glob(".staging-*")) and not list(ws.lists.glob(".old-*"))


def test_a_failure_after_the_files_are_placed_restores_the_previous_folder(
        two_months: tuple[Workspace, dict, dict], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    base, _, _ = two_months
    ws = scoring_copy(base, tmp_path / "ws")
    before = _state(ws, NEXT)
    real_connect = duckdb.connect

    class FailingCommit:
        def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
            self._con = con

        def execute(self, sql: str, *args: object) -> object:
            if sql == "COMMIT":
                raise duckdb.IOException("commit failed (injected)")
            return self._con.execute(sql, *args)

        def __getattr__(self, name: str) -> object:
            return getattr(self._con, name)

        def __enter__(self) -> FailingCommit:
            return self

        def __exit__(self, *exc: object) -> None:
            self._con.close()

    monkeypatch.setattr(scoring.duckdb, "connect",
                        lambda *a, **k: FailingCommit(real_connect(*a, **k)))
    with pytest.raises(duckdb.IOException, match="injected"):
        score(ws, NEXT, overwrite=True)
    monkeypatch.setattr(scoring.duckdb, "connect", real_connect)
    assert _state(ws, NEXT) == before


def test_a_first_month_that_fails_leaves_nothing_behind(
        champion: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _ws(champion, tmp_path)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("reasons failed (injected)")

    monkeypatch.setattr("risk_model.modelling.explain.reasons", broken)
    with pytest.raises(RuntimeError, match="injected"):
        score(ws, MONTH)
    assert not (ws.lists / MONTH).exists()
    assert _table(ws, "SELECT count(*) AS n FROM scoring_runs")["n"][0] == 0


def test_the_lists_reach_the_review_app_and_a_failed_publish_does_not_undo_the_month(
        champion: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from risk_model.review import lists as review_lists

    ws = _ws(champion, tmp_path)
    result = score(ws, MONTH)
    assert result.outputs["review"] == f"{result.counts['listed']} list entries published to " \
        "the review app"
    assert len(review_lists.list_entries(ws, MONTH)) == result.counts["listed"]

    def broken(*args: object) -> int:
        raise OSError("review database went away (injected)")

    monkeypatch.setattr(review_lists, "publish_month", broken)
    again = score(ws, MONTH, overwrite=True)
    assert again.outputs["review"].startswith("not published (OSError)")
    assert "risk-model review publish --month 2025-02" in again.outputs["review"]
    assert len(_lists(ws, MONTH)) == again.counts["listed"]  # the month itself is in place


def test_an_unreachable_review_database_stops_the_run_before_anything_changes(
        two_months: tuple[Workspace, dict, dict], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    base, _, _ = two_months
    ws = scoring_copy(base, tmp_path / "ws")
    before = _state(ws, NEXT)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(ConfigError, match="cannot open the review database") as info:
        score(ws, NEXT, overwrite=True)  # hold-backs cannot be read: no list without them
    assert "127.0.0.1:1" in str(info.value)
    assert _state(ws, NEXT) == before


# ---- bad requests and the command line -----------------------------------------------------


@pytest.mark.parametrize("month", ["2025-13", "202503", "March", ""])
def test_a_bad_month_names_the_format(champion: Workspace, month: str) -> None:
    with pytest.raises(ConfigError, match="--month must be a month as YYYY-MM"):
        score(champion, month)


def test_no_version_with_the_alias_says_how_to_get_one(champion: Workspace,
                                                       tmp_path: Path) -> None:
    ws = _ws(champion, tmp_path)
    with pytest.raises(ConfigError, match="holds the alias 'challenger'") as info:
        score(ws, MONTH, model=f"{MODEL}@challenger")
    assert "risk-model promote" in str(info.value)


def test_the_command_reports_counts_patches_drift_and_paths(champion: Workspace,
                                                            tmp_path: Path) -> None:
    ws = _ws(champion, tmp_path)
    result = CliRunner().invoke(app, ["score", "--month", MONTH, "--workspace", str(ws.root),
                                      "--json"])
    assert result.exit_code == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert out["ok"] and out["month"] == MONTH and out["version"] == "1"
    assert out["counts"]["listed"] == sum(p["listed"] for p in out["patches"]) > 0
    assert {"trusted", "alerts", "summary"} <= set(out["drift"])
    assert Path(out["outputs"]["lists"]).is_dir()
    from risk_model.tracking import runs

    logged = runs(ws, "scoring")
    assert [r["run_id"] for r in logged] == [out["mlflow_run_id"]]
    again = CliRunner().invoke(app, ["score", "--month", MONTH, "--workspace", str(ws.root),
                                     "--json"])
    assert again.exit_code == 1 and "--overwrite" in again.stderr
