"""No identifier in the clear outside the landing zone.

After an ingest that met bad rows (so quarantine and reports have something to say) and free
text carrying personal details, every table in the warehouse and every file the project wrote
outside ``landing/`` is scanned for NHS numbers (any 10-digit run, spaced 3-3-4 or not, that
passes the check), for the names and e-mail addresses of the people in the landing zone, and
for their dates of birth, full postcodes and street addresses. After ingest the workspace is
linked and its features built too, so the linkage and feature tables, their reports and the
MLflow store are scanned. That includes
``truth/``, the generator's ground truth: it joins to landing rows by row number, never by an
identifier.
"""

from __future__ import annotations

import re
import shutil
from datetime import date

import duckdb
import pandas as pd
import pytest

from risk_model.config import Workspace
from risk_model.features.run import build_features
from risk_model.identifiers import is_valid_nhs_number
from risk_model.ingest import PseudonymKey, ingest
from risk_model.ingest.contracts import CONTRACTS
from risk_model.linkage.run import link
from tests.conftest import SynthRun
from tests.ingest.conftest import read_landing, write_landing

# a 10-digit run that is not part of a longer word (pseudonyms are hex: their digits are not)
# nor the decimals of a number (the truth's probabilities)
TEN_DIGITS = re.compile(r"(?<![0-9A-Za-z.])\d{3}[ -]?\d{3}[ -]?\d{4}(?![0-9A-Za-z])")


@pytest.fixture(scope="module")
def scanned(small_csv: SynthRun, key: PseudonymKey, tmp_path_factory: pytest.TempPathFactory,
            ) -> tuple[Workspace, dict[str, str]]:
    """An ingested workspace that met bad rows and identifiers in free text; its outputs."""
    root = tmp_path_factory.mktemp("leaks") / "ws"
    shutil.copytree(small_csv.ws.landing, root / "landing")
    shutil.copytree(small_csv.ws.truth, root / "truth")
    ws = Workspace.at(root)
    gp = read_landing(ws, "gp_registrations.csv")
    res = read_landing(ws, "housing_residents.csv")
    res.loc[0, "NHS_NUMBER"] = "9990000019"  # bad check digit: quarantined
    res.loc[1, "DATE_OF_BIRTH"] = "1970-13-45"
    res.loc[2, "FORENAME"] = gp.loc[0, "FORENAME"]
    res.loc[2, "SEX"] = "Unknown"  # quarantined row that carries a name
    write_landing(ws, "housing_residents.csv", res)
    reports = read_landing(ws, "damp_hazard_reports.csv")
    reports.loc[0, "description"] = (
        f"Spoke to {gp.loc[1, 'FORENAME']} {gp.loc[1, 'SURNAME']}, call back on 07700 900123, "
        f"NHS no {gp.loc[1, 'NHS_NUMBER'][:3]} {gp.loc[1, 'NHS_NUMBER'][3:6]} "
        f"{gp.loc[1, 'NHS_NUMBER'][6:]}, email {gp.loc[1, 'FORENAME'].lower()}."
        f"{gp.loc[1, 'SURNAME'].lower()}@example.com")
    write_landing(ws, "damp_hazard_reports.csv", reports)
    ingest(ws, key=key, today=date(2026, 11, 24))
    link(ws)  # the linkage tables, its report and the MLflow store are outputs too
    build_features(ws, [date(2022, 3, 31)])  # snapshots, labels, reports, dictionary

    outputs: dict[str, str] = {}
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
            frame = con.execute(f"SELECT * FROM {table}").df()
            outputs[f"warehouse:{table}"] = frame.astype(str).to_csv(index=False)
    for path in sorted(ws.root.rglob("*")):
        top = path.relative_to(ws.root).parts[0]
        if not path.is_file() or top == "landing" or path == ws.warehouse:
            continue
        if path.suffix == ".parquet":
            text = pd.read_parquet(path).astype(str).to_csv(index=False)
        else:
            text = path.read_text(errors="replace")
        outputs[str(path.relative_to(ws.root))] = text
    return ws, outputs


