"""Outcome labels: events in the window, and people who died or left are not "no admission"."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from risk_model.config import Workspace
from risk_model.errors import ConfigError
from risk_model.features import build_snapshot, load_catalogue
from risk_model.features.outcomes import label_sql
from risk_model.modelling import ModelSpec, load_specs

AS_OF = date(2022, 9, 30)
END = pd.Timestamp("2023-09-30")


@pytest.fixture(scope="module")
def labelled(linked_small: Workspace) -> dict[str, pd.DataFrame]:
    catalogue, specs = load_catalogue(), load_specs()
    with duckdb.connect(str(linked_small.warehouse), read_only=True) as con:
        build_snapshot(con, catalogue, AS_OF)
        out = {name: con.execute(label_sql(spec, catalogue, AS_OF)).df()
               for name, spec in specs.items()}
        out["snapshot"] = con.table("snapshot").df()
        out["hes"] = con.execute("SELECT * FROM hes_apc WHERE nhs_pseudo IS NOT NULL").df()
        out["deaths"] = con.execute("SELECT * FROM deaths").df()
        out["gp"] = con.execute("SELECT nhs_pseudo, deregistration_date FROM "
                                "gp_registrations").df()
    return out


def _first_in_window(hes: pd.DataFrame, mask: pd.Series) -> pd.Series:
    em = hes[(hes["epiorder"] == 1) & hes["admimeth"].str.startswith("2") & mask
             & (hes["admidate"] >= pd.Timestamp(AS_OF)) & (hes["admidate"] < END)]
    return em.groupby("nhs_pseudo")["admidate"].min()


def test_labels_match_an_independent_count(labelled: dict[str, pd.DataFrame]) -> None:
    hes, labels = labelled["hes"], labelled["emergency_admission_12m"]
    first = _first_in_window(hes, pd.Series(True, index=hes.index))
    deaths = labelled["deaths"].groupby("nhs_pseudo")["date_of_death"].min()
    gp = labelled["gp"]
    open_reg = gp.groupby("nhs_pseudo")["deregistration_date"].apply(lambda s: s.isna().any())
    left = gp.groupby("nhs_pseudo")["deregistration_date"].max().where(~open_reg)

    expected = []
    for person in labels["person_id"]:
        if person in first.index:
            expected.append("event")
        elif person in deaths.index and deaths[person] < END:
            expected.append("died")
        elif pd.notna(left.get(person)) and left[person] < END:
            expected.append("moved_away")
        else:
            expected.append("no_event")
    assert labels["status"].tolist() == expected
    counts = labels["status"].value_counts()
    assert counts["event"] > 50 and counts["died"] > 5 and counts["moved_away"] > 20
    # censored people have no label: leaving is not "no admission"
    censored = labels["status"].isin(["died", "moved_away"])
    assert labels.loc[censored, "label"].isna().all()
    assert labels.loc[labels["status"] == "event", "label"].eq(True).all()
    assert labels.loc[labels["status"] == "no_event", "label"].eq(False).all()


def test_cohorts_and_causes(labelled: dict[str, pd.DataFrame]) -> None:
    snap = labelled["snapshot"].set_index("person_id")
    falls = labelled["fall_admission_12m_65plus"]
    assert (snap.loc[falls["person_id"], "age_years"] >= 65).all()
    assert len(falls) == int((snap["age_years"] >= 65).sum())
    everyone = labelled["emergency_admission_12m"]
    assert set(everyone["person_id"]) == set(snap.index)

    hes = labelled["hes"]
    resp = _first_in_window(hes, hes["diag_4_01"].str.startswith("J").fillna(False))
    labels = labelled["respiratory_admission_12m"].set_index("person_id")
    assert set(labels.index[labels["status"] == "event"]) == set(resp.index) & set(labels.index)
    days = (resp - pd.Timestamp(AS_OF)).dt.days
    got = labels.loc[days.index.intersection(labels.index), "days_to_event"]
    assert (got == days[got.index]).all()


def test_a_window_past_the_data_is_incomplete_follow_up(linked_small: Workspace) -> None:
    catalogue, spec = load_catalogue(), load_specs()["emergency_admission_12m"]
    with duckdb.connect(str(linked_small.warehouse), read_only=True) as con:
        build_snapshot(con, catalogue, date(2023, 9, 30))
        labels = con.execute(label_sql(spec, catalogue, date(2023, 9, 30))).df()
    status = labels["status"].value_counts()
    assert status["follow_up_incomplete"] > 0.8 * len(labels)
    assert labels.loc[labels["status"] == "follow_up_incomplete", "label"].isna().all()


def test_an_outcome_on_a_view_that_is_not_a_dated_person_view_is_refused() -> None:
    spec = ModelSpec.model_validate({
        "name": "x", "title": "x", "description": "x", "cohort": {"description": "all"},
        "outcome": {"label": "x", "view": "epc", "window": "12 months"}})
    with pytest.raises(ConfigError, match="must be a dated person view"):
        label_sql(spec, load_catalogue(), AS_OF)
