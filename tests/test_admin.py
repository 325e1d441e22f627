"""Operators' pages and /metrics through a real `serve`: who may see them and what they show."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from messenger_bot.storage import SQLiteStorage
from tests.fakes.telegram_api import FakeTelegram
from tests.support.admin_seed import seed_known
from tests.support.chat import ChatProcess
from tests.support.server import ServeProcess
from tests.test_reminders_e2e import EIGHT, send_due, subscribe, telegram_env

TOKEN = "op-token-" + "x" * 24
BEARER = {"authorization": f"Bearer {TOKEN}"}


def seeded(path: Path) -> None:
    async def run() -> None:
        store = SQLiteStorage(path)
        await store.open()
        await seed_known(store, datetime.now(UTC))
        await store.close()

    asyncio.run(run())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    import os

    tmp = tmp_path_factory.mktemp("admin")
    seeded(tmp / "bot.sqlite3")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'bot.sqlite3'}", ADMIN_TOKEN=TOKEN, PID_DIR=str(tmp / "run"),
               PUBLIC_BASE_URL="https://bot.example.org", PYTHONUNBUFFERED="1")
    with ServeProcess(env, "--no-scheduler") as serve:
        yield serve


def get(server: ServeProcess, path: str, **kwargs: object) -> httpx.Response:
    return httpx.get(server.url + path, follow_redirects=False, **kwargs)  # type: ignore[arg-type]


def test_without_admin_token_there_is_no_admin(bot_env: dict[str, str], tmp_path: Path) -> None:
    with ServeProcess({**bot_env, "PID_DIR": str(tmp_path)}, "--no-scheduler") as serve:
        for path in ("/admin", "/admin/login", "/admin/inbox", "/admin/inbox.csv", "/metrics"):
            assert get(serve, path).status_code == 404, path
            assert get(serve, path, headers={"authorization": "Bearer anything"}).status_code == 404


@pytest.mark.parametrize("path", ["/admin", "/admin/inbox", "/admin/inbox.csv", "/metrics"])
def test_without_the_token_nothing_is_shown(server: ServeProcess, path: str) -> None:
    anonymous = get(server, path)
    assert anonymous.status_code == 401
    wrong = get(server, path, headers={"authorization": "Bearer not-the-token"})
    assert wrong.status_code == 403
    for response in (anonymous, wrong):
        assert "1,234" not in response.text and "cat" not in response.text
        assert "messenger_bot_" not in response.text
        assert response.headers["cache-control"] == "no-store"
    if path != "/metrics" and not path.endswith(".csv"):
        assert 'name="token"' in anonymous.text  # the sign-in form, and nothing else


def test_the_bearer_token_shows_the_seeded_figures(server: ServeProcess) -> None:
    page = get(server, "/admin", headers=BEARER)
    assert page.status_code == 200
    assert re.search(r'data-metric="Messages">1,274<', page.text)  # 1,234 web + 40 telegram
    assert re.search(r'data-metric="New users">40<', page.text)
    assert re.search(r'data-metric="Emergency alerts">3<', page.text)
    assert "<td>caffeine</td><td>206</td><td>5</td><td>2</td>" in page.text  # reads, 👍, 👎
    assert "<svg" in page.text and "<script" not in page.text
    inbox = get(server, "/admin/inbox", headers=BEARER)
    assert "can my cat give me lip twitching" in inbox.text
    assert "Priya" not in inbox.text and "priya@example.org" not in inbox.text
    assert "my name is [name], can I fly with lip twitching? mail me at [email]" in inbox.text


def test_the_csv_lists_each_group_with_its_count(server: ServeProcess) -> None:
    response = get(server, "/admin/inbox.csv", headers=BEARER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0] == "count,wording,guessed_topic,not_sure,fallback,last_seen_hour_utc"
    assert lines[1].startswith("4,can my cat give me lip twitching,causes,4,0,")  # two wordings, twice each


def test_a_browser_signs_in_with_a_form_and_a_strict_cookie(server: ServeProcess) -> None:
    form = get(server, "/admin/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    cookie = form.cookies.get("mb_admin_csrf")
    assert cookie == csrf
    no_csrf = httpx.post(server.url + "/admin/login", data={"token": TOKEN})
    assert no_csrf.status_code == 403 and "mb_admin=" not in no_csrf.headers.get("set-cookie", "")
    signed = httpx.post(server.url + "/admin/login", data={"token": TOKEN, "csrf": csrf},
                        cookies={"mb_admin_csrf": csrf}, headers={"x-forwarded-for": "198.51.100.1"})
    assert signed.status_code == 303 and signed.headers["location"] == "/admin"
    set_cookie = next(v for v in signed.headers.get_list("set-cookie") if v.startswith("mb_admin="))
    for flag in ("HttpOnly", "SameSite=strict", "Secure", "Path=/admin"):
        assert flag.lower() in set_cookie.lower()
    assert TOKEN not in set_cookie and TOKEN not in signed.headers["location"]
    session = set_cookie.split(";")[0].split("=", 1)[1]
    page = get(server, "/admin", cookies={"mb_admin": session})
    assert page.status_code == 200 and "1,274" in page.text
    out_csrf = re.search(r'action="/admin/logout".*?name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    forged = httpx.post(server.url + "/admin/logout", data={"csrf": "forged"}, cookies={"mb_admin": session})
    assert forged.status_code == 403
    out = httpx.post(server.url + "/admin/logout", data={"csrf": out_csrf}, cookies={"mb_admin": session})
    assert out.status_code == 303
    assert get(server, "/admin", cookies={"mb_admin": session + "x"}).status_code == 401


def test_failed_sign_ins_are_limited_per_address(server: ServeProcess) -> None:
    address = {"x-forwarded-for": "203.0.113.77"}
    form = get(server, "/admin/login")
    csrf = form.cookies["mb_admin_csrf"]

    def attempt(token: str) -> httpx.Response:
        return httpx.post(server.url + "/admin/login", data={"token": token, "csrf": csrf},
                          cookies={"mb_admin_csrf": csrf}, headers=address)

    assert [attempt(f"guess-{i}").status_code for i in range(5)] == [401] * 5
    assert attempt(TOKEN).status_code == 429  # even the right token, until the window has passed
    assert get(server, "/admin", headers={**BEARER, **address}).status_code == 429
    assert get(server, "/admin", headers=BEARER).status_code == 200  # another address is not slowed


def test_turns_are_counted_and_unanswered_questions_arrive_scrubbed(server: ServeProcess) -> None:
    user = "admin-test-user-1"

    def say(**message: str) -> list[dict[str, object]]:
        response = httpx.post(server.url + "/api/chat", json={"user": user, **message})
        return response.json()["replies"]

    before = get(server, "/metrics", headers=BEARER).text
    say(text="can my goldfish give me a twitch? I'm Tom, 0044 7911 123 456")
    topic = say(text="can coffee cause it?")[-1]
    assert topic["topic"] == "caffeine"
    vote = next(b for b in topic["buttons"] if b["payload"] == "do:feedback:down:caffeine")  # type: ignore[union-attr]
    assert say(button=vote["payload"])[0]["kind"] == "command"  # type: ignore[index]
    say(text="delete my data")
    say(text="yes")
    inbox = get(server, "/admin/inbox", headers=BEARER).text
    assert html.escape("can my goldfish give me a twitch? I'm [name], [phone]") in inbox
    assert "Tom" not in inbox and "7911" not in inbox and user not in inbox
    page = get(server, "/admin", headers=BEARER).text
    assert "<td>caffeine</td><td>207</td><td>5</td><td>3</td>" in page
    metrics = get(server, "/metrics", headers=BEARER).text
    assert 'messenger_bot_faq_total{outcome="answered"}' in metrics
    assert _value(metrics, 'messenger_bot_turns_total{channel="web"}') == _value(
        before, 'messenger_bot_turns_total{channel="web"}') + 5
    assert 'route="/api/chat"' in metrics and "messenger_bot_http_request_seconds_bucket" in metrics


def _value(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_feedback_buttons_can_be_turned_off(bot_env: dict[str, str]) -> None:
    with ChatProcess({**bot_env, "FEEDBACK": "false"}, "--user", "nofeedback") as chat:
        reply = chat.send("can coffee cause it?")["replies"][-1]
    assert reply["topic"] == "caffeine"
    assert not [b for b in reply["buttons"] if b["payload"].startswith("do:feedback:")]
    with ChatProcess(bot_env, "--user", "feedback") as chat:
        reply = chat.send("can coffee cause it?")["replies"][-1]
    assert [b["label"] for b in reply["buttons"][-3:]] == ["👍 That helped", "👎 Not really", "Main menu"]


def test_a_cron_dispatch_pass_is_counted_on_the_dashboard(
    bot_env: dict[str, str], telegram: FakeTelegram, tmp_path: Path
) -> None:
    env = telegram_env(bot_env, telegram, ADMIN_TOKEN=TOKEN, PID_DIR=str(tmp_path))
    asyncio.run(subscribe(env, ["701", "702", "703"]))
    out = send_due(env, EIGHT + timedelta(seconds=30))
    assert out.startswith("sent 3, skipped 0, failed 0")
    with ServeProcess(env, "--no-scheduler") as serve:
        page = get(serve, "/admin", headers=BEARER).text
    assert re.search(r'data-metric="Reminders sent">3<', page)
    assert "<td>telegram</td><td>sent</td><td>–</td><td>3</td>" in page
    assert re.search(r'data-metric="Reminder lag, average s">3\d\.\d<', page)  # due 30 s before
