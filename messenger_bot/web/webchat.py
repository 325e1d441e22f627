"""The web chat: a page anyone can open, and the JSON endpoint it talks to.

Like every channel it only translates: a posted message becomes an `Incoming` for
the engine, and the replies go back in the `chat --json` shape, which the page renders
with buttons. The page, its script and its style ship inside the package, so the chat
works offline and needs no build step. The page's words are content (flows/webchat.yaml),
filled into the page in the browser's language (Accept-Language), which also goes to the
engine as the user's language hint.
"""

from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from messenger_bot.content import Content
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.emergency import country_for_place
from messenger_bot.runtime import Runtime
from messenger_bot.settings import Settings
from messenger_bot.throttle import FloodGate, Throttle
from messenger_bot.web.texts import WebChatTexts

log = logging.getLogger("messenger_bot.web.chat")

CHAT_PATH = "/api/chat"
BODY_LIMIT = 16 * 1024
#: The key a browser keeps for itself: random, so it says nothing about the person.
USER_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_PAYLOAD = 200
#: What a browser says of its place: an IANA zone name and BCP 47 language tags, each short.
TIME_ZONE = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+){0,2}")
LANGUAGE = re.compile(r"[A-Za-z0-9-]{2,35}")
MAX_LANGUAGES = 10
#: Longest message text, checked before the engine; the page's text box holds no more (maxlength).
MAX_TEXT = 4000
STATIC = Path(__file__).resolve().parent / "static"
#: Scripts and styles only from this server: a slip in escaping still cannot run anything.
HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
ASSETS = {
    "/static/chat.js": ("chat.js", "text/javascript; charset=utf-8"),
    "/static/chat.css": ("chat.css", "text/css; charset=utf-8"),
}
PAGE = "/"
_SLOT = re.compile(r"\{\{([a-z_]+)\}\}")


class BadRequest(Exception):
    """The body is not a message the chat understands; the text says why, briefly."""

    status = 400


class TooLong(BadRequest):
    """A message longer than the chat reads: 413, like a body over its limit."""

    status = 413


@dataclass(frozen=True)
class ChatMessage:
    user: str
    text: str | None
    button: str | None
    country: str | None = None


def parse_message(body: bytes) -> ChatMessage:
    """`{"user": KEY, "text": "..."}` or `{"user": KEY, "button": "<payload>"}`, or BadRequest.

    Optional `time_zone` and `languages` (the browser's) give the country for the alert's number;
    a value that is missing, malformed or unknown only means no country, never a 400.
    """
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, an integer of thousands of digits, too deep
        raise BadRequest("the body must be JSON (numbers under 4,300 digits, nesting under 1,000)") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    user = data.get("user")
    if not isinstance(user, str) or not USER_KEY.match(user):
        raise BadRequest('"user" must be 8 to 64 letters, digits, "-" or "_"')
    text, button = data.get("text"), data.get("button")
    if (text is None) == (button is None):
        raise BadRequest('send either "text" or "button"')
    if text is not None and not isinstance(text, str):
        raise BadRequest('"text" must be a string')
    if text is not None and len(text) > MAX_TEXT:
        raise TooLong(f'"text" is too long: at most {MAX_TEXT} characters')
    if button is not None and (not isinstance(button, str) or not 0 < len(button) <= MAX_PAYLOAD):
        raise BadRequest(f'"button" must be a string of 1 to {MAX_PAYLOAD} characters')
    return ChatMessage(user, text, button, _country(data.get("time_zone"), data.get("languages")))


def _country(time_zone: object, languages: object) -> str | None:
    """The country a browser's time zone (or else its first language) names, if any."""
    zone = time_zone if isinstance(time_zone, str) and len(time_zone) <= 64 else None
    zone = zone if zone and TIME_ZONE.fullmatch(zone) else None
    tags: list[str] = []
    if isinstance(languages, list):
        tags = [t for t in languages[:MAX_LANGUAGES] if isinstance(t, str) and LANGUAGE.fullmatch(t)]
    return country_for_place(zone, tags)


