"""The web chat and the app around it, through the app's public door (HTTP, in process)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from messenger_bot.content import Content
from messenger_bot.settings import load_settings
from messenger_bot.wiring import create_app
from tests.support.server import ServeProcess

USER = "browser-key-0001"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    app = create_app(load_settings(database_url=f"sqlite:///{tmp_path}/x.sqlite3"), scheduler=False)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://chat.test") as client:
        yield client


async def say(client: httpx.AsyncClient, user: str = USER, **message: str) -> list[dict[str, Any]]:
    response = await client.post("/api/chat", json={"user": user, **message})
    assert response.status_code == 200, response.text
    return response.json()["replies"]


def labels(reply: dict[str, Any]) -> list[str]:
    return [button["label"] for button in reply["buttons"]]


# -- a conversation --------------------------------------------------------------------------


async def test_the_first_screen_is_the_notice_then_the_menu(client: httpx.AsyncClient) -> None:
    replies = await say(client, text="start")
    assert "not a doctor" in replies[0]["text"]
    assert replies[-1]["kind"] == "menu"
    assert "Why is it happening?" in labels(replies[-1])
    assert set(replies[-1]) == {"kind", "topic", "text", "buttons"}
    again = await say(client, text="menu")
    assert [r["kind"] for r in again] == ["menu"], "the notice is shown once per browser"


async def test_tapping_buttons_walks_to_caffeine(client: httpx.AsyncClient) -> None:
    menu = (await say(client, text="start"))[-1]
    causes = await say(client, button=_payload(menu, "Why is it happening?"))
    everyday = await say(client, button=_payload(causes[-1], "Everyday causes"))
    caffeine = await say(client, button=_payload(everyday[-1], "Caffeine"))
    assert (caffeine[-1]["kind"], caffeine[-1]["topic"]) == ("topic", "caffeine")
    assert "400 mg" in caffeine[-1]["text"]
    assert "Main menu" in labels(caffeine[-1])


async def test_a_typed_question_is_answered_with_its_topic(client: httpx.AsyncClient) -> None:
    replies = await say(client, text="can coffee cause it?")
    assert replies[-1]["kind"] == "topic"
    assert replies[-1]["topic"] == "caffeine"


async def test_a_warning_sign_gets_the_alert_first(client: httpx.AsyncClient) -> None:
    await say(client, text="start")
    replies = await say(client, text="my face is drooping and I can't speak")
    assert replies[0]["kind"] == "alert"
    assert replies[0]["buttons"], "the alert offers the emergency page and the menu"


async def test_a_stale_button_gets_the_menu(client: httpx.AsyncClient) -> None:
    replies = await say(client, button="no-such-node-any-more")
    assert replies[-1]["kind"] == "menu"


async def test_two_browsers_have_separate_conversations(client: httpx.AsyncClient) -> None:
    await say(client, text="start")
    other = await say(client, user="another-browser-42", text="start")
    assert "not a doctor" in other[0]["text"]


async def test_markup_in_a_message_comes_back_as_json_never_as_html(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/chat", json={"user": USER, "text": "<script>alert(1)</script> what causes a lip twitch?"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "<script" not in response.text
    page = await client.get("/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


# -- the page ---------------------------------------------------------------------------------


async def test_the_page_and_its_files_are_served_from_the_package(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<label for="message">' in html and 'role="log"' in html and 'aria-live="polite"' in html
    assert "http://" not in html and "https://" not in html, "no CDN: the page works offline"
    script = await client.get("/static/chat.js")
    style = await client.get("/static/chat.css")
    assert script.status_code == style.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write"):
        assert sink not in script.text, "texts go on the page with textContent only"


# -- bad input --------------------------------------------------------------------------------


MALFORMED = [
    (b"{not json", "JSON"),
    (b"\xff\xfe", "JSON"),
    (b"[1, 2]", "object"),
    (json.dumps({"text": "hi"}).encode(), "user"),
    (json.dumps({"user": "short", "text": "hi"}).encode(), "user"),
    (json.dumps({"user": "has spaces in it", "text": "hi"}).encode(), "user"),
    (json.dumps({"user": 12345678, "text": "hi"}).encode(), "user"),
    (json.dumps({"user": USER}).encode(), "either"),
    (json.dumps({"user": USER, "text": "hi", "button": "menu"}).encode(), "either"),
    (json.dumps({"user": USER, "text": ["hi"]}).encode(), "text"),
    (json.dumps({"user": USER, "button": ""}).encode(), "button"),
    (json.dumps({"user": USER, "button": "x" * 500}).encode(), "button"),
]


async def test_a_malformed_body_gets_400_and_a_reason(client: httpx.AsyncClient) -> None:
    for body, reason in MALFORMED:
        response = await client.post("/api/chat", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400, body
        assert reason in response.json()["error"], body
    assert (await say(client, text="menu"))[-1]["kind"] == "menu", "bad bodies leave the chat working"


async def test_unknown_routes_and_wrong_methods(client: httpx.AsyncClient) -> None:
    missing = await client.get("/no/such/page")
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}
    for method, path in [("GET", "/api/chat"), ("PUT", "/api/chat"), ("POST", "/"), ("DELETE", "/healthz")]:
        response = await client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert "Traceback" not in response.text


async def test_a_body_over_16_kb_gets_413(client: httpx.AsyncClient) -> None:
    declared = await client.post("/api/chat", json={"user": USER, "text": "a" * 17_000})
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"user": "' + USER.encode() + b'", "text": "'
        for _ in range(20):
            yield b"a" * 1024
        yield b'"}'

    streamed = await client.post("/api/chat", content=chunks())
    assert streamed.status_code == 413
    assert "too large" in streamed.json()["error"]
    too_long = await client.post("/api/chat", json={"user": USER, "text": "a" * 4001})
    assert too_long.status_code == 413 and "at most 4000 characters" in too_long.json()["error"]
    assert (await say(client, text="a" * 4000))[-1]["kind"] in {"fallback", "topic"}


async def test_a_database_failure_is_a_polite_503_not_a_500(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await app.state.runtime.store.close()
    response = await client.post("/api/chat", json={"user": USER, "text": "hello"})
    assert response.status_code == 503
    assert "try again" in response.json()["message"]


# -- flooding ---------------------------------------------------------------------------------


async def test_one_flooding_browser_is_throttled_while_another_is_answered(
    client: httpx.AsyncClient,
) -> None:
    statuses = []
    for _ in range(40):
        response = await client.post("/api/chat", json={"user": "flooder-0001", "text": "menu"})
        statuses.append(response.status_code)
    assert 429 in statuses and statuses[0] == 200
    refused = response.json()
    assert response.status_code == 429 and "wait" in refused["message"]
    assert response.headers["retry-after"].isdigit()
    assert (await say(client, user="calm-person-01", text="menu"))[-1]["kind"] == "menu"


async def test_one_address_rotating_keys_is_throttled_while_another_address_is_answered(
    tmp_path: Path,
) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/x.sqlite3", webchat_ip_rate=10)
    app = create_app(settings, scheduler=False)
    flood = httpx.ASGITransport(app, client=("203.0.113.9", 5000))
    calm = httpx.ASGITransport(app, client=("198.51.100.7", 5000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=flood, base_url="http://chat.test") as flooder,
        httpx.AsyncClient(transport=calm, base_url="http://chat.test") as neighbour,
    ):
        statuses = [
            (await flooder.post("/api/chat", json={"user": f"rotating-{n:04d}", "text": "menu"})).status_code
            for n in range(20)
        ]
        assert statuses[0] == 200 and statuses[-1] == 429
        assert (await say(neighbour, user="neighbour-0001", text="menu"))[-1]["kind"] == "menu"


def test_a_flooding_browser_that_describes_a_warning_sign_still_gets_the_alert(
    bot_env: dict[str, str],
) -> None:
    """Through a real `serve`: past the limit a browser gets 429, but a warning sign gets the alert."""
    with ServeProcess({**bot_env, "WEBCHAT_RATE": "30"}, "--no-scheduler") as serve, httpx.Client() as http:
        def post(text: str) -> httpx.Response:
            return http.post(f"{serve.url}/api/chat", json={"user": "flooder-0002", "text": text})

        statuses = [post("menu").status_code for _ in range(35)]
        assert statuses[0] == 200 and statuses[-1] == 429
        response = post("my face is drooping and I can't speak")
        assert response.status_code == 200
        [alert] = response.json()["replies"]
        assert alert["kind"] == "alert" and "Call 112, 911 or 999 now." in alert["text"]
        assert alert["buttons"], "the alert still offers the way on"
        assert post("menu").status_code == 429, "the alert opened no way around the limit"


# -- behind a proxy ----------------------------------------------------------------------------


@pytest.mark.parametrize("trusted", ["*", "127.0.0.1,10.0.0.0/8"])
def test_behind_a_proxy_an_invented_forwarded_for_buys_no_way_around_the_address_limit(
    bot_env: dict[str, str], trusted: str
) -> None:
    """Each proxy appends the address it saw; the visitor writes whatever it likes to the left.
    Under "*" (a platform router) the rightmost entry is the visitor; with a list of proxies, the
    rightmost entry that is not one of them (here the router 10.0.0.5 sits between)."""
    env = {**bot_env, "FORWARDED_ALLOW_IPS": trusted, "WEBCHAT_IP_RATE": "10"}
    router = ", 10.0.0.5" if trusted != "*" else ""
    with ServeProcess(env, "--no-scheduler") as serve, httpx.Client() as http:
        def post(user: str, forwarded: str) -> int:
            return http.post(f"{serve.url}/api/chat", json={"user": user, "text": "menu"},
                             headers={"x-forwarded-for": forwarded + router}).status_code

        statuses = [post(f"rotating-{n:04d}", f"198.51.100.{n}, 203.0.113.9") for n in range(20)]
        assert statuses[0] == 200 and statuses[-1] == 429, "one visitor, however many addresses it invents"
        assert post("neighbour-0001", "203.0.113.77") == 200, "another visitor is not slowed"


def test_a_malformed_forwarded_allow_ips_stops_the_start_naming_it(bot_env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "messenger_bot", "serve", "--no-scheduler"],
                            env={**bot_env, "FORWARDED_ALLOW_IPS": "10.0.0.0/8, the router"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "FORWARDED_ALLOW_IPS" in result.stderr and "networks separated by commas" in result.stderr


# -- health -----------------------------------------------------------------------------------


async def test_healthz_is_ok_then_503_when_the_database_is_gone(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ok = await client.get("/healthz")
    assert ok.status_code == 200
    assert ok.json()["status"] == "ok" and ok.json()["database"] == "reachable"
    await app.state.runtime.store.close()
    down = await client.get("/healthz")
    assert down.status_code == 503
    assert down.json()["database"] == "unreachable"


# -- the alert names a number, through a real `serve` ------------------------------------------

RED_FLAG = "my face is drooping and I can't speak"
_browsers = itertools.count(1)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('serve') / 'bot.sqlite3'}"
    with ServeProcess(env, "--no-scheduler") as server:
        yield server.url


def alert_from(url: str, **place: Any) -> str:
    """A new browser, at `place`, describes a warning sign; the text of the alert it gets."""
    body = {"user": f"placed-browser-{next(_browsers):04d}", "text": RED_FLAG, **place}
    response = httpx.post(f"{url}/api/chat", json=body, timeout=30)
    assert response.status_code == 200, response.text
    replies = response.json()["replies"]
    assert replies[0]["kind"] == "alert"
    assert set(replies[0]) == {"kind", "topic", "text", "buttons"}, "the reply shape stays"
    return replies[0]["text"]


@pytest.mark.parametrize(("place", "number"), [
    ({"time_zone": "Europe/London", "languages": ["en-GB", "en"]}, "Call 999 now"),
    ({"time_zone": "America/Chicago", "languages": ["en-GB"]}, "Call 911 now"),  # the zone wins
    ({"time_zone": "Asia/Calcutta", "languages": ["en-US"]}, "Call 112 now"),  # an old name of Asia/Kolkata
    ({"time_zone": "Europe/Berlin"}, "Call 112 now"),
    ({"time_zone": "UTC", "languages": ["pt-BR", "en"]}, "Call 192 now"),  # no country in UTC: the language's
    ({"languages": ["en-AU"]}, "Call 000 now"),
])
def test_the_browsers_time_zone_or_language_picks_the_number(
    served: str, place: dict[str, Any], number: str
) -> None:
    text = alert_from(served, **place)
    assert number in text
    assert "112, 911 or 999" not in text


@pytest.mark.parametrize("place", [
    {},
    {"time_zone": "UTC", "languages": ["en"]},
    {"time_zone": "Etc/GMT-2"},
    {"time_zone": "Asia/Tashkent"},  # a country the content has no number for
    {"time_zone": "Mars/Olympus_Mons", "languages": ["xx"]},
    {"time_zone": "../../etc/passwd", "languages": "en-GB"},
    {"time_zone": 44, "languages": [7, {"tag": "en-GB"}, None]},
    {"time_zone": "Europe/London" * 10, "languages": ["en-" + "x" * 100]},
    {"time_zone": None, "languages": None},
])
def test_with_no_country_known_the_alert_names_112_911_and_999(
    served: str, content: Content, place: dict[str, Any]
) -> None:
    """Malformed or unknown places are not an error: the person still gets the alert, with the
    numbers of the largest regions and the line that says which works where."""
    text = alert_from(served, **place)
    assert "Call 112, 911 or 999 now" in text
    assert content.messages.alert.general_note in text
    assert text.index(content.messages.alert.general_note) < text.index("•"), "right below the numbers"


def _payload(reply: dict[str, Any], label: str) -> str:
    return next(b["payload"] for b in reply["buttons"] if b["label"] == label)
