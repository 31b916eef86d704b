"""The reports in a browser: every page opens from disk in Chromium, offline, with its sections.

Debian's Chromium through Playwright (:mod:`tests.chromium`). Any request that is not for a
local file is refused and counted, so a page that needs the network fails; so does a console
error. Each page's key sections must be visible, every link between the reports must open a
page, and the text Chromium renders must hold no identifier of the synthetic area.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from risk_model.reports.pages import PAGES
from tests.reports.checks import Identifiers, design_dates, identifier_problems, load_json
from tests.reports.conftest import ReportedArea

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: Per page: headings (or text) that must be visible.
KEY_SECTIONS = {
    "index.html": ["reports for version"],
    "model-card.html": ["Summary", "Purpose and intended users", "Data sources and dates",
                        "Cohort", "Outcome", "Features", "Development and validation",
                        "Performance on the test date, with 95% intervals", "Calibration",
                        "Fairness", "Limitations", "Monitoring and when to retrain"],
    "transparency-record.html": ["Tier 1: summary for the public", "Tier 2: detailed record",
                                 "1. Owner and responsibility", "2. Description and rationale",
                                 "3. Decision-making process and human oversight",
                                 "5. Data specification",
                                 "6. Risks, mitigations and impact assessments"],
    "explainer.html": ["What this is", "What data we use", "Who sees what",
                       "How you may be offered help", "How to opt out", "How to ask a question"],
    "data-dictionary.html": ["Data dictionary: the feature catalogue", "Sources"],
    "data-quality.html": ["Sources", "Addresses matched to homes",
                          "Housing residents linked to health records"],
    "fairness-audit.html": ["Gates", "Data availability"],
}


def _offline(page: Page) -> tuple[list[str], list[str]]:
    """Refuse every request that is not a local file; collect them and console errors."""
    outside: list[str] = []
    errors: list[str] = []

    def route(r: Route) -> None:
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return outside, errors


def test_every_report_opens_offline_with_its_sections(page: Page, reported: ReportedArea):
    outside, errors = _offline(page)
    assert set(KEY_SECTIONS) == {"index.html", *(p["file"] for p in PAGES)}
    for name, sections in KEY_SECTIONS.items():
        response = page.goto((reported.folder / name).as_uri())
        assert response is not None and response.ok, name
        assert page.title().strip(), name
        for section in sections:
            locator = page.get_by_role("heading", name=section, exact=False).first
            assert locator.is_visible(), f"{name}: no visible heading {section!r}"
    assert outside == [] and errors == []


def test_the_index_links_every_report(page: Page, reported: ReportedArea):
    outside, errors = _offline(page)
    page.goto((reported.folder / "index.html").as_uri())
    titles = {}
    for p in PAGES:
        link = page.locator("#reports").get_by_role("link", name=p["title"], exact=True)
        assert link.count() == 1, p["title"]
        link.click()
        page.wait_for_load_state()
        assert page.url.endswith("/" + p["file"])
        titles[p["file"]] = page.title()
        page.go_back()
    assert all(titles.values())
    for extra in ("facts.json", "transparency-record.json", "data-dictionary.md"):
        assert page.locator(f'a[href="{extra}"]').count() == 1
    assert outside == [] and errors == []


def test_the_calibration_chart_and_the_flags_render(page: Page, reported: ReportedArea):
    page.goto((reported.folder / "model-card.html").as_uri())
    chart = page.locator("#calibration-chart")
    assert chart.is_visible()
    assert chart.locator("circle").count() >= 5
    box = chart.bounding_box()
    assert box is not None and box["width"] > 200
    page.goto((reported.folder / "transparency-record.html").as_uri())
    flagged = page.locator("#to-be-completed li")
    facts = load_json(reported.folder / "facts.json")
    assert flagged.count() == len(facts["owner"]["to_be_completed"]) > 0
    assert page.locator("mark.todo").first.is_visible()


def test_the_rendered_text_holds_no_identifier(page: Page, reported: ReportedArea):
    ids = Identifiers.of(reported.landing, reported.ws.warehouse)
    allowed = design_dates(reported.folder)
    for name in KEY_SECTIONS:
        page.goto((reported.folder / name).as_uri())
        text = page.inner_text("body")
        assert len(text) > 200, name
        assert identifier_problems(text, ids, allowed_dates=allowed) == [], name


def test_pages_fit_a_phone_screen(page: Page, reported: ReportedArea):
    page.set_viewport_size({"width": 390, "height": 844})
    for name in ("explainer.html", "index.html"):
        page.goto((reported.folder / name).as_uri())
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"{name} scrolls sideways on a phone: {width}px"


