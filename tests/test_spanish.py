"""Spanish as a user notices it, on the real content with every language loaded: greetings,
typed questions and commands answered in Spanish, Spanish red flags alerting in Spanish with the
local number (in an English conversation too), and the choice of Spanish remembered.

Everything goes through `chat --json` subprocesses, as on a terminal (a Spanish red flag in a
signed WhatsApp post is tests/test_whatsapp.py's, with the other languages'). The assertions are
what a user sees: the kind of reply, the topic, a Spanish word of the answer, the number to call.
"""

from __future__ import annotations

from typing import Any

from tests.support.chat import ChatProcess

SWITCH_OFFER = "¿Quieres que sigamos en español?"
TAKE_SPANISH = {"label": "Español", "payload": "do:language:es"}


def replies(chat: ChatProcess, line: str | dict[str, Any]) -> list[dict[str, Any]]:
    return chat.send(line)["replies"]  # type: ignore[no-any-return]


def kinds(answer: list[dict[str, Any]]) -> list[str]:
    return [r["kind"] for r in answer]


def labels(reply: dict[str, Any]) -> list[str]:
    return [b["label"] for b in reply["buttons"]]


def menu(answer: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in answer if r["kind"] == "menu")


def spanish_menu(reply: dict[str, Any]) -> bool:
    return "¿Qué es?" in labels(reply) and "What is it?" not in labels(reply)


def english_menu(reply: dict[str, Any]) -> bool:
    return "What is it?" in labels(reply)


# -- greetings ---------------------------------------------------------------------------------------


def test_a_spanish_greeting_from_mexico_is_welcomed_in_spanish(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "saludo", "--country", "MX") as chat:
        answer = replies(chat, "hola")
    notice, welcome = answer[0], menu(answer)
    assert notice["kind"] == "command" and "No soy médico" in notice["text"]
    assert welcome["text"].startswith("Hola") and spanish_menu(welcome)


def test_a_spanish_greeting_in_an_english_conversation_is_welcomed_in_spanish_with_the_offer(
    bot_env: dict[str, str],
) -> None:
    with ChatProcess(bot_env, "--user", "saludo-en") as chat:
        assert english_menu(menu(replies(chat, "good morning")))
        answer = replies(chat, "buenas tardes")
        assert spanish_menu(menu(answer))
        offer = answer[-1]
        assert offer["text"] == SWITCH_OFFER and TAKE_SPANISH in offer["buttons"]
        assert english_menu(menu(replies(chat, "menu"))), "the user's own language stays until they switch"


# -- typed questions ---------------------------------------------------------------------------------


def test_spanish_typed_questions_land_on_their_topics_with_spanish_answers(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "preguntas", "--country", "CO") as chat:
        replies(chat, "hola")
        asked = {
            "¿el café puede causar el temblor del labio?": ("caffeine", "cafeína"),
            "me tiembla el labio cuando estoy muy estresada": ("stress", "estrés"),
            "q vitamina me falta si me brinca el labio": ("vitamins", "vitamina"),
        }
        for question, (topic, word) in asked.items():
            answer = replies(chat, question)
            assert kinds(answer) == ["topic"], (question, answer)
            assert answer[0]["topic"] == topic and word in answer[0]["text"].lower(), question


# -- typed commands ----------------------------------------------------------------------------------


def test_the_spanish_typed_commands_work(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "comandos", "--country", "AR") as chat:
        replies(chat, "hola")
        assert spanish_menu(menu(replies(chat, "menú")))
        [help_] = replies(chat, "ayuda")
        assert help_["kind"] == "command" and "Cómo usarme" in help_["text"]
        [about] = replies(chat, "acerca de")
        assert about["topic"] == "about" and "Idioma" in labels(about)
        assert spanish_menu(replies(chat, "atrás")[-1])
        [stopped] = replies(chat, "parar")
        assert "pausé" in stopped["text"]
        started = replies(chat, "empezar")
        assert "de vuelta" in started[0]["text"] and spanish_menu(menu(started))
        [data] = replies(chat, "mis datos")
        assert data["text"].startswith("Esto es lo que guardo sobre ti") and "comandos" in data["text"]
        [choice] = replies(chat, "idioma")
        assert {"English", "Español"} <= set(labels(choice)) and "idioma" in choice["text"]
        [confirm] = replies(chat, "borrar mis datos")
        assert "No se puede deshacer" in confirm["text"] and "Sí, bórralo" in labels(confirm)
        [deleted] = replies(chat, "sí")
        assert deleted["text"].startswith("Hecho. Borré")
        after = replies(chat, "mis datos")
        assert "No soy médico" in after[0]["text"], "a deleted user is new again: the notice comes first"