def _landing_values(ws: Workspace, columns: set[str]) -> set[str]:
    values: set[str] = set()
    for contract in CONTRACTS.values():
        path = ws.landing / f"{contract.source}.csv"
        wanted = [c for c in contract.columns if c in columns]
        if wanted and path.exists():
            frame = read_landing(ws, path.name)
            for column in wanted:
                values.update(frame[column].dropna())
    return values


def test_outputs_are_all_scanned(scanned: tuple[Workspace, dict[str, str]]):
    _, outputs = scanned
    names = set(outputs)
    assert {f"warehouse:{s}" for s in CONTRACTS} <= names
    assert any(n.startswith("quarantine/") for n in names)
    assert any(n.startswith("reports/") and n.endswith(".html") for n in names)
    assert "truth/record_identity.parquet" in names
    assert {"warehouse:person_links", "warehouse:link_review_queue",
            "warehouse:person_homes", "reports/linkage.html", "mlflow/mlflow.db",
            "warehouse:feature_snapshots", "warehouse:outcome_labels",
            "reports/data_dictionary.html", "reports/features.json"} <= names
    assert any(n.startswith("mlflow/artifacts/") and n.endswith("linkage.html") for n in names)


def test_no_nhs_numbers(scanned: tuple[Workspace, dict[str, str]]):
    _, outputs = scanned
    for name, text in outputs.items():
        found = [m for m in TEN_DIGITS.findall(text) if is_valid_nhs_number(m)]
        assert not found, f"{name} holds {len(found)} NHS numbers"


def test_no_names_or_emails(scanned: tuple[Workspace, dict[str, str]]):
    ws, outputs = scanned
    people = pd.concat([read_landing(ws, "gp_registrations.csv")[["FORENAME", "SURNAME"]],
                        read_landing(ws, "housing_residents.csv")[["FORENAME", "SURNAME"]]])
    people = people.dropna().drop_duplicates()
    full = {f"{f} {s}" for f, s in zip(people["FORENAME"], people["SURNAME"], strict=True)}
    mails = {f"{f}.{s}".lower() for f, s in zip(people["FORENAME"], people["SURNAME"],
                                                 strict=True)}
    titled = {f"Mrs {s}" for s in people["SURNAME"]}
    for name, text in outputs.items():
        for needle in (full, mails, titled):
            hits = [n for n in needle if n in text]
            assert not hits, f"{name} holds {len(hits)} names"


def test_no_dates_of_birth(scanned: tuple[Workspace, dict[str, str]]):
    ws, outputs = scanned
    births = _landing_values(ws, {"DATE_OF_BIRTH", "DOB"})
    dated = {f.name for c in CONTRACTS.values() for f in c.fields
             if f.kind == "date" and f.handling != "dob"}
    # a birthday that is also some other event's date cannot tell a leak from that event
    distinctive = births - _landing_values(ws, dated)
    assert len(distinctive) > 100
    for name, text in outputs.items():
        hits = [d for d in distinctive if d in text]
        assert not hits, f"{name} holds {len(hits)} dates of birth"


def test_no_postcodes_or_street_addresses(scanned: tuple[Workspace, dict[str, str]]):
    ws, outputs = scanned
    postcodes = _landing_values(ws, {"POSTCODE", "POSTCODE_LOCATOR"})
    postcodes |= {p.replace(" ", "") for p in postcodes}
    gp = read_landing(ws, "gp_registrations.csv")
    streets = {a for a in gp["ADDRESS_LINE_1"].dropna() if re.match(r"\d+[A-Za-z]? \w{4,}", a)}
    assert len(postcodes) > 20 and len(streets) > 50  # something to find
    for name, text in outputs.items():
        hits = [p for p in postcodes if p in text]
        assert not hits, f"{name} holds {len(hits)} full postcodes"
        hits = [a for a in streets if a in text]
        assert not hits, f"{name} holds {len(hits)} street addresses"
