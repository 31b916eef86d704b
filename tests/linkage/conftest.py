"""Fixtures for linkage tests: one generated area with planted hard cases, ingested and linked.

The area has 10,000 residents over 24 months (about 1,900 housing residents), enough that one
missed link moves no ethnic group's recall by more than a point. Two records are planted in its
housing register before ingest: a resident whose forename has a typo and whose date of birth
has day and month swapped (and no NHS number), and a stranger who shares a registered person's
forename, surname, sex and birth year but lives elsewhere and was born on another day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from risk_model.config import Workspace
from risk_model.ingest import KEY_ENV, PseudonymKey, ingest, load_key
from risk_model.linkage.run import LinkResult, link
from tests.conftest import make_run
from tests.ingest.conftest import read_landing, write_landing

TEST_KEY = "linkage-test-key-" + "0123456789abcdef" * 3
INGEST_DAY = date(2026, 11, 24)


@dataclass
class Linked:
    """An ingested and linked workspace, with ways to read it."""

    ws: Workspace
    result: LinkResult
    planted: dict[str, Any] = field(default_factory=dict)

    def table(self, sql: str) -> pd.DataFrame:
        with duckdb.connect(str(self.ws.warehouse), read_only=True) as con:
            return con.execute(sql).df()


@pytest.fixture(scope="session")
def link_key() -> PseudonymKey:
    return load_key(environ={KEY_ENV: TEST_KEY})


@pytest.fixture(scope="session")
def linked_area(tmp_path_factory: pytest.TempPathFactory, link_key: PseudonymKey) -> Linked:
    """The area, with its planted records, ingested and linked."""
    run = make_run(tmp_path_factory.mktemp("linkarea"), residents=10_000, months=24, seed=3)
    planted = plant_hard_cases(run.ws)
    ingest(run.ws, key=link_key, today=INGEST_DAY)
    return Linked(run.ws, link(run.ws), planted)


def plant_hard_cases(ws: Workspace) -> dict[str, Any]:
    """Plant the typo'd resident and the stranger; return their landing rows and NHS numbers."""
    res = read_landing(ws, "housing_residents.csv")
    gp = read_landing(ws, "gp_registrations.csv")
    opted = set(read_landing(ws, "national_data_opt_outs.csv")["NHS_NUMBER"])
    errors = pd.read_parquet(ws.truth / "record_errors.parquet")
    spoiled = set(errors.loc[errors["source"] == "housing_residents", "row_number"] - 1)
    registered = set(gp["NHS_NUMBER"]) - opted

    dob = pd.to_datetime(res["DATE_OF_BIRTH"])
    ok = (res["NHS_NUMBER"].isin(registered) & (dob.dt.day <= 12) & (dob.dt.day != dob.dt.month)
          & ~res.index.isin(spoiled) & (res["FORENAME"].str.len() >= 4))
    i = int(np.flatnonzero(ok)[0])
    nhs = res.loc[i, "NHS_NUMBER"]
    name = res.loc[i, "FORENAME"]
    res.loc[i, "FORENAME"] = name[:-1] + ("x" if name[-1] != "x" else "q")
    res.loc[i, "DATE_OF_BIRTH"] = dob[i].strftime("%Y-%d-%m")
    res.loc[i, "NHS_NUMBER"] = None

    adults = gp[(pd.to_datetime(gp["DATE_OF_BIRTH"]).dt.year < 1980)
                & gp["NHS_NUMBER"].isin(registered) & ~gp["NHS_NUMBER"].eq(nhs)]
    person = adults.iloc[len(adults) // 2]
    ident = pd.read_parquet(ws.truth / "record_identity.parquet")
    gp_person = ident[ident["source"] == "gp_registrations"].set_index("row_number")["person_id"]
    residence = pd.read_parquet(ws.truth / "residence.parquet")
    true_id = gp_person[int(person.name) + 1]
    homes = set(residence.loc[residence["person_id"] == true_id, "uprn"].astype(str))
    tenancies = read_landing(ws, "tenancies.csv").set_index("TENANCY_REF")["UPRN"]
    host = res[~res["TENANCY_REF"].map(tenancies).isin(homes)
               & (res["SURNAME"] != person["SURNAME"])].iloc[0].copy()
    born = pd.Timestamp(person["DATE_OF_BIRTH"])
    host["RESIDENT_ID"] = "R99999999"
    host["FORENAME"], host["SURNAME"] = person["FORENAME"], person["SURNAME"]
    host["DATE_OF_BIRTH"] = f"{born.year}-{born.month % 12 + 1:02d}-{27 if born.day != 27 else 26}"
    host["SEX"] = "Male" if person["SEX"] == "M" else "Female"
    host["NHS_NUMBER"] = None
    res = pd.concat([res, host.to_frame().T], ignore_index=True)
    write_landing(ws, "housing_residents.csv", res)
    return {"typo_row": i + 1, "typo_nhs": nhs, "stranger_row": len(res),
            "stranger_nhs": person["NHS_NUMBER"]}
