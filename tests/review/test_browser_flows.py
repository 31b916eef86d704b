"""An officer's work in Chromium: sign in, their list only, a resident, an action that persists;
another patch's resident by URL, a note with a script tag, and a post without a CSRF token.

Debian's Chromium through Playwright, against the app served by uvicorn on loopback, on the
same scored data as :mod:`tests.review.test_pages`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from risk_model.config import Workspace
from risk_model.review import lists
from risk_model.review.admin import add_user, set_patches
from risk_model.review.app import create_app
from risk_model.review.store import DATABASE_URL_ENV, dispose_engines, resident_state
from tests.review.conftest_browser import serve
from tests.review.test_pages import MONTHS, PASSWORD, review_copy, scored

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["scored"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTE = "<script>alert('boo')</script> left a card"


@pytest.fixture
def site(scored: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[tuple[str, Workspace]]:
    """The app on loopback with both months published and an officer of the North team."""
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    ws = review_copy(scored, tmp_path / "ws")
    for month in MONTHS:
        lists.publish_month(ws, month)
    add_user(ws, "north", "housing_officer", display_name="Nora North", password=PASSWORD)
    set_patches(ws, "north", ["North team"])
    with serve(create_app(ws)) as url:
        yield url, ws
    dispose_engines()


def sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/sign-in")
    page.get_by_label("Username").fill("north")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/my-list")


def test_an_officer_records_an_action_that_persists(site: tuple[str, Workspace],
                                                    page: Page) -> None:
    url, ws = site
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, url)
    north = lists.list_entries(ws, MONTHS[-1], patches=["North team"])
    south = lists.list_entries(ws, MONTHS[-1], patches=["South team"])
    table = page.locator("#list")
    assert table.locator("tbody tr").count() == len(north)
    html = page.content()
    assert not any(e.person_id in html for e in south)
    assert "South team" not in page.locator("main").inner_text()

    first = north[0]
    page.locator(f'a[href="/residents/{first.person_id}"]').click()
    page.wait_for_url(f"{url}/residents/{first.person_id}")
    assert page.get_by_role("heading", level=1).inner_text() == "Resident 1 on the list"
    page.get_by_label("Contacted").check()
    page.get_by_label("Note (optional)").fill(NOTE)
    page.get_by_role("button", name="Record action").click()
    page.wait_for_url(f"{url}/residents/{first.person_id}?recorded=true")
    assert "Your action was recorded" in page.locator("main").inner_text()

    page.goto(f"{url}/residents/{first.person_id}")  # a fresh load: from the database
    past = page.locator("#past-actions").inner_text()
    assert "Contacted" in past
    assert NOTE in past  # the script tag is shown as text
    assert page.locator("#past-actions script").count() == 0
    assert dialogs == []
    assert [a.note for a in resident_state(ws, first.person_id, MONTHS[-1]).actions] == [NOTE]
    page.goto(f"{url}/my-list")
    assert f"{len(north) - 1} residents left to act on" in page.locator("#left").inner_text()


def test_another_patchs_resident_by_url_is_not_found(site: tuple[str, Workspace],
                                                     page: Page) -> None:
    url, ws = site
    sign_in(page, url)
    south = lists.list_entries(ws, MONTHS[-1], patches=["South team"])[0]
    response = page.goto(f"{url}/residents/{south.person_id}")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    assert south.person_id not in page.locator("main").inner_text()


def test_a_post_without_the_csrf_token_is_rejected(site: tuple[str, Workspace],
                                                   page: Page) -> None:
    url, ws = site
    sign_in(page, url)
    person = lists.list_entries(ws, MONTHS[-1], patches=["North team"])[0].person_id
    # with the session cookie but no token, as another site's form would post
    response = page.request.post(f"{url}/residents/{person}/actions",
                                 form={"action": "contacted", "version": "0"})
    assert response.status == 403
    # the page's own form with its hidden token removed
    page.goto(f"{url}/residents/{person}")
    page.get_by_label("Declined help").check()
    page.evaluate("document.querySelectorAll('input[name=csrf_token]')"
                  ".forEach(input => input.remove())")
    with page.expect_response(f"{url}/residents/{person}/actions") as posted:
        page.get_by_role("button", name="Record action").click()
    assert posted.value.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "You cannot see this page"
    assert resident_state(ws, person, MONTHS[-1]).actions == ()
