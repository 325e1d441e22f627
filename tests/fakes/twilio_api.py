"""A fake Twilio REST API on loopback: it records what the bot sends and can answer with errors.

It speaks just enough of the real API for the twilio library to be pointed at it (by
`TWILIO_API_BASE_URL`): `POST /2010-04-01/Accounts/{sid}/Messages.json` (form body, Basic
auth, 201 with a message sid) and `POST /v1/Content` (JSON body, 201 with a content sid).
It runs in a thread, so both a `serve` subprocess and in-process async code can use it.
In chaos mode (`fake.chaos(seed)`) message creates fail at random: 429, 500, a timeout, 403,
a 400 opt-out (21610) or a 201 whose body is not JSON, none of them creating the message; with
`faults=CREATED_FAULTS` the message is created and then its answer is lost: held past the
client's timeout, the connection dropped, or a 201 that is not JSON. `fake.slow(seconds)`
answers every create late; `fake.hold()` keeps every answer back until `fake.release()`.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.telegram_api import CREATED_FAULTS, Chaos
from tests.support.waiting import HANG_BOUND

#: Chaos faults for Twilio: the Telegram ones, and an opt-out (400, error 21610).
FAULTS = ("429", "500", "timeout", "403", "malformed", "opted-out")


@dataclass
class Recorded:
    """One request the bot made: which API, the form (or JSON) it sent, and what it got back."""

    path: str
    form: dict[str, str]
    json: dict[str, Any] | None
    username: str | None
    status: int
    #: A chaos fault given instead of a clean answer.
    fault: str | None = None
    #: The message was created: it reaches the phone, whatever answer the bot got.
    created: bool = False


@dataclass
class Failure:
    """An answer to give instead of success: an HTTP status and Twilio's error code."""

    status: int
    code: int | None = None
    message: str = "fake error"


@dataclass
class _State:
    messages: list[Recorded] = field(default_factory=list)
    contents: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: Failures by recipient ("whatsapp:+…"), given every time that recipient is sent to.
    by_recipient: dict[str, Failure] = field(default_factory=dict)
    chaos: Chaos | None = None
    #: Seconds every answer to a create waits (slow()).
    slow: float = 0.0
    #: Cleared by hold(): answers to creates wait until release().
    open: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.open.set()