def test_the_features_the_spanish_help_names_are_reached_by_their_words(bot_env: dict[str, str]) -> None:
    """*recordatorios*, *anotar un temblor*, *resumen para mi médico*: each leads to a button doing it."""
    with ChatProcess(bot_env, "--user", "funciones", "--country", "MX") as chat:
        replies(chat, "hola")
        [answer] = replies(chat, "recordatorios")
        assert answer["kind"] == "topic" and "Menú principal" in labels(answer)
        assert "do:reminders:water" in [b["payload"] for b in answer["buttons"]]
        # the diary's Spanish commands do it at once (flows/es/diary.yaml `commands`)
        [logged] = replies(chat, "anotar un temblor")
        assert logged["text"].startswith("Anoté un temblor") and "Menú principal" in labels(logged)
        [summary] = replies(chat, "resumen para mi médico")
        assert summary["kind"] == "command" and "Menú principal" in labels(summary)
        assert "do:diary:log" in [b["payload"] for b in summary["buttons"]]


def test_the_fixed_english_words_still_work_in_a_spanish_conversation(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "fijos", "--country", "ES") as chat:
        replies(chat, "hola")
        assert "Cómo usarme" in replies(chat, "help")[0]["text"]
        assert "pausé" in replies(chat, "stop")[0]["text"]
        assert spanish_menu(menu(replies(chat, "start")))
        assert replies(chat, "my data")[0]["text"].startswith("Esto es lo que guardo")
        assert "Sí, bórralo" in labels(replies(chat, "delete my data")[0])
        assert "Hecho" in replies(chat, "yes")[0]["text"]


# -- red flags ---------------------------------------------------------------------------------------


def test_a_spanish_red_flag_alerts_in_spanish_with_mexicos_number(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "alerta", "--country", "MX") as chat:
        replies(chat, "hola")
        alert = replies(chat, "de repente se me cayó la cara de un lado y no puedo hablar bien")[0]
    assert alert["kind"] == "alert"
    assert "Llama ya al 911" in alert["text"] and "derrame" in alert["text"]


def test_a_spanish_red_flag_in_the_middle_of_an_english_conversation_alerts_in_spanish(
    bot_env: dict[str, str],
) -> None:
    with ChatProcess(bot_env, "--user", "mezcla", "--country", "MX") as chat:
        first = replies(chat, "can coffee make my lip twitch?")
        assert any(r["topic"] == "caffeine" and "caffeine" in r["text"].lower() for r in first)
        alert = replies(chat, "mi mamá no puede mover el brazo y habla raro")[0]
        assert alert["kind"] == "alert" and "Llama ya al 911" in alert["text"]
        english = replies(chat, "my face is drooping on one side")[0]
        assert english["kind"] == "alert" and "Llama ya" not in english["text"] and "911" in english["text"]


# -- choosing Spanish ------------------------------------------------------------------------------


def test_choosing_spanish_with_the_language_command_switches_the_menus(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "elige") as chat:
        assert english_menu(menu(replies(chat, "menu")))
        [choice] = replies(chat, "language")
        assert TAKE_SPANISH in choice["buttons"]
        chosen = replies(chat, {"button": "do:language:es"})
        assert "en español" in chosen[0]["text"] and spanish_menu(menu(chosen))
        assert spanish_menu(menu(replies(chat, "menu")))
        assert replies(chat, "el estrés puede causarlo?")[0]["topic"] == "stress"


def test_typing_espanol_alone_chooses_spanish(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "nombre") as chat:
        replies(chat, "menu")
        assert spanish_menu(menu(replies(chat, "español")))
        assert spanish_menu(menu(replies(chat, "menu")))


def test_an_english_user_asking_in_spanish_gets_the_answer_in_spanish_with_the_offer(
    bot_env: dict[str, str],
) -> None:
    with ChatProcess(bot_env, "--user", "oferta") as chat:
        assert english_menu(menu(replies(chat, "hello")))
        answer = replies(chat, "¿el café puede causar el temblor del labio?")
        topic, offer = answer[0], answer[-1]
        assert topic["topic"] == "caffeine" and "cafeína" in topic["text"]
        assert offer["text"] == SWITCH_OFFER and TAKE_SPANISH in offer["buttons"]
        assert english_menu(menu(replies(chat, "menu"))), "the offer does not switch by itself"
        assert spanish_menu(menu(replies(chat, {"button": "do:language:es"})))
