"""Brazilian Portuguese as a user notices it, on the real content with every language loaded:
through `chat --json` subprocesses and the web chat (a Portuguese red flag in a signed WhatsApp
post is tests/test_whatsapp.py's, with the other languages'). Each test asserts what a person
would see (the kind of reply, its topic id, a Portuguese word of it), never whole texts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from messenger_bot.settings import DEFAULT_CONTENT_DIR, load_settings
from messenger_bot.wiring import create_app
from tests.support.chat import ChatProcess

PT_HELP = (DEFAULT_CONTENT_DIR / "pt" / "messages.yaml").read_text(encoding="utf-8")


def replies(chat: ChatProcess, line: str | dict[str, Any]) -> list[dict[str, Any]]:
    return chat.send(line)["replies"]  # type: ignore[no-any-return]


def kinds(said: list[dict[str, Any]]) -> list[str]:
    return [r["kind"] for r in said]


def text(said: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in said)


def payloads(said: list[dict[str, Any]]) -> list[str]:
    return [b["payload"] for r in said for b in r["buttons"]]


def topic(said: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in said if r["kind"] == "topic")


def portuguese(env: dict[str, str], user: str, *args: str) -> ChatProcess:
    """A chat whose user has chosen Portuguese with the language command."""
    chat = ChatProcess(env, "--user", user, *args)
    chat.send("idioma")
    chat.send({"button": "do:language:pt"})
    return chat


# -- greetings and typed questions --------------------------------------------------------------


def test_a_portuguese_greeting_is_welcomed_in_portuguese(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "oi") as chat:
        said = replies(chat, "oi, tudo bem?")
        assert "menu" in kinds(said)
        welcome = next(r for r in said if r["kind"] == "menu")
        assert "você" in welcome["text"] and "what-is-lip-twitching" in payloads([welcome])
        assert "lábio" in text(said)  # the first-contact notice too
    with ChatProcess(bot_env, "--user", "bom-dia") as chat:
        assert "você" in next(r for r in replies(chat, "bom dia") if r["kind"] == "menu")["text"]


def test_a_portuguese_question_lands_on_its_topic_with_a_portuguese_answer(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "pergunta") as chat:
        caffeine = topic(replies(chat, "cafe pode causar tremor no labio?"))
        assert caffeine["topic"] == "caffeine" and "cafeína" in caffeine["text"]
        magnesium = topic(replies(chat, "falta de magnesio faz o labio tremer?"))
        assert magnesium["topic"] == "electrolytes" and "minerais" in magnesium["text"]
        assert set(magnesium) == {"kind", "topic", "text", "buttons"}


# -- typed commands ------------------------------------------------------------------------------


def test_the_portuguese_typed_commands_work(bot_env: dict[str, str]) -> None:
    with portuguese(bot_env, "comandos") as chat:
        helped = replies(chat, "ajuda")
        assert kinds(helped) == ["command"] and "Como me usar" in helped[0]["text"]
        menu = replies(chat, "menu")
        assert kinds(menu) == ["menu"] and "lábio" in menu[0]["text"]
        assert topic(replies(chat, "sobre"))["topic"] == "about"
        assert kinds(replies(chat, "voltar")) == ["menu"]
        stopped = replies(chat, "parar")
        assert kinds(stopped) == ["command"] and "começar" in stopped[0]["text"]
        started = replies(chat, "começar")
        assert kinds(started) == ["command", "menu"] and "de volta" in started[0]["text"]
        mine = replies(chat, "meus dados")
        assert "guardo sobre você" in mine[0]["text"] and "comandos" in mine[0]["text"]
        asked = replies(chat, "apagar meus dados")
        assert payloads(asked) == ["do:delete:yes", "do:delete:no"] and "desfazer" in asked[0]["text"]
        assert "Apaguei" in text(replies(chat, "sim"))
        assert "comandos" not in text(replies(chat, "menu"))  # a new user: nothing of before is kept


def test_a_delete_not_confirmed_keeps_everything(bot_env: dict[str, str]) -> None:
    with portuguese(bot_env, "fica") as chat:
        replies(chat, "apagar meus dados")
        kept = replies(chat, {"button": "do:delete:no"})
        assert "nada foi apagado" in kept[0]["text"]
        assert "guardo sobre você" in text(replies(chat, "meus dados"))


def test_every_command_the_portuguese_help_names_gets_an_answer(bot_env: dict[str, str]) -> None:
    help_text = PT_HELP.split("\nhelp: |\n", 1)[1].split("\nfallback:", 1)[0]
    named = re.findall(r"\*([^*]+)\*", help_text)
    assert {"voltar", "ajuda", "sobre", "lembretes", "meus dados", "apagar meus dados"} <= set(named)
    with portuguese(bot_env, "ajuda") as chat:
        for word in named:
            said = replies(chat, word)
            assert "fallback" not in kinds(said), word
            if word == "apagar meus dados":
                replies(chat, {"button": "do:delete:no"})
        assert topic(replies(chat, "lembretes"))["topic"] == "reminders"
        assert "Anotei um tremor" in text(replies(chat, "anotar tremor"))  # the diary's own command
        assert "Tremor no lábio: meu diário" in text(replies(chat, "resumo para o médico"))


def test_the_fixed_english_words_still_work_in_portuguese(bot_env: dict[str, str]) -> None:
    with portuguese(bot_env, "fixos") as chat:
        assert "Como me usar" in text(replies(chat, "help"))
        assert "guardo sobre você" in text(replies(chat, "my data"))
        assert payloads(replies(chat, "delete my data")) == ["do:delete:yes", "do:delete:no"]
        assert "Apaguei" in text(replies(chat, "yes"))


# -- the language command ------------------------------------------------------------------------


def test_choosing_portuguese_with_the_language_command_switches_the_menus(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "troca") as chat:
        assert "twitching" in text(replies(chat, "hello"))
        choice = replies(chat, "language")
        assert {"label": "Português", "payload": "do:language:pt"} in choice[0]["buttons"]
        chosen = replies(chat, {"button": "do:language:pt"})
        assert "português" in chosen[0]["text"] and chosen[-1]["kind"] == "menu"
        assert "Escolha um tema" in chosen[-1]["text"]
        section = replies(chat, {"button": "causes"})
        assert {b["label"] for b in section[0]["buttons"]} >= {"Menu principal"}
        assert "Em que idioma" in text(replies(chat, "idioma"))
        back = replies(chat, {"button": "do:language:en"})
        assert "English" in back[0]["text"] and "twitching" in back[-1]["text"]
        assert "português" in replies(chat, "portugues")[0]["text"]  # the language's own name, typed


# -- red flags ------------------------------------------------------------------------------------


def test_a_portuguese_red_flag_alerts_in_portuguese_with_the_local_number(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "portugal", "--country", "PT") as chat:
        alert = replies(chat, "meu pai esta com a boca torta e nao consegue falar")
        first = next(r for r in alert if r["kind"] == "alert")
        assert "Ligue agora para 112" in first["text"] and "AVC" in first["text"]
        assert payloads([first]) == ["emergency", "menu"]


def test_a_portuguese_red_flag_in_an_english_conversation_alerts_in_portuguese(
    bot_env: dict[str, str],
) -> None:
    with ChatProcess(bot_env, "--user", "mix", "--country", "GB") as chat:
        assert "twitching" in text(replies(chat, "hello"))
        assert topic(replies(chat, "can coffee cause lip twitching?"))["topic"] == "caffeine"
        alert = replies(chat, "minha esposa nao consegue mexer o braco direito de repente")
        first = next(r for r in alert if r["kind"] == "alert")
        assert "Ligue agora para 999" in first["text"]
        assert "twitching" in text(replies(chat, "menu"))  # the conversation goes on in English


# -- another language mid-conversation ----------------------------------------------------------------


def test_an_english_user_asking_in_portuguese_is_answered_in_it_with_the_offer(
    bot_env: dict[str, str],
) -> None:
    with ChatProcess(bot_env, "--user", "offer", "--country", "GB") as chat:
        replies(chat, "hello")
        said = replies(chat, "quantas xicaras de cafe posso tomar por dia?")
        assert topic(said)["topic"] == "caffeine" and "cafeína" in topic(said)["text"]
        offer = said[-1]
        assert offer["kind"] == "command" and "português" in offer["text"]
        assert offer["buttons"] == [{"label": "Português", "payload": "do:language:pt"}]
        assert "twitching" in text(replies(chat, "menu"))  # the choice stays until taken
        replies(chat, {"button": "do:language:pt"})
        assert "lábio" in text(replies(chat, "menu"))


@pytest.mark.parametrize("question", [
    "o café pode fazer meu lábio tremer?",  # English would read "tremor" as Parkinson's
    "qual a causa do tremor no labio",  # the small detector takes this for English
])
def test_a_portuguese_question_an_english_answer_could_claim_is_still_answered_in_portuguese(
    bot_env: dict[str, str], question: str,
) -> None:
    with ChatProcess(bot_env, "--user", "claimed", "--country", "GB") as chat:
        replies(chat, "hello")
        said = replies(chat, question)
        assert topic(said)["topic"] in {"caffeine", "causes", "what-is-lip-twitching"}
        assert "lábio" in topic(said)["text"] or "cafeína" in topic(said)["text"]
        assert said[-1]["buttons"] == [{"label": "Português", "payload": "do:language:pt"}]


# -- the web chat --------------------------------------------------------------------------------------


async def test_the_web_page_and_chat_speak_portuguese_to_a_brazilian_browser(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/web.sqlite3")
    app = create_app(settings, scheduler=False)
    brazil = {"accept-language": "pt-BR,pt;q=0.9,en;q=0.8"}
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://chat.test"
    ) as web:
        page = await web.get("/", headers=brazil)
        assert '<html lang="pt">' in page.text and ">Escreva sua pergunta</label>" in page.text
        asked = await web.post("/api/chat", json={"user": "browser-br", "text": "menu"}, headers=brazil)
    assert "Escolha um tema" in text(asked.json()["replies"])