class FakeTwilio:
    """`with FakeTwilio() as fake:` … `fake.base_url`, `fake.messages`, `fake.fail_next(...)`."""

    def __init__(self) -> None:
        self.state = _State()
        handler = _handler(self.state)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def messages(self) -> list[Recorded]:
        with self.state.lock:
            return list(self.state.messages)

    @property
    def contents(self) -> list[Recorded]:
        with self.state.lock:
            return list(self.state.contents)

    def sent_to(self, to: str) -> list[Recorded]:
        return [m for m in self.messages if m.form.get("To") == to]

    def delivered(self, to: str) -> list[Recorded]:
        """Messages created for the recipient: what reaches their phone."""
        return [m for m in self.sent_to(to) if m.created]

    def chaos(self, seed: int, rate: float = 0.3, **options: Any) -> Chaos:
        """From now on message creates fail at random, per recipient (see telegram_api.Chaos)."""
        with self.state.lock:
            self.state.chaos = Chaos(seed, rate, **{"faults": FAULTS, **options})
            return self.state.chaos

    def calm(self) -> None:
        with self.state.lock:
            self.state.chaos = None
            self.state.slow = 0.0

    def slow(self, seconds: float) -> None:
        """Every create succeeds at once and is answered `seconds` later."""
        with self.state.lock:
            self.state.slow = seconds

    def hold(self) -> None:
        """From now on messages are created on arrival and answered only after `release()`."""
        self.state.open.clear()

    def release(self) -> None:
        self.state.open.set()

    def fail_next(self, status: int, code: int | None = None, times: int = 1) -> None:
        """The next `times` message creates answer `status` with Twilio error `code`."""
        with self.state.lock:
            self.state.failures.extend(Failure(status, code) for _ in range(times))

    def fail_recipient(self, to: str, status: int, code: int | None) -> None:
        with self.state.lock:
            self.state.by_recipient[to] = Failure(status, code)

    def wait_for(self, check: Callable[[], bool], timeout: float = HANG_BOUND) -> bool:
        """Wait until something the bot sends in the background has arrived (never a timing test)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.02)
        return check()


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go in two writes: without this, Nagle and delayed ACKs add 40 ms each.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
            username = _basic_user(self.headers.get("Authorization"))
            if self.path.endswith("/Messages.json"):
                form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                self._message(form, username)
            elif self.path.rstrip("/") == "/v1/Content":
                self._content(raw, username)
            else:
                self._answer(404, {"code": 20404, "message": "The requested resource was not found"})

        def _message(self, form: dict[str, str], username: str | None) -> None:
            with state.lock:
                failure = state.by_recipient.get(form.get("To", ""))
                if failure is not None and failure.status < 300:
                    failure = None  # fail_recipient(to, 201, None): that recipient works again
                if failure is None and state.failures:
                    failure = state.failures.pop(0)
                fault = state.chaos.pick(form.get("To")) if failure is None and state.chaos else None
                status = failure.status if failure else 201
                record = Recorded(self.path, form, None, username, status, fault)
                state.messages.append(record)
            hang = state.chaos.hang if state.chaos else 1.0
            if fault is not None and fault not in CREATED_FAULTS:
                self._fault(record, hang)
                return
            if failure is not None:
                self._answer(failure.status, _error(failure))
                return
            record.created = True
            if state.slow:
                time.sleep(state.slow)
            state.open.wait()
            if fault is not None:
                self._lost_answer(record, hang)
                return
            sid = "SM" + secrets.token_hex(16)
            self._answer(201, {
                "sid": sid, "status": "queued", "to": form.get("To"), "from": form.get("From"),
                "body": form.get("Body", ""), "account_sid": username, "num_segments": "1",
                "error_code": None, "error_message": None,
            })

        def _lost_answer(self, record: Recorded, hang: float) -> None:
            """The message exists; the bot gets no answer it can read."""
            if record.fault == "garbled":
                record.status = 201
                self._raw(201, b'{"sid": "SM')
                return
            record.status = 0
            if record.fault == "created-timeout":
                time.sleep(hang)  # the client has given up by now
            self.close_connection = True

        def _fault(self, record: Recorded, hang: float) -> None:
            fault = record.fault
            if fault == "timeout":
                record.status = 0
                time.sleep(hang)  # the client has given up by now
                self.close_connection = True
                return
            if fault == "malformed":
                record.status = 201
                self._raw(201, b'{"sid": "SM')
                return
            failure = {"429": Failure(429, 20429), "403": Failure(403, 20003), "503": Failure(503, 20503),
                       "opted-out": Failure(400, 21610)}.get(str(fault), Failure(500, 20500))
            record.status = failure.status
            self._answer(failure.status, _error(failure))

        def _content(self, raw: str, username: str | None) -> None:
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                with state.lock:
                    state.contents.append(Recorded(self.path, {"raw": raw}, None, username, 400))
                self._answer(400, {"code": 20001, "message": "body is not JSON", "status": 400})
                return
            with state.lock:
                state.contents.append(Recorded(self.path, {}, body, username, 201))
            sid = "HX" + secrets.token_hex(16)
            self._answer(201, {
                "sid": sid, "account_sid": username, "friendly_name": body.get("friendly_name"),
                "language": body.get("language"), "variables": body.get("variables") or {},
                "types": body.get("types") or {}, "url": f"https://content.twilio.com/v1/Content/{sid}",
            })

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            self._raw(status, json.dumps(body).encode())

        def _raw(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _error(failure: Failure) -> dict[str, Any]:
    return {"code": failure.code, "message": failure.message, "status": failure.status,
            "more_info": f"https://www.twilio.com/docs/errors/{failure.code}"}


def _basic_user(header: str | None) -> str | None:
    if not header or not header.startswith("Basic "):
        return None
    return base64.b64decode(header[6:]).decode().partition(":")[0]
