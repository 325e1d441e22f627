"""A fake Telegram Bot API server on loopback, for tests and benchmarks.

It speaks the shape python-telegram-bot uses: `POST /bot<token>/<method>` with a
JSON or form-encoded body (JSON-encoded values for objects in a form), answered with
`{"ok": true, "result": ...}`. It records every call with the time it arrived,
queues updates for `getUpdates` (long polling), and can be told to answer a chat
with 429 (`retry_after`) or 403 (the user blocked the bot), or to be unreachable
(every connection closed at once, as when the Bot API cannot be reached).

Chaos (`fake.chaos(seed, faults=…)`) answers sends with faults at random. Some refuse the
message (429, 500, 403, a timeout or an unreadable 200 with nothing sent); the CREATED_FAULTS
create it, so the user sees it, and then lose the answer: held past the client's timeout
("created-timeout"), the connection dropped ("created-drop"), or a 200 that is not JSON
("garbled"). `fake.slow(seconds)` answers every send late; `fake.hold()` keeps every answer
back until `fake.release()` (the messages are created on arrival).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.waiting import HANG_BOUND

BOT_ID = 4242
USERNAME = "lip_test_bot"
SENDING = frozenset({"sendMessage", "editMessageText"})
#: Uploads: a photo or a document, sent as multipart form data (their bytes are kept in `Call.files`).
UPLOADS = frozenset({"sendPhoto", "sendDocument"})


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    #: The id of the message sent or edited (what a later tap refers to).
    message_id: int | None = None
    #: A chaos fault given instead of the answer ("timeout", "garbled", ...).
    fault: str | None = None
    #: Uploaded files by form field ("photo", "document"): (file name, bytes).
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: The message was sent (or edited): the user sees it, whatever answer the bot got.
    created: bool = False

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of the inline keyboard, row by row."""
        markup = self.params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None = None
    times: int | None = None  # None: every time


#: Chaos faults: 429 (retry_after 1), 500, no answer in time, 403 (blocked), a 200 whose body is not JSON;
#: in each the message was not sent.
FAULTS = ("429", "500", "timeout", "403", "malformed")
#: Faults after the message was created: answer held past the client's timeout, connection dropped, or
#: a 200 whose body is not JSON. The bot cannot tell whether the user got it.
CREATED_FAULTS = ("created-timeout", "created-drop", "garbled")
GARBLED = '{"ok": true, "result": {"message_id'


@dataclass
class Chaos:
    """Random faults on sends, decided per (chat, attempt) from the seed, so the run repeats
    whatever order concurrent sends arrive in; never more than `max_in_a_row` for one chat."""

    seed: int
    rate: float
    faults: tuple[str, ...] = FAULTS
    max_in_a_row: int = 2
    #: How long a "timeout" holds the request before dropping it (the client's timeout must be shorter).
    hang: float = 1.0
    attempts: dict[Any, int] = field(default_factory=dict)
    in_a_row: dict[Any, int] = field(default_factory=dict)

    def pick(self, key: Any) -> str | None:
        n = self.attempts[key] = self.attempts.get(key, 0) + 1
        roll = random.Random(f"{self.seed}:{key}:{n}")
        fault = roll.choice(self.faults) if roll.random() < self.rate else None
        if fault is not None and self.in_a_row.get(key, 0) >= self.max_in_a_row:
            fault = None
        self.in_a_row[key] = self.in_a_row.get(key, 0) + 1 if fault else 0
        return fault


