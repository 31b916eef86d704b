"""The review app as an ASGI application: :func:`create_app`.

Pages (server-rendered with GOV.UK Frontend, no JavaScript needed):

- ``/sign-in`` (GET, POST) and ``/sign-out`` (POST);
- ``/my-list``: a housing officer's patches' list for the latest published month, in priority
  order, :data:`PAGE_SIZE` residents a page, with filters (risk band, kind of reason, new this
  month) and how many are left to act on; ``/my-list.csv`` exports it;
- ``/residents/{person_id}``: one resident (an officer sees only residents on their patches'
  lists, anyone else is "not found"), with reasons worded for the role, and
  ``/residents/{person_id}/actions`` (POST) to record what the officer did;
- ``/analyst``: list sizes, actions and outcomes by patch and month, small numbers suppressed;
- ``/admin/audit-log``: the audit log, read-only, for administrators.

The lists come from the review database (:mod:`risk_model.review.lists`, filled by
:func:`~risk_model.review.lists.publish_month`), never from the warehouse. Sessions are
server-side (:mod:`risk_model.review.auth`); the cookie is HttpOnly, SameSite=Lax and Secure when
the request came over HTTPS. Every POST carries a CSRF token (the sign-in form's is bound to a
pre-session cookie) and is refused with 403 without a valid one. Every sign-in, list and
resident viewed, action and export is in the audit log.

Every response carries the security headers of :data:`SECURITY_HEADERS` and a
Content-Security-Policy that allows only this app's own origin, plus a fresh nonce per response
for GOV.UK Frontend's one inline script. Errors are answered with the GOV.UK-styled
``error.html``.

Serve it with ``uvicorn --factory risk_model.review.app:create_app`` (the workspace of
``RISK_MODEL_WORKSPACE``, or ``./workspace``).
"""

from __future__ import annotations

import csv
import io
import secrets
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from markupsafe import Markup
from starlette.exceptions import HTTPException as StarletteHTTPException

from risk_model.config import ACTIONS, Workspace
from risk_model.disclosure import rule_for, suppress_count
from risk_model.modelling.explain import ATTRIBUTABLE_NOTE
from risk_model.review import lists
from risk_model.review.auth import (
    Session,
    SignInFailed,
    TooManyAttempts,
    check_csrf,
    csrf_token,
    destroy_session,
    read_session,
    sign_in,
)
from risk_model.review.store import (
    EVENTS,
    NOTE_LIMIT,
    ResidentState,
    StaleUpdate,
    actions_for,
    audit_events,
    log_event,
    record_action,
    resident_state,
)
from risk_model.review.web import mount_static, templates

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "PAGE_SIZE",
    "PRE_SESSION_COOKIE",
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "STALE_MESSAGE",
    "content_security_policy",
    "create_app",
]

SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
#: The session's cookie (its token; the database keeps only a hash).
SESSION_COOKIE = "review_session"
#: A random value set before sign-in, which the sign-in form's CSRF token is bound to.
PRE_SESSION_COOKIE = "review_pre_session"
#: Residents per page of an officer's list.
PAGE_SIZE = 100
#: What an officer is told when someone else recorded an action on the resident first.
STALE_MESSAGE = "Someone else recorded an action first"
_HOME = {"housing_officer": "/my-list", "analyst": "/analyst",
         "administrator": "/admin/audit-log"}
_BANDS = ("very high", "high", "raised", "low")
_REASON_LABELS = {"housing": "Housing", "health": "Health", "other": "Other"}
_AUDIT_LIMIT = 500
_Text = Annotated[str | None, Form()]

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


class _SignInNeeded(Exception):
    """Raised by a page that needs a signed-in user: answered by a redirect to sign-in."""


