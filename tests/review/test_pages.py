"""The review app's pages through the TestClient: who sees what, CSRF, escaping, the audit log,
concurrent updates, rate limiting, and publishing a scored month.

The data: the small champion area scored for two months with two patches (North team and
South team), published into each test's own review database.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient

from risk_model.config import Workspace
from risk_model.modelling.explain import ATTRIBUTABLE_NOTE
from risk_model.review import lists
from risk_model.review.admin import add_user, set_patches
from risk_model.review.app import PRE_SESSION_COOKIE, SESSION_COOKIE, STALE_MESSAGE, create_app
from risk_model.review.store import audit_events, engine
from risk_model.scoring.run import score
from tests.review.backends import review_ws
from tests.scoring.conftest import scoring_copy

pytestmark = pytest.mark.slow
__all__ = ["review_ws"]

MONTHS = ("2025-02", "2025-03")
PASSWORD = "a long passphrase for tests"
#: Words of the analysts' reasons that must never reach an officer (diagnoses, admissions).
HEALTH_DETAIL = ("admission", "diagnos", "recorded by the GP", "A&E", "attendance")


@pytest.fixture(scope="module")
def scored(champion: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The champion area scored for two months, two patches of 20 (read only)."""
    ws = scoring_copy(champion, tmp_path_factory.mktemp("pages"))
    with duckdb.connect(str(ws.warehouse), read_only=True) as con:
        lsoas = [r[0] for r in con.execute(
            "SELECT DISTINCT lsoa_code FROM lsoa_imd ORDER BY 1").fetchall()]
    ws.settings_file.write_text(yaml.safe_dump({"patches": {
        "named": [{"name": "North team", "lsoas": lsoas[:1], "capacity": 20},
                  {"name": "South team", "lsoas": lsoas[1:], "capacity": 20}],
        "others": "none"}}))
    for month in MONTHS:
        score(ws, month)
    return ws


def review_copy(scored: Workspace, root: Path) -> Workspace:
    """A workspace with the scored warehouse and settings and an empty review database."""
    root.mkdir(parents=True, exist_ok=True)
    for part in ("warehouse.duckdb", "settings.yaml"):
        shutil.copy2(scored.root / part, root / part)
    return Workspace.at(root)


@pytest.fixture
def ws(scored: Workspace, review_ws: Workspace) -> Iterator[Workspace]:
    """Published months and users: north and north2 (North team), south, ana, adam.

    On SQLite, then on a throwaway PostgreSQL database (``review_ws``).
    """
    ws = review_copy(scored, review_ws.root)
    for month in MONTHS:
        lists.publish_month(ws, month)
    for name, role in [("north", "housing_officer"), ("north2", "housing_officer"),
                       ("south", "housing_officer"), ("ana", "analyst"),
                       ("adam", "administrator")]:
        add_user(ws, name, role, display_name=name.title(), password=PASSWORD)
    for name, patch in [("north", "North team"), ("north2", "North team"),
                        ("south", "South team")]:
        set_patches(ws, name, [patch])
    yield ws


def token_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found[1]


