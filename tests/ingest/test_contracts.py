"""The contracts themselves: their documentation, their order and their rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest

from risk_model.ingest.contracts import (
    CONTRACTS,
    INGEST_ORDER,
    RULE_HINTS,
    contract_schema,
    source_of_file,
)
from risk_model.ingest.documentation import contracts_markdown

DOC = Path(__file__).parents[2] / "docs" / "data-contracts.md"


def test_documentation_is_generated_from_the_contracts():
    assert DOC.read_text() == contracts_markdown(), (
        "docs/data-contracts.md is out of date: python -m risk_model.ingest > "
        "docs/data-contracts.md")


def test_every_rule_is_documented_with_its_hint():
    doc = DOC.read_text()
    for rule, hint in RULE_HINTS.items():
        assert f"| `{rule}` |" in doc
        assert hint in doc


def test_parents_are_checked_before_the_sources_that_refer_to_them():
    position = {s: i for i, s in enumerate(INGEST_ORDER)}
    assert set(position) == set(CONTRACTS)
    for contract in CONTRACTS.values():
        for ref in contract.references:
            assert position[ref.source] < position[contract.source]
            assert ref.target in CONTRACTS[ref.source].key


@pytest.mark.parametrize("source", sorted(CONTRACTS))
def test_each_contract_builds_a_schema_whose_key_and_dates_are_its_own(source: str):
    contract = CONTRACTS[source]
    schema = contract_schema(contract, today=date(2026, 1, 1))
    assert set(schema.columns) == set(contract.columns)
    for earlier, later in contract.date_order:
        assert contract.field(earlier).kind == contract.field(later).kind == "date"
    for key in contract.key:
        assert not contract.field(key).nullable


def test_identifiers_never_cross_the_boundary_in_the_clear():
    for contract in CONTRACTS.values():
        for f in contract.fields:
            if "NHS_NUMBER" in f.name or f.name in ("FORENAME", "SURNAME", "DOB",
                                                    "DATE_OF_BIRTH", "POSTCODE", "HOMEADD",
                                                    "POSTCODE_LOCATOR", "description"):
                assert f.identifying, f"{contract.source}.{f.name}"
            if f.name.startswith("ADDRESS") and f.kind == "text":
                assert f.handling == "drop", f"{contract.source}.{f.name}"


@pytest.mark.parametrize(("name", "source"), [
    ("hes_apc.csv", "hes_apc"), ("hes_apc__2025-04.parquet", "hes_apc"),
    ("national_data_opt_outs__march.csv", "national_data_opt_outs"), ("notes.txt", "notes"),
])
def test_source_of_file(name: str, source: str):
    assert source_of_file(name) == source


def test_nhs_number_rule_quarantines_exactly_the_invalid_numbers():
    contract = CONTRACTS["national_data_opt_outs"]
    values = ["9990000018", "999 000 0018", "9990000019", "1111111111", "99900000",
              "99900000AB"]
    frame = pd.DataFrame({"NHS_NUMBER": pd.Series(values, dtype="string")})
    schema = contract_schema(contract, today=date(2026, 1, 1))
    with pytest.raises(pa.errors.SchemaErrors) as info:
        schema.validate(frame, lazy=True)
    cases = info.value.failure_cases
    bad = sorted(cases.loc[cases["check"] == "nhs_number_check_digit", "index"].astype(int))
    assert bad == [2, 3, 4, 5]
