"""`messenger-bot serve` as a real process: starts with no settings, answers, stops cleanly, and
keeps serving what it can when a channel cannot start."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import FLOWS
from tests.fakes.telegram_api import FakeTelegram, text_update
from tests.support.server import ServeProcess


def run_serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`serve` that is expected to refuse to start."""
    return subprocess.run(
        [sys.executable, "-m", "messenger_bot", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_with_no_credentials_serves_the_chat_and_stops_cleanly(bot_env: dict[str, str]) -> None:
    secret_words = "my very private lip question about coffee"
    with ServeProcess(bot_env) as server:
        health = httpx.get(f"{server.url}/healthz", timeout=10)
        assert health.status_code == 200
        assert health.json()["status"] == "ok" and health.json()["version"]
        page = httpx.get(server.url, timeout=10)
        assert page.status_code == 200 and "Type your question" in page.text
        chat = httpx.post(
            f"{server.url}/api/chat", json={"user": "serve-test-01", "text": secret_words}, timeout=10
        )
        assert chat.status_code == 200
        assert chat.json()["replies"][-1]["topic"] == "caffeine"
        assert chat.headers["x-request-id"]
        code = server.stop(signal.SIGTERM)
    output = server.read_output()
    assert code == 0, output
    assert "stopped cleanly" in output
    assert "Traceback" not in output
    assert secret_words not in output, "what a user writes stays out of the logs"


def test_a_bad_setting_stops_the_start_with_exit_2_naming_it(bot_env: dict[str, str]) -> None:
    result = run_serve({**bot_env, "PORT": "abc"})
    assert result.returncode == 2
    assert "PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_content_stops_the_start_naming_the_file(bot_env: dict[str, str], tmp_path: Path) -> None:
    content = tmp_path / "flows"
    shutil.copytree(FLOWS, content)
    (content / "messages.yaml").write_text("notice: [this list never closes\n", encoding="utf-8")
    result = run_serve({**bot_env, "CONTENT_DIR": str(content)})
    assert result.returncode != 0
    assert "messages.yaml" in result.stderr
    assert "Traceback" not in result.stderr


# -- degraded, not down -----------------------------------------------------------------------


def _health(server: ServeProcess) -> dict[str, Any]:
    return httpx.get(f"{server.url}/healthz", timeout=10).json()


def test_a_channel_that_cannot_start_leaves_the_others_serving_and_starts_later(
    bot_env: dict[str, str],
) -> None:
    """Telegram unreachable at start, WhatsApp misconfigured: the web chat answers, /healthz names
    both (200, "degraded"), and Telegram starts answering once its Bot API is back, without a restart."""
    with FakeTelegram() as telegram:
        telegram.unreachable()
        env = {**bot_env, "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_BASE_URL": telegram.base_url,
               "TWILIO_ACCOUNT_SID": "AC" + "3" * 32, "TWILIO_AUTH_TOKEN": "degraded-test-token",
               "TWILIO_WHATSAPP_FROM": "+14155238886"}  # a common slip: the whatsapp: prefix is missing
        with ServeProcess(env, "--no-scheduler") as server:
            health = httpx.get(f"{server.url}/healthz", timeout=10)
            assert health.status_code == 200
            body = health.json()
            assert body["status"] == "degraded"
            assert body["channels"] == {"web": "up", "telegram": "down", "whatsapp": "down"}
            assert "TWILIO_WHATSAPP_FROM" in body["down"]["whatsapp"]
            assert "Error" in body["down"]["telegram"]  # the client's error, named
            said = {"user": "degraded-01", "text": "hello"}
            chat = httpx.post(f"{server.url}/api/chat", json=said, timeout=10)
            assert chat.status_code == 200 and chat.json()["replies"]
            whatsapp = httpx.post(f"{server.url}/whatsapp/webhook", data={"Body": "hi"}, timeout=10)
            assert whatsapp.status_code == 503

            telegram.reconnect()
            telegram.wait_for(lambda: _health(server)["channels"]["telegram"] == "up", timeout=120)
            chat_id = 5550001
            telegram.push(text_update(telegram.next_update_id(), chat_id, "/help"))
            telegram.wait_for(lambda: telegram.delivered(chat_id), timeout=60)
            assert _health(server)["down"] == {"whatsapp": body["down"]["whatsapp"]}
            code = server.stop()
        output = server.read_output()
    assert code == 0, output
    assert "telegram cannot start" in output and "whatsapp cannot start" in output
    assert telegram.token not in output and "degraded-test-token" not in output
    assert "Traceback" not in output


def test_a_refused_telegram_token_is_named_and_not_retried(bot_env: dict[str, str]) -> None:
    with FakeTelegram() as telegram:
        wrong = "999999:WRONG-token"
        env = {**bot_env, "TELEGRAM_BOT_TOKEN": wrong, "TELEGRAM_BASE_URL": telegram.base_url}
        with ServeProcess(env, "--no-scheduler") as server:
            body = _health(server)
            assert body["status"] == "degraded"
            assert "TELEGRAM_BOT_TOKEN" in body["down"]["telegram"] and wrong not in body["down"]["telegram"]
            said = {"user": "degraded-02", "text": "menu"}
            assert httpx.post(f"{server.url}/api/chat", json=said, timeout=10).status_code == 200
            code = server.stop()
        output = server.read_output()
    assert code == 0, output
    assert "telegram cannot start" in output and "not retried" in output
    assert wrong not in output and "Traceback" not in output
