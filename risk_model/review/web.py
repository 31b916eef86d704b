"""The review app's templates and static files: GOV.UK Frontend, served by the app itself.

Pages are Jinja templates in ``templates/`` that extend ``base.html``, which extends
govuk-frontend-jinja's page template, so every page has the GOV.UK Frontend skip link, header,
phase banner and footer and works without JavaScript. GOV.UK Frontend's built CSS, JavaScript,
fonts and images are vendored in ``static/govuk-frontend/`` (``scripts/vendor_govuk_frontend.sh``
refreshes them; ``VERSION`` says which release) and served from this app, never from a CDN, so
the Content-Security-Policy can allow only the app's own origin.

GOV.UK Frontend's stylesheet names its fonts and images as ``/assets/...``, so the vendored
``assets/`` folder is mounted there; everything else is under ``/static/``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader
from markupsafe import Markup
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = [
    "ASSETS_URL",
    "GOVUK_FRONTEND_DIR",
    "SERVICE_NAME",
    "STATIC_DIR",
    "STATIC_URL",
    "TEMPLATES_DIR",
    "govuk_frontend_version",
    "mount_static",
    "templates",
]

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
GOVUK_FRONTEND_DIR = STATIC_DIR / "govuk-frontend"
STATIC_URL = "/static"
# where GOV.UK Frontend's CSS expects its fonts and images (``url(/assets/fonts/...)``)
ASSETS_URL = "/assets"
SERVICE_NAME = "Housing and health review"


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    """The review app's Jinja templates, with GOV.UK Frontend's macros.

    Our ``templates/`` folder comes first; ``govuk_frontend_jinja/...`` names load the macros
    and page template of the ``govuk-frontend-jinja`` package. Autoescaping is on for every
    template, whatever its name, and an undefined variable renders as empty (the GOV.UK macros
    rely on that for their optional parameters).

    Returns
    -------
    starlette.templating.Jinja2Templates
        One shared instance; ``templates().TemplateResponse(request, "base.html", {...})``
        renders a page.
    """
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(TEMPLATES_DIR),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=True,
        auto_reload=False,  # templates are package files: no stat of each one at every render
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        service_name=SERVICE_NAME,
        static_url=STATIC_URL,
        assets_url=ASSETS_URL,
    )
    env.globals["chrome"] = _chrome(env)
    return Jinja2Templates(env=env)


#: The parts of every page that never change, rendered once from GOV.UK Frontend's macros.
_CHROME = {
    "skip_link": ('{% from "govuk_frontend_jinja/components/skip-link/macro.html" '
                  "import govukSkipLink %}{{ govukSkipLink({'href': '#main-content', "
                  "'text': 'Skip to main content'}) }}"),
    # not GOV.UK: the generic header, without the crown or the GOV.UK logotype
    "header": ('{% from "govuk_frontend_jinja/components/generic-header/macro.html" '
               "import govukGenericHeader %}{{ govukGenericHeader({'logoText': service_name, "
               "'url': '/'}) }}"),
    "phase_banner": ('{% from "govuk_frontend_jinja/components/phase-banner/macro.html" '
                     "import govukPhaseBanner %}{{ govukPhaseBanner({'tag': {'text': 'Alpha'}, "
                     "'text': 'This is a new service. Tell your team leader if something does "
                     "not work.'}) }}"),
}


def _chrome(env: Environment) -> dict[str, Markup]:
    """The skip link, header and phase banner as HTML, for ``base.html``.

    Rendered at every request they were a quarter of a list page's time: each GOV.UK macro call
    imports further macro files, and Jinja re-resolves every import on every render.
    """
    return {name: Markup(env.from_string(source).render())  # autoescaped by the environment
            for name, source in _CHROME.items()}


def mount_static(app: Starlette) -> None:
    """Serve the vendored GOV.UK Frontend files and the app's own scripts from ``app``.

    Parameters
    ----------
    app : starlette.applications.Starlette
        The app (a FastAPI app is one); ``/static`` serves ``static/`` and ``/assets`` serves
        GOV.UK Frontend's fonts and images, where its stylesheet looks for them.
    """
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(ASSETS_URL, StaticFiles(directory=GOVUK_FRONTEND_DIR / "assets"), name="assets")


def govuk_frontend_version() -> str:
    """The vendored GOV.UK Frontend release, as ``scripts/vendor_govuk_frontend.sh`` recorded it.

    Returns
    -------
    str
        For example ``"6.3.0"``.
    """
    return (GOVUK_FRONTEND_DIR / "VERSION").read_text(encoding="utf-8").strip()