def accept_language(header: str | None) -> str | None:
    """The browser's first language from Accept-Language ("pt-BR,pt;q=0.9" -> "pt-BR"), if well formed."""
    first = (header or "").split(",")[0].split(";")[0].strip()
    return first if LANGUAGE.fullmatch(first) else None


def texts_for(content: Content, tag: str | None) -> WebChatTexts:
    """The page's words in the language a tag names, else the default language's."""
    return content.in_language(_primary(tag)).extra["webchat.yaml"]


def _primary(tag: str | None) -> str | None:
    return tag.split("-")[0].lower() if tag else None


def fill_page(template: str, texts: WebChatTexts, code: str) -> bytes:
    """index.html with its {{slots}} filled: the page's words, escaped, and its language code."""
    values = {**texts.model_dump(), "lang": code}
    return _SLOT.sub(lambda m: html.escape(str(values.get(m.group(1), "")), quote=True), template).encode()


class WebChat:
    """The channel "web": the page at `/` and `POST /api/chat`."""

    name = "web"

    def __init__(self, settings: Settings) -> None:
        self.body_limits = {CHAT_PATH: BODY_LIMIT}
        #: Per browser key, then per address (several people behind one router share an address).
        self.gate = FloodGate(Throttle(settings.webchat_rate, 60.0), Throttle(settings.webchat_ip_rate, 60.0))
        self.runtime: Runtime | None = None
        self.assets = {path: ((STATIC / name).read_bytes(), kind) for path, (name, kind) in ASSETS.items()}
        self.template = (STATIC / "index.html").read_text(encoding="utf-8")

    def routes(self) -> list[BaseRoute]:
        pages = [Route(path, self.asset, methods=["GET", "HEAD"]) for path in self.assets]
        page = Route(PAGE, self.page, methods=["GET", "HEAD"])
        return [page, *pages, Route(CHAT_PATH, self.chat, methods=["POST"])]

    async def start(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def stop(self) -> None:
        self.runtime = None

    async def asset(self, request: Request) -> Response:
        body, kind = self.assets[request.url.path]
        return Response(body, media_type=kind, headers={**HEADERS, "cache-control": "no-cache"})

    async def page(self, request: Request) -> Response:
        """The chat page in the browser's language (the default when the content lacks it)."""
        if self.runtime is None:
            return Response(status_code=503, headers={**HEADERS, "retry-after": "5"})
        tag = accept_language(request.headers.get("accept-language"))
        content = self.runtime.content.in_language(_primary(tag))
        body = fill_page(self.template, texts_for(content, tag), content.code)
        headers = {**HEADERS, "cache-control": "no-cache", "vary": "accept-language"}
        return Response(body, media_type="text/html; charset=utf-8", headers=headers)

    async def chat(self, request: Request) -> Response:
        try:
            message = parse_message(await request.body())
        except BadRequest as error:
            return JSONResponse({"error": str(error)}, status_code=error.status)
        if self.runtime is None:  # no content yet: the page says its own apology (data-failed)
            return JSONResponse({"error": "starting or stopping"}, status_code=503)
        tag = accept_language(request.headers.get("accept-language"))
        texts = texts_for(self.runtime.content, tag)
        incoming = Incoming("web", message.user, text=message.text, button=message.button,
                            country=message.country, language=tag)
        address = request.client.host if request.client else "unknown"
        admission = await self.gate.admit(self.runtime.engine, incoming, message.user, address)
        if not admission.admitted:
            return _throttled(admission.alert, texts)
        try:
            replies = await self.runtime.engine.turn(incoming)
        except Exception:
            log.exception("web chat: the turn failed")
            return JSONResponse({"error": "unavailable", "message": texts.unavailable}, status_code=503)
        return JSONResponse({"replies": [reply.as_json() for reply in replies]})


def _throttled(alert: list[Reply], texts: WebChatTexts) -> Response:
    """429 for a client over its limit, unless it described a warning sign: then the alert alone."""
    log.info("web chat: throttled a client%s", "; only the emergency alert sent" if alert else "")
    if alert:
        return JSONResponse({"replies": [reply.as_json() for reply in alert]})
    return JSONResponse({"error": "too many messages", "message": texts.slow_down}, status_code=429,
                        headers={"retry-after": "5"})
