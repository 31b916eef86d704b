"""The review app as an ASGI application: :func:`create_app`.

For now it serves a start page, ``/healthz`` and GOV.UK Frontend's files; the sign-in, list,
resident and analyst pages join it later. Every response carries the security headers of
:data:`SECURITY_HEADERS` and a Content-Security-Policy that allows only this app's own origin,
plus a fresh nonce per response for GOV.UK Frontend's one inline script (the line that marks the
page as having JavaScript). Errors are answered with the GOV.UK-styled ``error.html``.

Serve it with ``uvicorn --factory risk_model.review.app:create_app``.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from risk_model.review.web import mount_static, templates

if TYPE_CHECKING:
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SECURITY_HEADERS", "content_security_policy", "create_app"]

SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

_ERROR_PAGES: dict[int, tuple[str, str]] = {
    403: ("You cannot see this page", "Your account does not give you access to this page."),
    404: ("Page not found", "If you typed the web address, check it is correct."),
    405: ("Page not found", "If you typed the web address, check it is correct."),
}
_OTHER_ERROR = (
    "Sorry, there is a problem with the service",
    "Try again later. Anything you had not saved has not been recorded.",
)


def content_security_policy(nonce: str) -> str:
    """The Content-Security-Policy of a page: this origin only, plus one inline script.

    Parameters
    ----------
    nonce : str
        The response's nonce, which GOV.UK Frontend's inline ``<script>`` carries.

    Returns
    -------
    str
        The header's value: no other origin, no plugins, no framing, forms post only here.
    """
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self'",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class _SecurityHeaders:
    """ASGI middleware: a nonce in ``request.state.csp_nonce`` and the headers on every reply."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        extra = [(k.lower().encode(), v.encode()) for k, v in _security_headers(nonce).items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in extra}
                headers = [(k, v) for k, v in message.get("headers", []) if k not in names]
                message = {**message, "headers": [*headers, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _security_headers(nonce: str) -> dict[str, str]:
    return {"Content-Security-Policy": content_security_policy(nonce), **SECURITY_HEADERS}


async def _error_page(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    title, message = _ERROR_PAGES.get(status, _OTHER_ERROR)
    # an unhandled exception is answered by Starlette's outermost middleware, outside
    # _SecurityHeaders, so the error page carries the headers itself
    nonce = getattr(request.state, "csp_nonce", None) or secrets.token_urlsafe(16)
    request.state.csp_nonce = nonce
    return templates().TemplateResponse(
        request,
        "error.html",
        {"title": title, "message": message, "status_code": status},
        status_code=status,
        headers=_security_headers(nonce),
    )


def create_app() -> FastAPI:
    """The review app.

    Returns
    -------
    fastapi.FastAPI
        Serves ``/`` (the start page), ``/healthz`` and the static files; no API docs.
    """
    app = FastAPI(title="Housing and health review", docs_url=None, redoc_url=None,
                  openapi_url=None)
    mount_static(app)
    app.add_exception_handler(StarletteHTTPException, _error_page)
    app.add_exception_handler(Exception, _error_page)
    app.add_middleware(_SecurityHeaders)

    @app.get("/", response_class=HTMLResponse)
    async def start(request: Request) -> Response:
        return templates().TemplateResponse(request, "start.html", {})

    @app.get("/healthz", response_class=PlainTextResponse)
    async def healthz() -> str:
        return "ok"

    return app
