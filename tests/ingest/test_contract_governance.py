"""Governance text kept with the source definitions: who holds each source, and why it is used."""

from __future__ import annotations

import pytest

from risk_model.ingest.contracts import CONTRACTS


@pytest.mark.parametrize("source", list(CONTRACTS))
def test_every_contract_says_how_often_why_and_on_what_legal_basis(source):
    contract = CONTRACTS[source]
    for name in ("owner", "frequency", "purpose", "legal_basis"):
        assert getattr(contract, name).strip(), f"{source}: give the contract a {name}"


@pytest.mark.parametrize("source", [s for s, c in CONTRACTS.items() if c.health])
def test_health_sources_record_an_article_9_condition_and_the_opt_out(source):
    basis = CONTRACTS[source].legal_basis
    assert "Article 9" in basis, f"{source}: health data needs its Article 9 condition"
    assert "opt-out" in basis, f"{source}: say that the national data opt-out is applied"


def test_there_are_health_sources_to_check():
    assert sum(c.health for c in CONTRACTS.values()) >= 4