@dataclass
class FakeTelegram:
    """Start with `with FakeTelegram() as fake:`; point the bot at `fake.base_url`."""

    token: str = "123456:TEST-token"
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = 0
        self._lock = threading.Lock()
        self._failures: dict[int, _Failure] = {}
        self._chaos: Chaos | None = None
        self._slow = 0.0
        self._open: asyncio.Event | None = None  # cleared: answers to sends wait (hold / release)
        self._answered = 0
        self._updates: list[dict[str, Any]] = []
        #: Returned by getUpdates, not yet confirmed by a later offset: sent again, as Telegram does.
        self._unconfirmed: list[dict[str, Any]] = []
        self._next_message_id = 1000
        self._next_update_id = 1
        self.reachable = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._arrived: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fake-telegram")

    # -- control (from the test's thread) ------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> FakeTelegram:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Telegram server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (pushing the same one twice is a redelivery)."""
        with self._lock:
            self._updates.append(update)
        if self._loop is not None and self._arrived is not None:
            self._loop.call_soon_threadsafe(self._arrived.set)
        return update

    def next_update_id(self) -> int:
        with self._lock:
            self._next_update_id += 1
            return self._next_update_id

    def block(self, chat_id: int) -> None:
        """Every message to the chat gets 403: the user blocked the bot."""
        self._failures[chat_id] = _Failure(403, "Forbidden: bot was blocked by the user")

    def unblock(self, chat_id: int) -> None:
        self._failures.pop(chat_id, None)

    def flood(self, chat_id: int, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` messages to the chat get 429 with `retry_after` seconds."""
        description = f"Too Many Requests: retry after {retry_after}"
        self._failures[chat_id] = _Failure(429, description, retry_after, times)

    def fail(self, chat_id: int, status: int = 500, times: int = 1) -> None:
        self._failures[chat_id] = _Failure(status, "Internal Server Error", None, times)

    def chaos(self, seed: int, rate: float = 0.3, **options: Any) -> Chaos:
        """From now on, sends fail at random (see `Chaos`); `calm()` ends it."""
        self._chaos = Chaos(seed, rate, **options)
        return self._chaos

    def calm(self) -> None:
        self._chaos = None
        self._slow = 0.0

    def slow(self, seconds: float) -> None:
        """Every send is created at once and answered `seconds` later (keep it under the client's timeout)."""
        self._slow = seconds

    def hold(self) -> None:
        """From now on sends are created on arrival and answered only after `release()`."""
        self._in_loop(lambda: self._gate().clear())

    def release(self) -> None:
        self._in_loop(lambda: self._gate().set())

    def answered(self) -> int:
        """Sends whose answer has gone back (held ones count once released)."""
        with self._lock:
            return self._answered

    def _in_loop(self, action: Callable[[], None]) -> None:
        """Run `action` on the server's loop and wait for it, so no request slips in between."""
        assert self._loop is not None

        async def run() -> None:
            action()

        asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=5)

    def _gate(self) -> asyncio.Event:
        if self._open is None:
            self._open = asyncio.Event()
            self._open.set()
        return self._open

    def unreachable(self) -> None:
        """Every request's connection is dropped unanswered (a network error for the client)."""
        self.reachable = False

    def reconnect(self) -> None:
        self.reachable = True

    def calls_to(self, method: str, chat_id: int | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and (chat_id is None or c.chat_id == chat_id)]

    def delivered(self, chat_id: int) -> list[Call]:
        """What the user sees arrive: messages sent or edited, in order (whatever answer the bot got)."""
        with self._lock:
            return [c for c in self.calls if c.method in SENDING and c.chat_id == chat_id and c.created]

    def wait_for(self, check: Callable[[], Any], timeout: float = HANG_BOUND) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.02)
        seen = [(c.method, c.chat_id, c.status) for c in self.calls]
        raise AssertionError(f"timed out waiting; calls so far: {seen}")

    # -- the server (its own thread and event loop) ----------------------------------------

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._arrived = asyncio.Event()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    async def _handle(self, request: web.Request) -> web.Response:
        if not self.reachable:
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("the fake Bot API is unreachable")
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        form, params = await _parameters(request)
        call = Call(method, params, time.time())
        for name, value in form.items():
            if isinstance(value, web.FileField):
                call.files[name] = (value.filename, value.file.read())
        failure = self._failure_for(method, call.chat_id)
        if failure is not None:
            call.status = failure.status
        chaos = self._chaos
        if failure is None and chaos is not None and method in SENDING and call.chat_id is not None:
            call.fault = chaos.pick(call.chat_id)
        with self._lock:
            self.calls.append(call)
        if call.fault is not None and call.fault not in CREATED_FAULTS:
            return await self._fault(call, chaos)  # type: ignore[arg-type]
        if failure is not None:
            return _error(failure.status, failure.description, failure.retry_after)
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            return _ok(await self._get_updates(float(params.get("timeout") or 0), offset))
        result = self._result(method, params)
        if isinstance(result, dict):
            call.message_id = result.get("message_id")
        call.created = method in SENDING
        if call.created:
            await self._answer_late()
            with self._lock:
                self._answered += 1
        if call.fault is not None:
            return await self._lost_answer(request, call, chaos)  # type: ignore[arg-type]
        return _ok(result)

    async def _answer_late(self) -> None:
        """slow() and hold(): the message exists already; only its answer waits."""
        if self._slow:
            await asyncio.sleep(self._slow)
        await self._gate().wait()

    async def _lost_answer(self, request: web.Request, call: Call, chaos: Chaos) -> web.Response:
        """The message was created; the answer never reaches the bot intact."""
        if call.fault == "garbled":
            return web.Response(status=200, text=GARBLED, content_type="application/json")
        call.status = 0
        if call.fault == "created-timeout":
            await asyncio.sleep(chaos.hang)  # the client has given up by now
        if request.transport is not None:
            request.transport.close()  # no answer at all: the connection just ends
        return web.Response(status=504)

    async def _fault(self, call: Call, chaos: Chaos) -> web.Response:
        if call.fault == "timeout":
            call.status = 0
            await asyncio.sleep(chaos.hang)  # the client has given up by now; the message never went
            return _error(504, "Gateway Timeout")
        if call.fault == "malformed":
            return web.Response(status=200, text='{"ok": true, "res', content_type="application/json")
        call.status = int(call.fault or 500)
        if call.status == 429:
            return _error(429, "Too Many Requests: retry after 1", 1)
        if call.status == 403:
            return _error(403, "Forbidden: bot was blocked by the user")
        return _error(call.status, "Internal Server Error")

    def _failure_for(self, method: str, chat_id: int | None) -> _Failure | None:
        failure = self._failures.get(chat_id) if chat_id is not None and method in SENDING else None
        if failure is None:
            return None
        if failure.times is not None:
            failure.times -= 1
            if failure.times <= 0:
                self._failures.pop(chat_id, None)  # type: ignore[arg-type]
        return failure

    async def _get_updates(self, timeout: float, offset: int) -> list[dict[str, Any]]:
        """Long polling: wait (up to the timeout, at most 1 s here) for queued updates. Updates
        below `offset` are confirmed; the others already returned come again, first."""
        assert self._arrived is not None
        with self._lock:
            self._unconfirmed = [u for u in self._unconfirmed if u.get("update_id", 0) >= offset]
        if not self._updates and not self._unconfirmed:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(timeout, 1.0))
        with self._lock:
            updates, self._updates = [*self._unconfirmed, *self._updates], []
            self._unconfirmed = updates
        return updates

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Lip Test", "username": USERNAME}
        if method in SENDING:
            chat_id = int(params["chat_id"])
            if method == "editMessageText":
                message_id = int(params["message_id"])
            else:
                with self._lock:
                    self._next_message_id += 1
                    message_id = self._next_message_id
            chat = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
            if chat_id < 0:
                chat["title"] = "A group"
            return {
                "message_id": message_id, "date": int(time.time()), "chat": chat,
                "text": params.get("text", ""),
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Lip Test", "username": USERNAME},
            }
        if method in UPLOADS:
            with self._lock:
                self._next_message_id += 1
                message_id = self._next_message_id
            chat_id = int(params["chat_id"])
            kind = "photo" if method == "sendPhoto" else "document"
            meta = {"file_id": f"f{message_id}", "file_unique_id": f"u{message_id}"}
            body: Any = [{**meta, "width": 800, "height": 500}] if kind == "photo" else meta
            return {
                "message_id": message_id, "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"}, kind: body, "caption": params.get("caption", ""),
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Lip Test", "username": USERNAME},
            }
        return True  # setWebhook, deleteWebhook, setMyCommands, answerCallbackQuery, ...


async def _parameters(request: web.Request) -> tuple[Any, dict[str, Any]]:
    """A call's parameters as the Bot API reads them: a JSON body, or form fields (multipart when
    files come too). Scalars read the same either way (as the text a form would carry)."""
    if request.content_type == "application/json":
        body = await request.json()
        return {}, {k: _decode(v if isinstance(v, str) else json.dumps(v)) for k, v in body.items()}
    form = await request.post()
    return form, {k: _decode(v) for k, v in form.items() if isinstance(v, str)}


def _decode(value: str) -> Any:
    """PTB JSON-encodes objects (reply_markup, allowed_updates) inside form fields."""
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


# -- updates as Telegram sends them ---------------------------------------------------------

def _user(chat_id: int) -> dict[str, Any]:
    return {"id": abs(chat_id), "is_bot": False, "first_name": "Pat"}


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "Pat"}
    return {"id": chat_id, "type": "group", "title": "A group"}


def text_update(
    update_id: int, chat_id: int, text: str, *, from_id: int | None = None, reply_to_bot: bool = False,
    message_id: int = 1,
) -> dict[str, Any]:
    """A typed message; a leading /command gets its bot_command entity, like Telegram's."""
    message: dict[str, Any] = {
        "message_id": message_id, "date": int(time.time()), "chat": _chat(chat_id),
        "from": _user(from_id or chat_id), "text": text,
    }
    entities = []
    if text.startswith("/"):
        entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
    mention = f"@{USERNAME}"
    if mention in text and not text.startswith("/"):
        entities.append({"type": "mention", "offset": text.index(mention), "length": len(mention)})
    if entities:
        message["entities"] = entities
    if reply_to_bot:
        message["reply_to_message"] = {
            "message_id": 7, "date": int(time.time()), "chat": _chat(chat_id), "text": "earlier",
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Lip Test", "username": USERNAME},
        }
    return {"update_id": update_id, "message": message}


def tap_update(
    update_id: int, chat_id: int, data: str, message_id: int, query_id: str | None = None
) -> dict[str, Any]:
    """A tap on an inline button of the bot's message `message_id`."""
    message = {
        "message_id": message_id, "date": int(time.time()), "chat": _chat(chat_id), "text": "menu",
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Lip Test", "username": USERNAME},
    }
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id or f"q{update_id}", "chat_instance": "ci", "data": data,
            "from": _user(chat_id), "message": message,
        },
    }


def forum_update(update_id: int, chat_id: int, text: str, thread: int) -> dict[str, Any]:
    """A message in a topic of a forum supergroup, addressed to the bot by a mention."""
    update = text_update(update_id, chat_id, text, from_id=77)
    message = update["message"]
    message["chat"] = {"id": chat_id, "type": "supergroup", "title": "Lip forum", "is_forum": True}
    message["message_thread_id"] = thread
    message["is_topic_message"] = True
    return update


def photo_update(update_id: int, chat_id: int, caption: str, *, from_id: int | None = None) -> dict[str, Any]:
    """A photo with a caption; a mention of the bot in the caption gets its caption entity."""
    message: dict[str, Any] = {
        "message_id": 5, "date": int(time.time()), "chat": _chat(chat_id), "from": _user(from_id or chat_id),
        "photo": [{"file_id": "AgAD-photo", "file_unique_id": "u1", "width": 90, "height": 90}],
        "caption": caption,
    }
    mention = f"@{USERNAME}"
    if mention in caption:
        message["caption_entities"] = [{"type": "mention", "offset": caption.index(mention),
                                        "length": len(mention)}]
    return {"update_id": update_id, "message": message}


#: Telegram's placeholder sender for a message an anonymous group admin writes as the group.
ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}


def anonymous_admin_update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    update = text_update(update_id, chat_id, text)
    update["message"]["from"] = ANONYMOUS_ADMIN
    update["message"]["sender_chat"] = _chat(chat_id)
    return update


def edited_update(update_id: int, chat_id: int, text: str, message_id: int = 1) -> dict[str, Any]:
    """The user edited their message `message_id` to read `text`."""
    update = text_update(update_id, chat_id, text, message_id=message_id)
    message = update.pop("message")
    message["edit_date"] = message["date"] + 30
    return {**update, "edited_message": message}


def member_update(update_id: int, chat_id: int, status: str) -> dict[str, Any]:
    """my_chat_member: the bot's status in the chat changed ("kicked": blocked, "member": back)."""
    old = "member" if status != "member" else "kicked"
    bot = {"id": BOT_ID, "is_bot": True, "first_name": "Lip Test", "username": USERNAME}

    def member(state: str) -> dict[str, Any]:
        extra = {"until_date": 0} if state == "kicked" else {}
        return {"status": state, "user": bot, **extra}

    return {"update_id": update_id, "my_chat_member": {
        "chat": _chat(chat_id), "from": _user(chat_id), "date": int(time.time()),
        "old_chat_member": member(old), "new_chat_member": member(status),
    }}


def unreadable_update(update_id: int, chat_id: int) -> dict[str, Any]:
    """An update python-telegram-bot cannot parse (its chat has no type), as a new or broken shape."""
    update = text_update(update_id, chat_id, "hello")
    update["message"]["chat"] = {"id": chat_id}
    return update