async def _to_sign_in(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/sign-in", status_code=303)


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")


def _page(request: Request, name: str, context: dict[str, Any], *,
          user: Session | None = None, status: int = 200) -> Response:
    response = templates().TemplateResponse(
        request, name, {"user": user, "csrf": user.csrf_token if user else None, **context},
        status_code=status)
    if user is not None:  # residents' data: never kept by the browser or a proxy
        response.headers["Cache-Control"] = "no-store"
    return response


class _ListPages:
    """Rendered bodies of list pages, most recently used kept, shared by a process's threads.

    A list page's body depends only on the month's publication, the officer's patches, the
    filters, the page number and who on those patches has an action recorded: officers sharing
    a patch share it. It holds no session data (the CSRF token and the script nonce are in the
    surrounding page), so rendering it once per key is safe; a new publication or a new action
    changes the key. Rendering 100 rows was most of a list request's cost.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...] | None, render: Callable[[], str]) -> Markup:
        """The body for ``key``, rendered with ``render`` if not kept (None: never kept)."""
        if key is not None:
            with self._lock:
                if key in self._kept:
                    self._kept.move_to_end(key)
                    return self._kept[key]
        body = Markup(render())  # rendered by the autoescaping template environment
        if key is not None:
            with self._lock:
                self._kept[key] = body
                while len(self._kept) > self._size:
                    self._kept.popitem(last=False)
        return body


def _paging(count: int, page: int, link: Callable[[int], str]) -> tuple[slice, dict[str, Any]]:
    """The rows of one page of ``count`` (``page`` clamped) and what the pagination needs."""
    pages = max(1, -(-count // PAGE_SIZE))
    page = min(max(page, 1), pages)
    start = (page - 1) * PAGE_SIZE
    return slice(start, start + PAGE_SIZE), {
        "page": page, "pages": pages, "first": start + 1,
        "page_links": [{"number": n, "href": link(n), "current": n == page}
                       for n in range(1, pages + 1)],
        "previous_link": link(page - 1) if page > 1 else None,
        "next_link": link(page + 1) if page < pages else None}


def _percent_points(value: float | None) -> str | None:
    if value is None:
        return None
    return f"{value * 100:.0f} percentage points"


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # a cell a spreadsheet would run as a formula is written as text
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def create_app(workspace: Workspace | None = None) -> FastAPI:
    """The review app.

    Parameters
    ----------
    workspace : Workspace, optional
        The workspace whose review database the app serves; default
        :meth:`risk_model.config.Workspace.at` (``RISK_MODEL_WORKSPACE`` or ``./workspace``),
        opened at the first request that needs it.

    Returns
    -------
    fastapi.FastAPI
        Serves the pages of the module docstring, ``/`` (the start page), ``/healthz`` and the
        static files; no API docs.
    """
    app = FastAPI(title="Housing and health review", docs_url=None, redoc_url=None,
                  openapi_url=None)
    mount_static(app)
    app.add_exception_handler(_SignInNeeded, _to_sign_in)
    app.add_exception_handler(StarletteHTTPException, _error_page)
    app.add_exception_handler(Exception, _error_page)
    app.add_middleware(_SecurityHeaders)
    opened: list[Workspace] = [workspace] if workspace is not None else []
    list_pages = _ListPages()

    def ws() -> Workspace:
        if not opened:
            opened.append(Workspace.at())
        return opened[0]

    def current_user(request: Request) -> Session | None:
        return read_session(ws(), request.cookies.get(SESSION_COOKIE))

    def needs(*roles: str) -> Callable[[Request], Session]:
        def dependency(request: Request) -> Session:
            user = current_user(request)
            if user is None:
                raise _SignInNeeded
            if user.role not in roles:
                raise StarletteHTTPException(403)
            return user
        return dependency

    def check_form(request: Request, given: str | None) -> None:
        if not check_csrf(request.cookies.get(SESSION_COOKIE), given):
            raise StarletteHTTPException(403)

    officer = Depends(needs("housing_officer"))
    reader = Depends(needs("housing_officer", "analyst"))
    analyst = Depends(needs("analyst"))
    administrator = Depends(needs("administrator"))

    @app.get("/", response_class=HTMLResponse)
    def start(request: Request) -> Response:
        return templates().TemplateResponse(request, "start.html", {})

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    # ---- signing in and out -------------------------------------------------------------

    def sign_in_page(request: Request, *, errors: dict[str, str] | None = None,
                     username: str = "", status: int = 200, signed_out: bool = False
                     ) -> Response:
        pre = request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(32)
        response = _page(request, "sign_in.html",
                         {"title": "Sign in", "errors": errors or {}, "username": username,
                          "form_token": csrf_token(pre), "signed_out": signed_out},
                         status=status)
        _set_cookie(request, response, PRE_SESSION_COOKIE, pre)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/sign-in", response_class=HTMLResponse)
    def sign_in_form(request: Request, signed_out: bool = False) -> Response:
        user = current_user(request)
        if user is not None:
            return RedirectResponse(_HOME.get(user.role, "/"), status_code=303)
        return sign_in_page(request, signed_out=signed_out)

    @app.post("/sign-in", response_class=HTMLResponse)
    def sign_in_post(request: Request, username: _Text = None, password: _Text = None,
                     csrf_token: _Text = None) -> Response:
        if not check_csrf(request.cookies.get(PRE_SESSION_COOKIE), csrf_token):
            raise StarletteHTTPException(403)
        name, secret = (username or "").strip(), password or ""
        errors = {}
        if not name:
            errors["username"] = "Enter your username"
        if not secret:
            errors["password"] = "Enter your password"
        if errors:
            return sign_in_page(request, errors=errors, username=name, status=400)
        try:
            token = sign_in(ws(), name, secret, ip=_ip(request))
        except TooManyAttempts as exc:
            message = (f"Too many failed attempts to sign in. Try again after "
                       f"{exc.until:%H:%M} UTC, or ask an administrator to check your "
                       "account.")
            return sign_in_page(request, errors={"username": message}, username=name,
                                status=429)
        except SignInFailed:
            return sign_in_page(request, username=name, status=400, errors={
                "username": "The username or password is not right. Check them and try "
                            "again."})
        response = RedirectResponse("/my-list", status_code=303)
        _set_cookie(request, response, SESSION_COOKIE, token)
        response.delete_cookie(PRE_SESSION_COOKIE, path="/")
        return response

    @app.post("/sign-out")
    def sign_out(request: Request, csrf_token: _Text = None) -> Response:
        check_form(request, csrf_token)
        destroy_session(ws(), request.cookies.get(SESSION_COOKIE), ip=_ip(request))
        response = RedirectResponse("/sign-in?signed_out=true", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # ---- the officer's list -------------------------------------------------------------

    def _filters(band: str | None, reason: str | None, new: str | None
                 ) -> tuple[str | None, str | None, bool]:
        return (band if band in _BANDS else None,
                reason if reason in lists.REASON_KINDS else None, new == "yes")

    @app.get("/my-list", response_class=HTMLResponse)
    def my_list(request: Request, band: str | None = None, reason: str | None = None,
                new: str | None = None, page: int = 1) -> Response:
        user = current_user(request)
        if user is None:
            raise _SignInNeeded
        if user.role != "housing_officer":
            return RedirectResponse(_HOME.get(user.role, "/"), status_code=303)
        band, reason, new_only = _filters(band, reason, new)
        month = lists.latest_month(ws())
        published = lists.publication(ws(), month) if month else None
        everyone = published.entries(user.patches) if published else []
        done = lists.actioned(ws(), month, patches=user.patches) if month else set()
        shown = [e for e in everyone
                 if (band is None or e.risk_band == band)
                 and (reason is None or reason in e.reason_kinds)
                 and (not new_only or e.movement == "new")]
        query = {k: v for k, v in (("band", band), ("reason", reason),
                                   ("new", "yes" if new_only else None)) if v}
        rows, paging = _paging(len(shown), page, lambda n: "/my-list?" + urlencode(
            {**query, "page": n}))
        page, entries = paging["page"], shown[rows]
        log_event(ws(), "view_list", username=user.username, ip=_ip(request),
                  detail={"month": month, "band": band, "reason": reason, "new": new_only,
                          "page": page, "shown": len(entries)})

        def render() -> str:
            return templates().get_template("my_list_body.html").render({
                **paging, "month": month, "has_patches": bool(user.patches),
                "entries": entries, "matching": len(shown), "done": done,
                "total": len(everyone),
                "left": sum(e.person_id not in done for e in everyone),
                "band": band, "reason": reason, "new_only": new_only, "bands": _BANDS,
                "reason_labels": _REASON_LABELS})

        key = None if published is None or not published.token else (
            published.month, published.token, tuple(sorted(user.patches)), band,
            reason, new_only, page, frozenset(done))
        return _page(request, "my_list.html", {"title": "Your list",
                                               "body": list_pages.get(key, render)}, user=user)

    @app.get("/my-list.csv")
    def my_list_csv(request: Request, user: Session = officer) -> Response:
        month = lists.latest_month(ws())
        entries = lists.list_entries(ws(), month, patches=user.patches) if month else []
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["month", "patch", "position", "person_id", "tenancy_ref", "uprn",
                         "address", "risk_band", "rank_in_patch", "movement", "reasons"])
        for e in entries:
            writer.writerow([_csv_cell(v) for v in (
                e.month, e.patch, e.position, e.person_id, e.tenancy_ref, e.uprn, e.address,
                e.risk_band, e.rank_in_patch, e.movement, "; ".join(e.reasons_officer))])
        log_event(ws(), "export", username=user.username, ip=_ip(request),
                  detail={"month": month, "rows": len(entries), "what": "my-list.csv"})
        return PlainTextResponse(out.getvalue(), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition":
                                          f'attachment; filename="list-{month or "none"}.csv"',
                                          "Cache-Control": "no-store"})

    # ---- a resident ---------------------------------------------------------------------

    def find(user: Session, person_id: str) -> lists.ListEntry:
        if user.role == "housing_officer":
            month = lists.latest_month(ws())
            found = lists.entry_for(ws(), person_id, month=month, patches=user.patches) \
                if month else None
        else:
            found = lists.entry_for(ws(), person_id)
        if found is None:  # not on a list this user may see: as if there were no such page
            raise StarletteHTTPException(404)
        return found

    def resident_page(request: Request, user: Session, entry: lists.ListEntry, *,
                      state: ResidentState | None = None, errors: dict[str, str] | None = None,
                      form: dict[str, str] | None = None, stale: bool = False,
                      recorded: bool = False, status: int = 200) -> Response:
        state = state or resident_state(ws(), entry.person_id, entry.month)
        return _page(request, "resident.html", {
            "title": f"Resident {entry.position} on the {entry.patch} list",
            "entry": entry, "reasons": entry.reasons_for(user.role),
            "attributable": _percent_points(entry.attributable_risk),
            "attributable_note": ATTRIBUTABLE_NOTE[:1].upper() + ATTRIBUTABLE_NOTE[1:],
            "history": lists.history_for(ws(), entry.person_id),
            "actions": actions_for(ws(), entry.person_id), "state": state,
            "action_labels": ACTIONS, "errors": errors or {}, "form": form or {},
            "stale": stale, "stale_message": STALE_MESSAGE, "recorded": recorded,
            "note_limit": NOTE_LIMIT, "can_record": user.role == "housing_officer"},
            user=user, status=status)

    @app.get("/residents/{person_id}", response_class=HTMLResponse)
    def resident(request: Request, person_id: str, recorded: bool = False,
                 user: Session = reader) -> Response:
        entry = find(user, person_id)
        log_event(ws(), "view_resident", username=user.username, person_id=entry.person_id,
                  ip=_ip(request), detail={"month": entry.month, "patch": entry.patch})
        return resident_page(request, user, entry, recorded=recorded)

    @app.post("/residents/{person_id}/actions", response_class=HTMLResponse)
    def record(request: Request, person_id: str, action: _Text = None, service: _Text = None,
               note: _Text = None, version: _Text = None, csrf_token: _Text = None,
               user: Session = officer) -> Response:
        check_form(request, csrf_token)
        entry = find(user, person_id)
        service = (service or "").strip() or None
        note = (note or "").strip() or None
        form = {"action": action or "", "service": service or "", "note": note or ""}
        errors = {}
        if action not in ACTIONS:
            errors["action"] = "Select what you did"
        elif action == "referred" and not service:
            errors["service"] = "Enter the service you referred them to"
        if service and len(service) > 200:
            errors["service"] = "The service's name must be 200 characters or fewer"
        if note and len(note) > NOTE_LIMIT:
            errors["note"] = f"The note must be {NOTE_LIMIT} characters or fewer"
        try:
            expected = int(version or "")
        except ValueError:
            expected = -1
        if expected < 0:
            errors["action"] = "The page was out of date. Look at it again and record your " \
                               "action."
        if errors:
            return resident_page(request, user, entry, errors=errors, form=form, status=400)
        try:
            record_action(ws(), person_id=entry.person_id, month=entry.month,
                          patch=entry.patch, action=str(action), officer=user.username,
                          note=note, service=service if action == "referred" else None,
                          expected_version=expected, ip=_ip(request))
        except StaleUpdate as exc:
            return resident_page(request, user, entry, state=exc.current, form=form,
                                 stale=True, status=409)
        return RedirectResponse(f"/residents/{entry.person_id}?recorded=true",
                                status_code=303)

    # ---- analysts and administrators ----------------------------------------------------

    @app.get("/analyst", response_class=HTMLResponse)
    def analyst_page(request: Request, user: Session = analyst) -> Response:
        rule = rule_for(ws())
        rows = [{"month": r["month"], "patch": r["patch"], "listed_any": r["listed"] > 0,
                 "listed": suppress_count(r["listed"], rule),
                 "actioned": suppress_count(r["actioned"], rule),
                 "actions": {k: suppress_count(r["actions"].get(k, 0), rule) for k in ACTIONS}}
                for r in lists.list_sizes(ws())]
        return _page(request, "analyst.html", {
            "title": "Lists and actions", "rows": rows, "action_labels": ACTIONS,
            "rule": rule}, user=user)

    @app.get("/analyst/lists/{month}/{patch}", response_class=HTMLResponse)
    def analyst_list(request: Request, month: str, patch: str, page: int = 1,
                     user: Session = analyst) -> Response:
        everyone = lists.publication(ws(), month).entries([patch])
        if not everyone:
            raise StarletteHTTPException(404)
        done = lists.actioned(ws(), month, patches=[patch])
        here = f"/analyst/lists/{quote(month, safe='')}/{quote(patch, safe='')}"
        rows, paging = _paging(len(everyone), page, lambda n: f"{here}?page={n}")
        shown = everyone[rows]
        log_event(ws(), "view_list", username=user.username, ip=_ip(request),
                  detail={"month": month, "patch": patch, "page": paging["page"],
                          "shown": len(shown)})
        return _page(request, "analyst_list.html", {
            **paging, "title": f"The {patch} list for {month}", "month": month,
            "patch": patch, "done": done, "total": len(everyone),
            "entries": [(e, _percent_points(e.attributable_risk)) for e in shown]}, user=user)

    @app.get("/admin/audit-log", response_class=HTMLResponse)
    def audit_log(request: Request, event: str | None = None,
                  user: Session = administrator) -> Response:
        chosen = event if event in EVENTS else None
        events = audit_events(ws(), events=[chosen] if chosen else None, limit=_AUDIT_LIMIT)
        return _page(request, "audit_log.html", {
            "title": "Audit log", "events": events, "event": chosen, "all_events": EVENTS,
            "limit": _AUDIT_LIMIT}, user=user)

    return app
