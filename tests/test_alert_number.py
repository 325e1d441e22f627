"""The alert names a number wherever the bot is: the console by this machine's time zone (or
`--country`), and the rules that turn a time zone or a language into a country."""

from __future__ import annotations

import subprocess
import sys

import pytest

from messenger_bot.content import Content
from messenger_bot.emergency import country_for_place
from tests.support.chat import ChatProcess

RED_FLAG = "my face is drooping and I can't speak"


def alert_text(env: dict[str, str], *args: str) -> str:
    with ChatProcess(env, "--user", "at-the-terminal", *args) as chat:
        replies = chat.send({"text": RED_FLAG})["replies"]
    assert replies[0]["kind"] == "alert"
    return replies[0]["text"]


@pytest.mark.parametrize(("zone", "number"), [
    ("Europe/London", "Call 999 now"),
    ("America/Toronto", "Call 911 now"),
    ("Australia/Sydney", "Call 000 now"),
])
def test_the_console_names_the_number_of_the_machines_time_zone(
    bot_env: dict[str, str], zone: str, number: str
) -> None:
    assert number in alert_text({**bot_env, "TZ": zone})


def test_country_overrides_the_machines_time_zone(bot_env: dict[str, str]) -> None:
    assert "Call 911 now" in alert_text({**bot_env, "TZ": "Europe/London"}, "--country", "us")


def test_a_machine_on_utc_gets_the_general_numbers(bot_env: dict[str, str], content: Content) -> None:
    text = alert_text(bot_env)  # bot_env runs on UTC
    assert "Call 112, 911 or 999 now" in text
    assert content.messages.alert.general_note in text


def test_a_bad_country_code_is_refused_by_name(bot_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "messenger_bot", "chat", "--json", "--country", "England"],
        input="", capture_output=True, text=True, env=bot_env, timeout=60,
    )
    assert done.returncode == 2
    assert "'England' is not a two-letter country code" in done.stderr


@pytest.mark.parametrize(("zone", "languages", "country"), [
    ("Europe/London", [], "GB"),
    ("Europe/Amsterdam", [], "NL"),  # an alias of Europe/Brussels in tzdata, but its own country
    ("Asia/Calcutta", [], "IN"),  # an old name, as some browsers still report it
    ("US/Eastern", [], "US"),
    ("America/Sao_Paulo", ["en-US"], "BR"),  # the zone before the language
    ("UTC", ["pt-BR"], "BR"),
    (None, ["zh-Hant-TW", "en"], "TW"),
    ("Etc/GMT-2", ["en"], None),
    (None, ["de", "en-US"], None),  # only the preferred language counts
    ("Nowhere/Special", [], None),
    (None, [], None),
])
def test_a_place_gives_a_country(zone: str | None, languages: list[str], country: str | None) -> None:
    assert country_for_place(zone, languages) == country
