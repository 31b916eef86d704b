"""The synthetic area reproduces the reference figures (shared/reference/uk-data-facts.md).

The figures are measured by :mod:`risk_model.synth.realism` (the same code that produces the
table in docs/synthetic-data.md); each reference states its target, tolerance and source.
"""

from __future__ import annotations

import pytest

from risk_model.synth.realism import AGE_BAND_LABELS, REFERENCES, Realism
from tests.conftest import SynthRun


@pytest.fixture(scope="module")
def realism(area: SynthRun) -> Realism:
    return Realism(area.ws.root)


@pytest.fixture(scope="module")
def figures(realism: Realism) -> dict[str, float]:
    return realism.all()


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_reference_figure(figures: dict[str, float], name: str):
    ref = REFERENCES[name]
    value = figures[name]
    if isinstance(ref.target, tuple):
        lo, hi = ref.target
        assert lo <= value <= hi, f"{name} = {value:.4g}, expected {lo}-{hi} ({ref.source})"
    else:
        assert value == pytest.approx(ref.target, abs=ref.tolerance), ref.source


def test_population_is_the_requested_size(figures: dict[str, float]):
    assert figures["residents_at_start"] == 20_000
    assert figures["max_age"] < 110


def test_damp_stays_near_its_prevalence_over_the_period(figures: dict[str, float]):
    for tenure in ("owner_occupied", "private_rented", "local_authority", "housing_association"):
        start = REFERENCES[f"damp_{tenure}"].target
        assert figures[f"damp_at_end_{tenure}"] == pytest.approx(start, abs=0.035), tenure


def test_epc_register_is_partial_and_uses_its_sentinel(realism: Realism,
                                                       figures: dict[str, float]):
    assert 0.5 < figures["epc_coverage_of_homes"] < 0.8
    assert (realism.landing("epc_certificates").WALLS_DESCRIPTION == "NO DATA!").any()


def test_most_deprived_quintile_has_the_highest_rate_in_every_band(realism: Realism):
    e = realism.emergency_rates
    rate = e.admissions / e.person_years
    for band in AGE_BAND_LABELS:
        assert rate[(band, 1)] > rate[(band, 5)], band


def test_opt_out_is_higher_in_women_than_men(figures: dict[str, float]):
    assert figures["opt_out_women_20_69"] > figures["opt_out_men_20_69"]


def test_crude_death_rate_holds_every_year(figures: dict[str, float]):
    # England about 9.5 deaths per 1,000 a year; the frailest dying first must not halve it
    for year in range(1, 5):
        assert figures[f"deaths_per_1000_year_{year}"] == pytest.approx(9.5, abs=2.0), year
