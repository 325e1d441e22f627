"""Who may see /admin and /metrics: the holder of ADMIN_TOKEN, by header or by session.

- Scripts send `Authorization: Bearer <ADMIN_TOKEN>` on every request.
- A browser signs in once with a form (never a token in a URL) and gets a session cookie
  (HttpOnly, SameSite=Strict, Secure when PUBLIC_BASE_URL is https). The cookie is signed
  with a key derived from the token, so every instance accepts it and changing the token
  signs everyone out; it expires after SESSION_SECONDS.
- Every form carries a CSRF token: before sign-in a random one mirrored in a cookie, after
  it one derived from the session.
- Comparisons are constant-time (hmac.compare_digest); failed sign-ins and wrong bearer
  tokens are limited per address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from starlette.requests import Request

SESSION_COOKIE = "mb_admin"
LOGIN_CSRF_COOKIE = "mb_admin_csrf"
SESSION_SECONDS = 12 * 3600
#: Failed attempts an address may make per window before it is refused for the rest of it.
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60.0


class FailureLimiter:
    """Failed attempts per address in a sliding window; memory is bounded (oldest forgotten)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def blocked(self, address: str) -> bool:
        times = self._failures.get(address)
        if not times:
            return False
        cutoff = self.clock() - FAILURE_WINDOW
        while times and times[0] <= cutoff:
            times.popleft()
        return len(times) >= MAX_FAILURES

    def failed(self, address: str) -> None:
        times = self._failures.setdefault(address, deque())
        times.append(self.clock())
        self._failures.move_to_end(address)
        if len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)


class AdminAuth:
    def __init__(self, token: str, secure: bool, clock: Callable[[], float] = time.time) -> None:
        self._token = token.encode()
        self._key = hmac.new(self._token, b"messenger-bot admin session v1", hashlib.sha256).digest()
        self.secure = secure
        self.clock = clock
        self.failures = FailureLimiter()

    def token_ok(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._token)

    def bearer(self, request: Request) -> str | None:
        """The bearer token a request carries, or None when it sends no Authorization header."""
        header = request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""

    # -- sessions ----------------------------------------------------------------

    def _sign(self, message: str) -> str:
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    def new_session(self) -> str:
        body = f"{int(self.clock()) + SESSION_SECONDS}.{secrets.token_urlsafe(16)}"
        return f"{body}.{self._sign(body)}"

    def session(self, request: Request) -> str | None:
        """The session's nonce when the cookie is genuine and current, else None."""
        value = request.cookies.get(SESSION_COOKIE, "")
        body, _, signature = value.rpartition(".")
        expires, _, nonce = body.partition(".")
        if not (expires.isdigit() and nonce and hmac.compare_digest(signature, self._sign(body))):
            return None
        return nonce if int(expires) > self.clock() else None

    def csrf_for(self, nonce: str) -> str:
        return self._sign(f"csrf.{nonce}")

    def cookie(self, name: str, value: str, max_age: int) -> dict[str, object]:
        """Cookie settings for starlette's set_cookie: never readable by scripts, never cross-site."""
        return {"key": name, "value": value, "max_age": max_age, "httponly": True, "samesite": "strict",
                "secure": self.secure, "path": "/admin"}


def address_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def same(a: str, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())
