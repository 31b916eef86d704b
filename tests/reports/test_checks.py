"""The disclosure checks themselves: each catches what it is for, planted in a real report.

Without these, a checker that found nothing would pass every report; here each kind of
identifier and each way a small count can be shown is planted and must be reported.
"""

from __future__ import annotations

import json
import re

import pytest

from risk_model.disclosure import SuppressionRule
from tests.reports.checks import (
    Identifiers,
    allowed,
    count_problems,
    design_dates,
    identifier_problems,
    json_count_problems,
    load_json,
)
from tests.reports.conftest import STRICT, ReportedArea

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def identifiers(reported: ReportedArea) -> Identifiers:
    return Identifiers.of(reported.landing, reported.ws.warehouse)


def test_every_kind_of_identifier_is_caught(reported: ReportedArea, identifiers: Identifiers):
    page = (reported.folder / "model-card.html").read_text(encoding="utf-8")
    allowed = design_dates(reported.folder)
    assert identifier_problems(page, identifiers, allowed_dates=allowed) == []
    nhs = sorted(identifiers.nhs_numbers)[0]
    name = sorted(identifiers.names)[0]
    dob = sorted(identifiers.dates_of_birth - allowed)[0]
    postcode = sorted(p for p in identifiers.postcodes if " " in p)[0]
    address = sorted(identifiers.addresses)[0]
    pseudonym = sorted(identifiers.pseudonyms)[0]
    record = sorted(identifiers.local_ids)[0]
    y, m, d = dob.split("-")
    planted = page.replace("</main>", (
        f"<p>{nhs[:3]} {nhs[3:6]} {nhs[6:]}</p><td>{name.upper()}</td><p>born {d}/{m}/{y}</p>"
        f"<p>{postcode.replace(' ', '').lower()}</p><p>{address}</p><code>{pseudonym}</code>"
        f"<p>ref {record}.</p></main>"))
    found = " | ".join(identifier_problems(planted, identifiers, allowed_dates=allowed))
    for kind, value in [("NHS number", nhs), ("name", name), ("date of birth", dob),
                        ("postcode", postcode), ("address", address),
                        ("pseudonym", pseudonym), ("record id", record)]:
        assert f"{kind} {value}" in found


def test_every_way_of_showing_a_small_count_is_caught(reported: ReportedArea):
    page = (reported.folder / "model-card.html").read_text(encoding="utf-8")
    problems, checked = count_problems(page, STRICT)
    assert problems == [] and checked > 50
    marked = re.sub(r'(<span class="count">)[^<]*(</span>)', r"\g<1>3\g<2>", page, count=1)
    assert count_problems(marked, STRICT)[0] == ["marked count '3'"]
    table = page.replace("</main>", "<table><thead><tr><th>Group</th><th>People</th></tr>"
                         "</thead><tbody><tr><td>a</td><td>1,234</td></tr></tbody></table></main>")
    assert count_problems(table, STRICT)[0] == ["People: '1,234'"]
    text = page.replace("</main>", "<p>Of these, 7 residents were linked.</p></main>")
    assert count_problems(text, STRICT)[0] == ["'7 residents' in the text"]
    facts = load_json(reported.folder / "facts.json")
    facts["performance"]["lightgbm"]["events"] = 4
    assert json_count_problems(json.loads(json.dumps(facts)), STRICT) == [
        ".performance.lightgbm.events = 4"]


@pytest.mark.parametrize(("shown", "ok"), [("*", True), ("0", True), ("10", True),
                                           ("1,230", True), ("7", False), ("12", False),
                                           ("5", False)])
def test_a_shown_count_follows_the_rule(shown: str, ok: bool):
    assert allowed(shown, SuppressionRule()) is ok
