"""The diary in Spanish and Portuguese, through `chat --json` as a user types it: its typed
commands, counts in the language's words, the summary and the check-in's date in the language."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.support.chat import ChatProcess


def env_for(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}"}


def speaking(env: dict[str, str], user: str, code: str) -> ChatProcess:
    """A chat whose user has chosen a language with the language command."""
    chat = ChatProcess(env, "--user", user)
    chat.send("idioma")
    chat.send({"button": f"do:language:{code}"})
    return chat


def text(said: dict[str, Any]) -> str:
    return "\n".join(r["text"] for r in said["replies"])


def labels(said: dict[str, Any]) -> list[str]:
    return [b["label"] for r in said["replies"] for b in r["buttons"]]


def test_spanish_logs_a_twitch_and_a_count_in_its_own_words(tmp_path: Path) -> None:
    with speaking(env_for(tmp_path), "ana", "es") as chat:
        logged = chat.send("anotar un temblor")
        assert "Anoté un temblor para hoy" in text(logged) and "Labio de arriba" in labels(logged)
        counted = chat.send("me tembló 3 veces hoy")
        assert "Anoté 3 temblores" in text(counted)
        chat.send("preguntame despues")
        later = chat.send({"button": "do:diary:followup:3"})
        if "Bogotá" in text(later):  # no zone known yet: the time zone is asked first
            later = chat.send("Madrid")
        said = text(later)
        days = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
        assert "Te preguntaré el " in said and any(day in said for day in days)
        assert "no te llegará" in said  # a terminal has no sender: the check-in cannot arrive


def test_portuguese_counts_three_and_sums_them_up_in_portuguese(tmp_path: Path) -> None:
    with speaking(env_for(tmp_path), "joao", "pt") as chat:
        counted = chat.send("tremeu 3 vezes hoje")
        assert "Anotei 3 tremores" in text(counted)
        summary = text(chat.send("resumo para o medico"))
        assert "Tremor no lábio: meu diário" in summary and "Tremores anotados: 3 em 1 dia(s)" in summary
        assert "Twitches" not in summary


def test_every_languages_diary_command_works_in_an_english_conversation(tmp_path: Path) -> None:
    with ChatProcess(env_for(tmp_path), "--user", "sam") as chat:
        chat.send("hello")
        said = chat.send("anotar un temblor")
        assert said["replies"][0]["kind"] == "command" and "do:diary:lip:1:upper" in [
            b["payload"] for b in said["replies"][0]["buttons"]
        ]


def test_the_feedback_buttons_speak_the_users_language(tmp_path: Path) -> None:
    with speaking(env_for(tmp_path), "lia", "pt") as chat:
        said = chat.send({"button": "caffeine"})
    assert "👍 Ajudou" in labels(said) and "👎 Não muito" in labels(said)
    assert "👍 That helped" not in labels(said)
