"""The review app's front end: GOV.UK Frontend pages, static files, security headers, escaping.

The TestClient tests run in-process; the browser test drives Debian's Chromium (Playwright)
against the app served by uvicorn on loopback, with JavaScript on and off.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from risk_model.review.app import create_app
from risk_model.review.web import GOVUK_FRONTEND_DIR, govuk_frontend_version, templates

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CSS = "/static/govuk-frontend/govuk-frontend.min.css"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


def test_the_start_page_is_a_govuk_frontend_page(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert '<html lang="en" class="govuk-template">' in html
    assert '<body class="govuk-template__body">' in html
    assert f'<link rel="stylesheet" href="{CSS}">' in html
    assert '<a href="#main-content" class="govuk-skip-link"' in html
    assert 'class="govuk-generic-header"' in html
    assert "Housing and health review" in html
    assert 'class="govuk-phase-banner' in html
    assert '<main class="govuk-main-wrapper" id="main-content">' in html
    assert 'class="govuk-footer"' in html
    assert '<script type="module" src="/static/init.js"></script>' in html
    assert "<title>Housing and health review</title>" in html
    # nothing of GOV.UK's own brand: no crown icons, no Crown copyright
    assert "favicon" not in html
    assert "Crown copyright" not in html


def test_the_page_works_without_javascript(client: TestClient) -> None:
    # the content and the start link are plain HTML; scripts are only the class switch
    # (inline, with the nonce) and the module that enhances components
    html = client.get("/").text
    assert '<a href="/sign-in" role="button"' in html
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert len(scripts) == 2


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        (CSS, "text/css; charset=utf-8"),
        ("/static/govuk-frontend/govuk-frontend.min.js", "text/javascript; charset=utf-8"),
        ("/static/init.js", "text/javascript; charset=utf-8"),
        ("/assets/images/govuk-crest.svg", "image/svg+xml"),
    ],
)
def test_static_files_are_served_with_their_types(
    client: TestClient, path: str, content_type: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"


def test_every_file_the_stylesheet_names_is_served(client: TestClient) -> None:
    css = client.get(CSS).text
    urls = set(re.findall(r"""url\(["']?(/assets/[^)"']+)["']?\)""", css))
    assert urls  # the crest
    for url in sorted(urls):
        assert client.get(url).status_code == 200, url


def test_the_stylesheet_uses_arial_not_the_gov_uk_only_typeface(client: TestClient) -> None:
    """GDS Transport is for services on GOV.UK only; ours is built with Arial (see the script)."""
    css = client.get(CSS).text
    assert "GDS Transport" not in css
    assert "@font-face" not in css
    assert "font-family:arial,sans-serif" in css
    assert not (GOVUK_FRONTEND_DIR / "assets" / "fonts").exists()


def test_the_vendored_version_is_the_one_recorded() -> None:
    version = govuk_frontend_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    script = (GOVUK_FRONTEND_DIR / "govuk-frontend.min.js").read_text(encoding="utf-8")
    assert f'const version="{version}"' in script
    assert (GOVUK_FRONTEND_DIR / "LICENSE").read_text(encoding="utf-8").startswith(
        "The MIT License"
    )


@pytest.mark.parametrize("path", ["/", "/healthz", CSS, "/no-such-page"])
def test_security_headers_are_on_every_response(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "http" not in csp  # no other origin


def test_the_inline_script_carries_this_responses_nonce(client: TestClient) -> None:
    first, second = client.get("/"), client.get("/")
    nonces = []
    for response in (first, second):
        nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
        assert nonce is not None
        assert f'<script nonce="{nonce[1]}">' in response.text
        nonces.append(nonce[1])
    assert nonces[0] != nonces[1]


def test_a_failure_gets_the_error_page_with_the_security_headers() -> None:
    app = create_app()

    @app.get("/fails")
    async def fails() -> None:
        raise RuntimeError("a bug")

    response = TestClient(app, raise_server_exceptions=False).get("/fails")
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    assert "a bug" not in response.text
    assert response.headers["x-frame-options"] == "DENY"
    nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
    assert nonce is not None
    assert f'<script nonce="{nonce[1]}">' in response.text


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok")


def test_an_unknown_page_gets_the_govuk_error_page(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "<title>Page not found - Housing and health review</title>" in response.text
    assert '<h1 class="govuk-heading-l">Page not found</h1>' in response.text


def test_output_is_escaped() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [],
                       "query_string": b"", "state": {"csp_nonce": "n"}})
    hostile = '<script>alert("x")</script>'
    html = templates().get_template("error.html").render(
        request=request, title=hostile, message=hostile
    )
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert templates().env.autoescape is True


@pytest.mark.browser
@pytest.mark.slow
def test_chromium_shows_govuk_styles_with_and_without_javascript(
    browser: Browser, live_server: str
) -> None:
    for javascript in (True, False):
        context = browser.new_context(java_script_enabled=javascript)
        try:
            page = context.new_page()
            blocked: list[str] = []
            page.on("console", lambda msg, out=blocked: out.append(msg.text)
                    if msg.type == "error" else None)
            failed: list[str] = []
            page.on("requestfailed", lambda req, out=failed: out.append(req.url))
            response = page.goto(live_server + "/", wait_until="load")
            assert response is not None
            assert response.status == 200

            header = page.locator(".govuk-generic-header")
            assert header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 12, 12)"
            body = page.locator(".govuk-body").first
            assert body.evaluate("e => getComputedStyle(e).fontFamily") == "arial, sans-serif"
            assert body.evaluate("e => getComputedStyle(e).color") == "rgb(11, 12, 12)"
            button = page.locator(".govuk-button--start")
            assert button.evaluate("e => getComputedStyle(e).backgroundColor") == (
                "rgb(15, 122, 82)"  # GOV.UK Frontend 6 green, #0f7a52
            )
            assert page.get_by_role("heading", level=1).inner_text() == (
                "Housing and health review"
            )

            classes = page.locator("body").get_attribute("class") or ""
            if javascript:
                # the nonce'd inline script ran, and the module initialised the components
                assert "js-enabled" in classes
                assert "govuk-frontend-supported" in classes
                page.wait_for_function(
                    "document.querySelector('.govuk-skip-link')"
                    ".getAttribute('data-govuk-skip-link-init') !== null"
                )
            else:
                assert "js-enabled" not in classes
            # the skip link is the first thing a keyboard reaches, and it works without script
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.className") == "govuk-skip-link"
            assert not [m for m in blocked if "Content Security Policy" in m], blocked
            assert failed == []
        finally:
            context.close()
