"""Each person's homes over time: the right home for each date, tenancy over GP address."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from risk_model.linkage.residence import homes_on
from tests.linkage.conftest import Linked

pytestmark = pytest.mark.slow


def test_a_mover_is_at_the_right_home_on_each_date(linked_area: Linked):
    spells = linked_area.table("SELECT * FROM person_homes WHERE uprn IS NOT NULL")
    moved = spells.groupby("person_id")["uprn"].nunique()
    movers = spells[spells["person_id"].isin(moved[moved >= 2].index)]
    assert movers["person_id"].nunique() > 10
    checked = 0
    with duckdb.connect(str(linked_area.ws.warehouse), read_only=True) as con:
        for person, rows in list(movers.groupby("person_id"))[:20]:
            rows = rows.sort_values("from_date")
            first, last = rows.iloc[0], rows.iloc[-1]
            if first["uprn"] == last["uprn"] or pd.isna(first["to_date"]):
                continue
            before = first["from_date"] + (first["to_date"] - first["from_date"]) / 2
            after = last["from_date"] + pd.Timedelta(days=1)
            at = {when: homes_on(con, when.date()).set_index("person_id")
                  for when in (before, after)}
            if (rows["from_date"] < before).sum() > 1 or (rows["from_date"] > after).any():
                continue  # overlapping spells: covered by the priority test
            assert at[before].loc[person, "uprn"] == first["uprn"]
            assert at[after].loc[person, "uprn"] == last["uprn"]
            checked += 1
    assert checked >= 5


def test_movers_match_the_truth(linked_area: Linked):
    """On the truth's movers, the home on a date is the true home on that date."""
    truth = pd.read_parquet(linked_area.ws.truth / "residence.parquet")
    ident = pd.read_parquet(linked_area.ws.truth / "record_identity.parquet")
    gp = ident[ident["source"] == "gp_registrations"].set_index("row_number")["person_id"]
    persons = linked_area.table(
        "SELECT DISTINCT nhs_pseudo, source_row FROM gp_registrations WHERE nhs_pseudo IS NOT "
        "NULL")
    persons["person"] = persons["source_row"].map(gp)
    pseudo_of = persons.drop_duplicates("person").set_index("person")["nhs_pseudo"]
    movers = truth[truth["person_id"].isin(
        truth.groupby("person_id").size().loc[lambda s: s >= 2].index)]
    when = movers["from_date"].max() + pd.Timedelta(days=200)  # past any address lag
    now = movers[(movers["from_date"] <= when)
                 & (movers["to_date"].isna() | (movers["to_date"] > when))]
    now = now[now["person_id"].isin(pseudo_of.index)]
    with duckdb.connect(str(linked_area.ws.warehouse), read_only=True) as con:
        homes = homes_on(con, when.date()).set_index("person_id")
    found = now.assign(pseudo=now["person_id"].map(pseudo_of))
    found = found[found["pseudo"].isin(homes.index)]
    assert len(found) > 50
    agree = (homes.loc[found["pseudo"], "uprn"].to_numpy() == found["uprn"].to_numpy()).mean()
    assert agree >= 0.95


def test_tenancy_wins_over_gp_address(linked_area: Linked):
    spells = linked_area.table("SELECT * FROM person_homes")
    tenancy = spells[(spells["source"] == "tenancy") & spells["to_date"].isna()]
    assert len(tenancy) > 50
    when = spells["from_date"].max() + pd.Timedelta(days=1)
    with duckdb.connect(str(linked_area.ws.warehouse), read_only=True) as con:
        homes = homes_on(con, when.date()).set_index("person_id")
    current = tenancy[tenancy["person_id"].isin(homes.index)].drop_duplicates("person_id")
    got = homes.loc[current["person_id"]]
    assert (got["source"] == "tenancy").all()
    assert (got["uprn"].to_numpy() == current["uprn"].to_numpy()).all()
    assert got["lsoa_code"].notna().all()
