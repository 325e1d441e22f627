"""`messenger-bot serve` as a real process: starts with no settings, answers, stops cleanly."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import FLOWS
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
