"""ASGI middleware: a request id for every request, a cap on body size, and the visitor's address
behind a proxy.

Written as plain ASGI (not BaseHTTPMiddleware) so a webhook's body is read once and
the cost per request stays small.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from messenger_bot.logs import request_id

log = logging.getLogger("messenger_bot.http")


class RequestIdMiddleware:
    """Tags each request (and every log line it causes) with an id, echoed in X-Request-Id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = secrets.token_hex(6)
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
                log.debug("%s %s -> %s", scope["method"], scope["path"], message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


class BodyLimitMiddleware:
    """413 for a body over the limit of its path, before the endpoint reads it all."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int], default: int = 64 * 1024) -> None:
        self.app = app
        self.limits = dict(limits)
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        if declared is not None and declared.isdigit() and _header(scope, b"transfer-encoding") is None:
            # The server reads exactly the declared length (its HTTP parser frames the body by
            # it), so a body within its declared length cannot grow past the limit: nothing to count.
            await self.app(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked_send)
        except _TooLarge:
            if not started:
                await _too_large(send, limit)


class _TooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The last value of a header (lower-case name, as ASGI servers give them), or None: what
    `dict(scope["headers"])` would say, without building the dict."""
    found = None
    for key, value in scope["headers"]:
        if key == name:
            found = value
    return None if found is None else bytes(found)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"error": f"request body too large (limit {limit} bytes)"}).encode()
    await send({
        "type": "http.response.start",
        "status": 413,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


class ForwardedMiddleware:
    """The visitor's address (and scheme) as the trusted proxy in front of us saw them.

    `X-Forwarded-For` is believed only when the peer is a trusted proxy (FORWARDED_ALLOW_IPS), and
    then read from the right: each proxy appends the address it saw, so the rightmost entry that is
    not itself a trusted proxy is the visitor, and anything to its left was written by the visitor
    (uvicorn's own handling takes the leftmost under "*", which a client invents at will). With
    "*" any peer is trusted (a platform router whose addresses change), but only for the entry it
    appended: the rightmost one.
    """

    def __init__(self, app: ASGIApp, trusted: str) -> None:
        self.app = app
        self.any_peer, self.proxies = parse_proxies(trusted)
        #: Whether an address is a trusted proxy, per address seen: parsing one costs more than
        #: the rest of this middleware, and the peer is the same few proxies request after request.
        self._known: dict[str, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and client and self._is_proxy(client[0], peer=True):
            headers = scope["headers"]
            hops = [hop for name, value in headers if name == b"x-forwarded-for"
                    for hop in value.decode("latin-1").split(",")]
            visitor = self._visitor(hops)
            if visitor is not None:
                scope["client"] = (visitor, 0)
            proto = (_header(scope, b"x-forwarded-proto") or b"").decode("latin-1").strip().lower()
            if proto in {"http", "https"}:
                scope["scheme"] = proto
        await self.app(scope, receive, send)

    def _visitor(self, hops: list[str]) -> str | None:
        """The rightmost hop that is not a trusted proxy; None when a hop is not an address."""
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                return None
            if not self._is_proxy(address, peer=False):
                return address
        return None

    def _is_proxy(self, host: str, peer: bool) -> bool:
        if peer and self.any_peer:
            return True
        known = self._known.get(host)
        if known is None:
            if len(self._known) >= KNOWN_ADDRESSES:
                self._known.clear()
            known = self._known[host] = _in_networks(host, self.proxies)
        return known


#: Addresses whose verdict `ForwardedMiddleware` keeps; past this many it starts afresh.
KNOWN_ADDRESSES = 4096


def _in_networks(host: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def parse_proxies(trusted: str) -> tuple[bool, list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """FORWARDED_ALLOW_IPS ("*", or addresses and networks separated by commas); ValueError if malformed."""
    items = [item.strip() for item in trusted.split(",") if item.strip()]
    if items == ["*"]:
        return True, []
    return False, [ipaddress.ip_network(item, strict=False) for item in items]


def _address(hop: str) -> str | None:
    """'203.0.113.9', '203.0.113.9:5000' or '[2001:db8::1]:443' as a plain address; None for anything else."""
    hop = hop.strip()
    if hop.startswith("["):
        hop = hop[1:].partition("]")[0]
    elif hop.count(":") == 1:
        hop = hop.partition(":")[0]
    try:
        return str(ipaddress.ip_address(hop))
    except ValueError:
        return None