def signed_in(ws: Workspace, username: str, **kwargs: object) -> TestClient:
    client = TestClient(create_app(ws), **kwargs)  # type: ignore[arg-type]
    page = client.get("/sign-in")
    response = client.post("/sign-in", data={"username": username, "password": PASSWORD,
                                             "csrf_token": token_in(page.text)},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def entries(ws: Workspace, patch: str) -> list[lists.ListEntry]:
    return lists.list_entries(ws, MONTHS[-1], patches=[patch])


def record(client: TestClient, person_id: str, **form: str) -> object:
    page = client.get(f"/residents/{person_id}")
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version
    data = {"csrf_token": token_in(page.text), "version": version[1], **form}
    return client.post(f"/residents/{person_id}/actions", data=data, follow_redirects=False)


# ---- publishing ---------------------------------------------------------------------------


def test_publishing_a_month_again_gives_the_same_tables(ws: Workspace) -> None:
    def dump() -> tuple[list, list]:
        with engine(ws).connect() as con:
            return (con.execute(sa.select(lists.ENTRIES_TABLE).order_by(
                        *lists.ENTRIES_TABLE.primary_key.columns)).all(),
                    con.execute(sa.select(lists.HISTORY_TABLE).order_by(
                        *lists.HISTORY_TABLE.primary_key.columns)).all())

    before = dump()
    assert lists.publish_month(ws, MONTHS[-1]) == 40
    assert dump() == before
    assert {e.patch for e in before[0]} == {"North team", "South team"}
    assert len(before[0]) == 80
    first = entries(ws, "North team")[0]
    assert lists.history_for(ws, first.person_id)[0].month == MONTHS[-1]
    assert first.address and f"UPRN {first.uprn}" in first.address


def test_a_month_is_read_again_only_when_published_again(ws: Workspace) -> None:
    """Each process keeps a month's lists; a new publication (from any process) replaces them."""
    e, p = lists.ENTRIES_TABLE, lists.PUBLICATIONS_TABLE
    first = lists.publication(ws, MONTHS[-1])
    assert lists.publication(ws, MONTHS[-1]) is first
    assert first.entries() == lists.list_entries(ws, MONTHS[-1])
    assert first.entries(["South team"]) == entries(ws, "South team")
    client = signed_in(ws, "north")
    top = entries(ws, "North team")[0]
    assert top.tenancy_ref is None or top.tenancy_ref in client.get("/my-list").text
    with engine(ws).begin() as con:  # another process changing the table without publishing
        con.execute(e.update().where(e.c.month == MONTHS[-1], e.c.person_id == top.person_id)
                    .values(tenancy_ref="CHANGED-REF"))
    assert lists.publication(ws, MONTHS[-1]) is first
    assert "CHANGED-REF" not in client.get("/my-list").text
    with engine(ws).begin() as con:  # ... and now publishing: a new token
        con.execute(p.update().where(p.c.month == MONTHS[-1]).values(token="0" * 32))
    again = lists.publication(ws, MONTHS[-1])
    assert again is not first and again.token == "0" * 32
    assert again.entries(["North team"])[0].tenancy_ref == "CHANGED-REF"
    assert "CHANGED-REF" in client.get("/my-list").text
    lists.publish_month(ws, MONTHS[-1])
    assert lists.publication(ws, MONTHS[-1]).token not in (first.token, again.token)
    assert "CHANGED-REF" not in client.get("/my-list").text
    with engine(ws).begin() as con:  # a month published before tokens: read every time
        con.execute(p.delete().where(p.c.month == MONTHS[-1]))
    unstamped = lists.publication(ws, MONTHS[-1])
    assert unstamped.token == "" and lists.publication(ws, MONTHS[-1]) is not unstamped
    assert unstamped.entries() == lists.list_entries(ws, MONTHS[-1])


def test_an_unscored_month_is_refused(ws: Workspace) -> None:
    from risk_model.errors import ConfigError, DataError

    with pytest.raises(DataError, match="2024-01 has no lists"):
        lists.publish_month(ws, "2024-01")
    with pytest.raises(ConfigError, match="YYYY-MM"):
        lists.publish_month(ws, "March")


@pytest.mark.parametrize(("reason", "kind"), [
    ("Health: a long-term health condition", "health"),
    ("Damp and mould reported 2 times in the last year", "housing"),
    ("High excess cold hazard found at the last housing health and safety (HHSRS) check",
     "housing"),
    ("Bedrooms short of what the household needs: 1", "housing"),
    ("9 m² of floor space per person", "housing"),
    ("Aged 65 or over and living alone", "housing"),
    ("Energy efficiency rating F on the home's energy certificate", "housing"),
    ("In the 85+ age group", "other"),
    ("Lives in one of the most deprived 20% of neighbourhoods in England", "other"),
])
def test_officer_reasons_are_sorted_into_kinds(reason: str, kind: str) -> None:
    assert lists.reason_kind(reason) == kind


# ---- signing in ---------------------------------------------------------------------------


def test_pages_need_a_signed_in_user(ws: Workspace) -> None:
    client = TestClient(create_app(ws))
    for path in ("/my-list", "/my-list.csv", "/analyst", "/admin/audit-log",
                 f"/residents/{entries(ws, 'North team')[0].person_id}"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/sign-in"


def test_the_session_cookie_is_httponly_samesite_and_secure_over_https(ws: Workspace) -> None:
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        client = TestClient(create_app(ws), base_url=base)
        page = client.get("/sign-in")
        assert "HttpOnly" in page.headers["set-cookie"]
        response = client.post("/sign-in", data={"username": "north", "password": PASSWORD,
                                                 "csrf_token": token_in(page.text)},
                               follow_redirects=False)
        cookie = next(c for c in response.headers.get_list("set-cookie")
                      if c.startswith(f"{SESSION_COOKIE}="))
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert ("Secure" in cookie) is secure


def test_a_wrong_password_says_so_without_saying_which(ws: Workspace) -> None:
    client = TestClient(create_app(ws))
    page = client.get("/sign-in")
    response = client.post("/sign-in", data={"username": "north", "password": "wrong" * 3,
                                             "csrf_token": token_in(page.text)})
    assert response.status_code == 400
    assert "The username or password is not right" in response.text
    assert 'class="govuk-error-summary' in response.text


def test_sign_in_is_paused_after_too_many_failures(ws: Workspace) -> None:
    client = TestClient(create_app(ws))
    token = token_in(client.get("/sign-in").text)
    for _ in range(5):
        client.post("/sign-in", data={"username": "north", "password": "not it at all",
                                      "csrf_token": token})
    response = client.post("/sign-in", data={"username": "north", "password": PASSWORD,
                                             "csrf_token": token})
    assert response.status_code == 429
    assert "Too many failed attempts to sign in. Try again after" in response.text
    assert SESSION_COOKIE not in response.cookies


def test_sign_out_ends_the_session(ws: Workspace) -> None:
    client = signed_in(ws, "north")
    page = client.get("/my-list")
    response = client.post("/sign-out", data={"csrf_token": token_in(page.text)},
                           follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/my-list", follow_redirects=False).headers["location"] == "/sign-in"
    assert [e.event for e in audit_events(ws, username="north")][:1] == ["sign_out"]


# ---- CSRF and escaping ----------------------------------------------------------------------


def test_every_post_needs_the_csrf_token(ws: Workspace) -> None:
    client = signed_in(ws, "north")
    person = entries(ws, "North team")[0].person_id
    for token in (None, "", "not-the-token"):
        data = {"action": "contacted", "version": "0"}
        if token is not None:
            data["csrf_token"] = token
        assert client.post(f"/residents/{person}/actions", data=data).status_code == 403
        assert client.post("/sign-out", data={"csrf_token": token or ""}).status_code == 403
    fresh = TestClient(create_app(ws))
    fresh.get("/sign-in")
    assert fresh.post("/sign-in", data={"username": "north", "password": PASSWORD}
                      ).status_code == 403
    assert fresh.post("/sign-in", data={"username": "north", "password": PASSWORD,
                                        "csrf_token": "forged"}).status_code == 403
    assert lists.actioned(ws, MONTHS[-1], [person]) == set()


def test_a_note_with_a_script_is_shown_as_text(ws: Workspace) -> None:
    client = signed_in(ws, "north")
    person = entries(ws, "North team")[0].person_id
    note = '<script>alert("x")</script> & <b>bold</b>'
    assert record(client, person, action="contacted", note=note).status_code == 303
    html = client.get(f"/residents/{person}").text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


# ---- what each role sees --------------------------------------------------------------------


def test_an_officer_sees_only_their_patches(ws: Workspace) -> None:
    client = signed_in(ws, "north")
    html = client.get("/my-list").text
    north, south = entries(ws, "North team"), entries(ws, "South team")
    assert all(f"/residents/{e.person_id}" in html for e in north)
    assert not any(e.person_id in html for e in south)
    assert "South team" not in html.split('id="main-content"')[1]
    assert f"{len(north)} residents left to act on, out of {len(north)}" in html
    rows = list(csv.reader(io.StringIO(client.get("/my-list.csv").text)))
    assert {r[1] for r in rows[1:]} == {"North team"}
    assert len(rows) == len(north) + 1


@pytest.mark.parametrize("query", ["reason=health", "reason=housing", "new=yes",
                                   "band=very+high"])
def test_the_list_filters(ws: Workspace, query: str) -> None:
    north = entries(ws, "North team")
    keep = {"reason=health": lambda e: "health" in e.reason_kinds,
            "reason=housing": lambda e: "housing" in e.reason_kinds,
            "new=yes": lambda e: e.movement == "new",
            "band=very+high": lambda e: e.risk_band == "very high"}[query]
    html = signed_in(ws, "north").get(f"/my-list?{query}").text
    shown = re.findall(r'<a class="govuk-link" href="/residents/([^"]+)"', html)
    assert shown == [e.person_id for e in north if keep(e)]
    assert f"residents left to act on, out of {len(north)}" in html


def test_a_long_list_comes_in_pages_that_keep_the_filters(ws: Workspace,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from risk_model.review import app

    monkeypatch.setattr(app, "PAGE_SIZE", 7)
    client = signed_in(ws, "north")
    north = entries(ws, "North team")
    seen = []
    for number in (1, 2, 3):
        html = client.get(f"/my-list?page={number}").text
        seen += re.findall(r'<a class="govuk-link" href="/residents/([^"]+)"', html)
    assert seen == [e.person_id for e in north]
    assert "15 to 20 of 20 shown" in html
    assert 'href="/my-list?page=2"' in html and 'class="govuk-pagination' in html
    band = north[0].risk_band
    html = client.get("/my-list", params={"band": band, "page": 99}).text
    matching = [e for e in north if e.risk_band == band]
    if len(matching) > 7:
        assert "band=" + band.replace(" ", "+") in html


def test_another_patchs_resident_is_not_found(ws: Workspace) -> None:
    client = signed_in(ws, "north")
    south = entries(ws, "South team")[0].person_id
    assert client.get(f"/residents/{south}").status_code == 404
    assert client.get("/residents/nobody-at-all").status_code == 404
    page = client.get(f"/residents/{entries(ws, 'North team')[0].person_id}")
    response = client.post(f"/residents/{south}/actions",
                           data={"action": "contacted", "version": "0",
                                 "csrf_token": token_in(page.text)})
    assert response.status_code == 404
    assert lists.actioned(ws, MONTHS[-1], [south]) == set()


def test_an_officer_never_sees_analyst_reasons_or_health_detail(ws: Workspace) -> None:
    client = signed_in(ws, "north")
    pages = [client.get("/my-list").text, client.get("/my-list.csv").text]
    north = entries(ws, "North team")
    for e in north[:5]:
        pages.append(client.get(f"/residents/{e.person_id}").text)
    analyst_only = {r for e in north for r in e.reasons_analyst} \
        - {r for e in north for r in e.reasons_officer}
    assert analyst_only, "the test data should have reasons only analysts see"
    for html in pages:
        for reason in analyst_only:
            assert reason not in html
        for word in HEALTH_DETAIL:
            assert word.lower() not in html.lower(), word
    resident = pages[2]
    for reason in north[0].reasons_officer:
        assert reason.replace("&", "&amp;") in resident
    assert north[0].address in resident
    assert ATTRIBUTABLE_NOTE[1:] in resident


def test_an_analyst_sees_their_reasons_and_no_address(ws: Workspace) -> None:
    client = signed_in(ws, "ana")
    assert client.get("/my-list", follow_redirects=False).headers["location"] == "/analyst"
    e = entries(ws, "South team")[0]
    html = client.get(f"/residents/{e.person_id}").text
    for reason in e.reasons_analyst:
        assert reason.replace("&", "&amp;") in html
    assert e.address not in html
    assert 'action="/residents/' not in html  # analysts do not record actions
    assert client.get("/my-list.csv").status_code == 403
    assert client.get("/admin/audit-log").status_code == 403


def test_an_analyst_lists_a_patch_by_pseudonym_without_address_or_tenancy(ws: Workspace
                                                                          ) -> None:
    client = signed_in(ws, "ana")
    south = entries(ws, "South team")
    overview = client.get("/analyst").text
    href = f"/analyst/lists/{MONTHS[-1]}/South%20team"
    assert f'href="{href}"' in overview
    html = client.get(href).text
    assert f"{len(south)} residents in priority order" in html
    for e in south:
        assert f"/residents/{e.person_id}" in html
        assert e.address not in html
        assert e.tenancy_ref is None or e.tenancy_ref not in html
    assert south[0].reasons_analyst[0].replace("&", "&amp;") in html
    assert client.get(f"/analyst/lists/{MONTHS[-1]}/Nowhere").status_code == 404
    viewed = audit_events(ws, username="ana", events=["view_list"])
    assert viewed[-1].detail["patch"] == "South team"
    for officer in ("south", "adam"):
        assert signed_in(ws, officer).get(href).status_code == 403


def test_the_analyst_page_suppresses_small_numbers(ws: Workspace) -> None:
    officer = signed_in(ws, "north")
    for e in entries(ws, "North team")[:3]:
        assert record(officer, e.person_id, action="contacted").status_code == 303
    html = signed_in(ws, "ana").get("/analyst").text
    row = next(r for r in html.split("<tr")
               if f">{MONTHS[-1]}<" in r and ">North team<" in r)
    row = re.sub(r'<span class="govuk-visually-hidden">[^<]*</span>', "", row)
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
    assert cells[:4] == [MONTHS[-1], "North team", "20", "*"]  # 3 actioned: hidden
    assert cells[4] == "*"  # contacted: 3
    assert "3" not in cells[2:]


def test_an_officer_cannot_reach_analyst_or_admin_pages(ws: Workspace) -> None:
    client = signed_in(ws, "north")
    assert client.get("/analyst").status_code == 403
    assert client.get("/admin/audit-log").status_code == 403


def test_an_administrator_sees_the_audit_log_and_no_resident(ws: Workspace) -> None:
    officer = signed_in(ws, "north")
    person = entries(ws, "North team")[0].person_id
    officer.get("/my-list")
    assert record(officer, person, action="visit_booked").status_code == 303
    officer.get("/my-list.csv")
    admin = signed_in(ws, "adam")
    assert admin.get("/my-list", follow_redirects=False).headers["location"] \
        == "/admin/audit-log"
    assert admin.get(f"/residents/{person}").status_code == 403
    html = admin.get("/admin/audit-log").text
    for event in ("sign_in", "view_list", "view_resident", "record_action", "export"):
        assert f">{event}<" in html
    assert "<form method=\"post\"" not in html.split('id="main-content"')[1]
    logged = [(e.username, e.event, e.person_id) for e in audit_events(ws, username="north")]
    assert ("north", "view_resident", person) in logged
    assert ("north", "record_action", person) in logged
    assert ("north", "export", None) in logged
    assert ("north", "sign_in", None) in logged


# ---- recording actions ----------------------------------------------------------------------


def test_an_action_is_recorded_and_counted(ws: Workspace) -> None:
    client = signed_in(ws, "north")
    colleague = signed_in(ws, "north2")
    north = entries(ws, "North team")
    assert f"{len(north)} residents left to act on" in colleague.get("/my-list").text
    response = record(client, north[0].person_id, action="referred", service="Warm homes",
                      note="Spoke to them")
    assert response.status_code == 303
    html = client.get(response.headers["location"]).text
    assert "Your action was recorded" in html
    assert "Referred to a service: Warm homes" in html
    assert f"{len(north) - 1} residents left to act on" in client.get("/my-list").text
    seen = colleague.get("/my-list").text  # the same patch's page, kept before the action
    assert f"{len(north) - 1} residents left to act on" in seen
    assert seen.count("Action recorded") == 1


def test_a_referral_needs_a_service_and_a_note_is_short(ws: Workspace) -> None:
    client = signed_in(ws, "north")
    person = entries(ws, "North team")[0].person_id
    response = record(client, person, action="referred")
    assert response.status_code == 400
    assert "Enter the service you referred them to" in response.text
    response = record(client, person, action="contacted", note="x" * 501)
    assert response.status_code == 400
    assert "The note must be 500 characters or fewer" in response.text
    assert record(client, person, action="made up").status_code == 400
    assert lists.actioned(ws, MONTHS[-1], [person]) == set()


def test_two_officers_at_once_lose_no_update(ws: Workspace) -> None:
    first, second = signed_in(ws, "north"), signed_in(ws, "north2")
    person = entries(ws, "North team")[0].person_id
    pages = [c.get(f"/residents/{person}").text for c in (first, second)]

    def post(client: TestClient, html: str, action: str, note: str) -> object:
        version = re.search(r'name="version" value="(\d+)"', html)
        assert version
        return client.post(f"/residents/{person}/actions", follow_redirects=False, data={
            "action": action, "note": note, "version": version[1],
            "csrf_token": token_in(html)})

    assert post(first, pages[0], "contacted", "first officer").status_code == 303
    stale = post(second, pages[1], "visit_booked", "second officer")
    assert stale.status_code == 409
    assert STALE_MESSAGE in stale.text
    assert "first officer" in stale.text  # the current state is shown
    assert 'name="version" value="1"' in stale.text
    assert post(second, stale.text, "visit_booked", "second officer").status_code == 303
    from risk_model.review.store import resident_state

    notes = [a.note for a in resident_state(ws, person, MONTHS[-1]).actions]
    assert notes == ["second officer", "first officer"]


def test_the_pre_session_cookie_is_httponly(ws: Workspace) -> None:
    client = TestClient(create_app(ws))
    response = client.get("/sign-in")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{PRE_SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert response.headers["cache-control"] == "no-store"
