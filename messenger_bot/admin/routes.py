"""The HTTP side of /admin and /metrics: who may see them, and the pages.

Every admin URL goes through `guard`: a bearer header (right, or 403), else a session
cookie, else 401 with the sign-in form and no figures. Forms post back with a CSRF
token; sign-in failures are limited per address.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from messenger_bot.admin import pages
from messenger_bot.admin.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_SECONDS, address_of, same
from messenger_bot.admin.dashboard import load_dashboard
from messenger_bot.admin.inbox import groups_csv

if TYPE_CHECKING:
    from messenger_bot.admin import Operators

CSS = (Path(__file__).resolve().parent / "static" / "admin.css").read_bytes()
HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
DEFAULT_DAYS = 14
MAX_DAYS = 90
TOO_MANY = "Too many failed attempts from your address. Please wait 15 minutes, then try again."


class AdminSite:
    def __init__(self, operators: Operators) -> None:
        self.ops = operators
        assert operators.auth is not None
        self.auth = operators.auth

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/admin", self.dashboard, methods=["GET"]),
            Route("/admin/login", self.login_form, methods=["GET"]),
            Route("/admin/login", self.login, methods=["POST"]),
            Route("/admin/logout", self.logout, methods=["POST"]),
            Route("/admin/inbox", self.inbox, methods=["GET"]),
            Route("/admin/inbox.csv", self.inbox_csv, methods=["GET"]),
            Route("/admin/admin.css", self.css, methods=["GET"]),
            Route("/metrics", self.metrics, methods=["GET"]),
        ]

    # -- access --------------------------------------------------------------------

    def guard(self, request: Request, html: bool = True) -> tuple[Response | None, str | None]:
        """(a refusal, None) or (None, the session's CSRF token, or None when signed in by header)."""
        address = address_of(request)
        bearer = self.auth.bearer(request)
        if bearer is not None:
            if self.auth.failures.blocked(address):
                return _text(TOO_MANY, 429), None
            if self.auth.token_ok(bearer):
                return None, None
            self.auth.failures.failed(address)
            return _text("forbidden", 403), None
        nonce = self.auth.session(request)
        if nonce is not None:
            return None, self.auth.csrf_for(nonce)
        if not html:
            return _text("sign in, or send Authorization: Bearer <ADMIN_TOKEN>", 401,
                         {"www-authenticate": 'Bearer realm="messenger-bot"'}), None
        return self._login(401), None

    def _login(self, status: int, message: str = "") -> Response:
        """The sign-in form, with a fresh CSRF token mirrored in a cookie."""
        token = secrets.token_urlsafe(24)
        response = _html(pages.login_page(token, message), status)
        response.headers["www-authenticate"] = 'Bearer realm="messenger-bot"'
        response.set_cookie(**self.auth.cookie(LOGIN_CSRF_COOKIE, token, 3600))  # type: ignore[arg-type]
        return response

    async def login_form(self, request: Request) -> Response:
        if self.auth.session(request) is not None:
            return RedirectResponse("/admin", status_code=303)
        return self._login(200)

    async def login(self, request: Request) -> Response:
        address = address_of(request)
        if self.auth.failures.blocked(address):
            return self._login(429, TOO_MANY)
        form = await _form(request)
        if not same(form.get("csrf", ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
            return self._login(403, "The form had expired. Please sign in again.")
        if not self.auth.token_ok(form.get("token", "")):
            self.auth.failures.failed(address)
            return self._login(401, "That token is not right.")
        response = RedirectResponse("/admin", status_code=303)
        response.set_cookie(**self.auth.cookie(SESSION_COOKIE, self.auth.new_session(),  # type: ignore[arg-type]
                                               SESSION_SECONDS))
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin")
        return response

    async def logout(self, request: Request) -> Response:
        nonce = self.auth.session(request)
        form = await _form(request)
        if nonce is None or not same(form.get("csrf", ""), self.auth.csrf_for(nonce)):
            return _text("forbidden", 403)
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/admin")
        return response

    # -- pages ---------------------------------------------------------------------

    async def dashboard(self, request: Request) -> Response:
        denied, csrf = self.guard(request)
        if denied is not None:
            return denied
        days = _days(request.query_params.get("days"))
        store, now = self.ops.store, datetime.now(UTC)
        await self.ops.flush()
        senders = self.ops.runtime.settings.sender_channels if self.ops.runtime else ()
        board = await load_dashboard(store, now, days, senders)
        rows = await store.fetch("SELECT COUNT(*) FROM unanswered_groups")  # emptied by the retention
        return _html(pages.dashboard_page(board, int(rows[0][0]), csrf))

    async def inbox(self, request: Request) -> Response:
        denied, csrf = self.guard(request)
        if denied is not None:
            return denied
        await self.ops.flush()
        groups = await self.ops.inbox.groups(self.ops.store, datetime.now(UTC))
        return _html(pages.inbox_page(groups, self.ops.inbox.days, csrf))

    async def inbox_csv(self, request: Request) -> Response:
        denied, _ = self.guard(request, html=False)
        if denied is not None:
            return denied
        await self.ops.flush()
        groups = await self.ops.inbox.groups(self.ops.store, datetime.now(UTC), limit=100_000)
        name = f"unanswered-{datetime.now(UTC).date().isoformat()}.csv"
        return Response(groups_csv(groups), media_type="text/csv; charset=utf-8",
                        headers={**HEADERS, "content-disposition": f'attachment; filename="{name}"'})

    async def css(self, request: Request) -> Response:
        return Response(CSS, media_type="text/css; charset=utf-8", headers={"cache-control": "max-age=3600"})

    async def metrics(self, request: Request) -> Response:
        denied, _ = self.guard(request, html=False)
        if denied is not None:
            return denied
        return Response(self.ops.metrics.render(), media_type=CONTENT_TYPE_LATEST,
                        headers={"cache-control": "no-store"})


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form's first value per field (no multipart parser needed for two fields)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        return {k: v[0] for k, v in parse_qs(body, max_num_fields=10).items()}
    except ValueError:  # more fields than any of our forms has
        return {}


def _days(value: str | None) -> int:
    return min(MAX_DAYS, max(1, int(value))) if value and value.isdigit() else DEFAULT_DAYS


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _text(body: str, status: int, extra: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="text/plain; charset=utf-8",
                    headers={**HEADERS, **(extra or {})})
