"""`messenger-bot chat --json` exactly as the README fixes it, through a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import bot_env_in
from tests.support.chat import ChatProcess

KINDS = {"alert", "topic", "menu", "reminder", "command", "fallback"}


def assert_shape(out: dict) -> None:
    assert set(out) == {"replies"}
    for reply in out["replies"]:
        assert set(reply) == {"kind", "topic", "text", "buttons"}
        assert reply["kind"] in KINDS
        assert (reply["topic"] is not None) == (reply["kind"] == "topic")
        for button in reply["buttons"]:
            assert set(button) == {"label", "payload"} and button["label"] and button["payload"]


def test_lines_in_lines_out_with_state_kept_between_runs(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "alice") as chat:
        first = chat.send("hello")
        assert_shape(first)
        menu = chat.send({"text": "menu"})
        assert_shape(menu)
        assert menu["replies"][-1]["kind"] == "menu"
        tapped = chat.send({"button": "caffeine"})
        assert tapped["replies"][-1]["topic"] == "caffeine"
    with ChatProcess(bot_env, "--user", "alice") as chat:
        again = chat.send("back")
        assert_shape(again)
        assert all(r["kind"] != "command" or "diagnos" not in r["text"].lower() for r in again["replies"])


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatProcess]:
    """One running `chat --json` for the tests of odd lines: each needs a session that goes on
    after whatever came before, not a new one."""
    with ChatProcess(bot_env_in(tmp_path_factory.mktemp("session"))) as chat:
        yield chat
    assert chat.proc.returncode == 0


def test_broken_json_gets_an_error_line_and_the_session_goes_on(session: ChatProcess) -> None:
    error = session.send('{"text": ')
    assert "error" in error and "JSON" in error["error"]
    wrong = session.send({"button": 5})
    assert "error" in wrong
    assert session.send({"text": "menu"})["replies"]


def test_an_alert_is_the_first_reply(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env) as chat:
        out = chat.send("my arm went weak and my speech is slurred")
        assert out["replies"][0]["kind"] == "alert"


def test_output_is_flushed_line_by_line_even_for_odd_input(session: ChatProcess) -> None:
    for line in ["", "🙂", "x" * 10_000, "\t\x01", "1", "99"]:
        assert_shape(session.send(line))


def test_channel_option_and_python_dash_m_are_the_same_program(bot_env: dict[str, str]) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "messenger_bot", "chat", "--json", "--channel", "whatsapp", "--user", "w"],
        input='{"text": "menu"}\n', capture_output=True, text=True, env=bot_env, timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert '"kind": "menu"' in run.stdout


def test_interactive_chat_numbers_the_buttons_and_marks_an_alert(bot_env: dict[str, str]) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "messenger_bot", "chat", "--user", "term"],
        input="2\nmy face is drooping and I can't speak\n", capture_output=True, text=True, env=bot_env,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "  1. " in run.stdout and "(type a number, or a question)" in run.stdout
    assert "[!] EMERGENCY: These signs" in run.stdout
    assert "*These signs" not in run.stdout, "bold markers are for WhatsApp, not a terminal"
