"""Languages as a user and a translator notice them: which language answers, how it is chosen,
red flags in every language, and check-content's lines for a translation with gaps."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from messenger_bot.content import Content
from messenger_bot.content.languages import start_language
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.engine import Engine
from messenger_bot.settings import load_settings
from messenger_bot.storage import Storage
from messenger_bot.wiring import check_content, create_app, load_content
from tests.fakes.twilio_api import FakeTwilio
from tests.support.chat import ChatProcess
from tests.support.languages import add_portuguese, add_spanish, content_dir, edit_yaml, node
from tests.support.server import ServeProcess

SPANISH_MENU = "¿Qué quieres saber sobre el temblor del labio?"
PORTUGUESE_MENU = "O que você quer saber sobre o tremor no lábio?"


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = content_dir(tmp_path_factory.mktemp("languages"))
    add_spanish(root)
    add_portuguese(root)
    return root


@pytest.fixture(scope="module")
def content(flows: Path) -> Content:
    return load_content(flows)


@pytest.fixture
def engine(content: Content, store: Storage) -> Engine:
    return Engine(content, store)


def say(text: str, user: str = "u1", **kw: object) -> Incoming:
    return Incoming("console", user, text=text, **kw)  # type: ignore[arg-type]


def menu_text(replies: list[Reply]) -> str:
    return next(r.text for r in replies if r.kind == "menu")


# -- loading and checking ------------------------------------------------------------------


def test_every_language_folder_is_a_complete_content_of_its_own(content: Content) -> None:
    assert list(content.languages) == ["en", "es", "pt"]
    spanish = content.in_language("es")
    assert spanish.nodes["menu"].text == SPANISH_MENU
    assert spanish.nodes.keys() == content.nodes.keys()
    assert spanish.emergency == content.emergency  # language-neutral, from the root
    assert content.in_language("fr") is content


def test_a_translation_with_gaps_gets_one_line_per_gap(tmp_path: Path) -> None:
    root = content_dir(tmp_path)
    folder = add_spanish(root)
    edit_yaml(folder / "menu.yaml", lambda d: node(d, "menu")["buttons"][1].update(goto="stress"))
    edit_yaml(folder / "topics" / "care.yaml", lambda d: d["nodes"].pop(0))
    edit_yaml(folder / "messages.yaml", lambda d: d["alert"].update(text="Llama a emergencias ahora."))
    edit_yaml(folder / "messages.yaml", lambda d: d.update(menu_button="Volver al menú principal"))
    (folder / "webchat.yaml").unlink()
    problems = check_content(root)
    moved = "flows/es/menu.yaml: node 'menu': button 2 goes to 'stress', the default goes to 'causes'"
    assert moved in problems
    missing = "missing (the default language has it)"
    assert any(p.startswith("flows/es/topics/care.yaml: node '") and p.endswith(missing) for p in problems)
    assert "flows/es/messages.yaml: 'alert.text': placeholders none, the default has {number}" in problems
    assert any(p.startswith("flows/es/messages.yaml: menu_button:") for p in problems), problems
    assert "flows/es/webchat.yaml: missing (the default language has it)" in problems


def test_check_content_passes_a_full_translation_and_names_its_gaps(tmp_path: Path,
                                                                     bot_env: dict[str, str]) -> None:
    root = content_dir(tmp_path)
    folder = add_spanish(root)
    run = subprocess.run([sys.executable, "-m", "messenger_bot", "check-content", str(root)],
                         capture_output=True, text=True, env=bot_env, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    edit_yaml(folder / "topics" / "about.yaml", lambda d: node(d, "about").update(text="Sobre {nombre}."))
    run = subprocess.run([sys.executable, "-m", "messenger_bot", "check-content", str(root)],
                         capture_output=True, text=True, env=bot_env, timeout=120)
    assert run.returncode == 1
    line = "flows/es/topics/about.yaml: node 'about': text placeholders {nombre}, the default has none"
    assert line in run.stdout


def test_a_language_folder_keeps_no_language_neutral_file(tmp_path: Path) -> None:
    root = content_dir(tmp_path)
    folder = add_spanish(root)
    (folder / "emergency-numbers.yaml").write_text((root / "emergency-numbers.yaml").read_text())
    line = "flows/es/emergency-numbers.yaml: holds no words of a language; keep it in flows/ only"
    assert line in check_content(root)


def test_a_language_folder_without_its_language_file_is_named(tmp_path: Path) -> None:
    root = content_dir(tmp_path)
    (root / "fr").mkdir()
    (root / "fr" / "menu.yaml").write_text((root / "menu.yaml").read_text())
    assert check_content(root) == ["flows/fr: a language folder needs a language.yaml"]


# -- choosing the language -------------------------------------------------------------------


async def test_the_channels_hint_picks_the_language_and_an_unknown_one_the_default(engine: Engine) -> None:
    spanish = await engine.turn(say("menu", user="mx", language="es-MX"))
    assert menu_text(spanish) == SPANISH_MENU
    french = await engine.turn(say("menu", user="fr", language="fr-FR"))
    assert menu_text(french) == engine.content.nodes["menu"].text


async def test_a_telegram_language_code_picks_the_language_at_the_engines_door(engine: Engine) -> None:
    replies = await engine.turn(Incoming("telegram", "4242", text="/start", language="pt-br"))
    assert menu_text(replies) == PORTUGUESE_MENU
    chosen = await engine.turn(Incoming("telegram", "4242", text="english", language="pt-br"))
    assert menu_text(chosen) == engine.content.nodes["menu"].text
    assert menu_text(await engine.turn(Incoming("telegram", "4242", text="/menu", language="pt-br"))) == (
        engine.content.nodes["menu"].text)  # the user's own choice outranks the app's language


async def test_a_first_message_in_spanish_is_answered_in_spanish_and_remembered(engine: Engine) -> None:
    first = await engine.turn(say("el cafe me hace temblar el labio?", user="es1"))
    topic = next(r for r in first if r.kind == "topic")
    assert topic.topic == "caffeine"
    assert topic.text.startswith("La cafeína")
    assert menu_text(await engine.turn(say("menu", user="es1"))) == SPANISH_MENU


async def test_a_language_folds_its_own_word_endings(engine: Engine) -> None:
    replies = await engine.turn(say("el cafecito me hace temblar el labio?", user="es2", language="es"))
    assert [r.topic for r in replies if r.kind == "topic"] == ["caffeine"]
    english = await engine.turn(say("does cafecito make my lip twitch?", user="en2", language="en"))
    assert "caffeine" not in [r.topic for r in english]


async def test_a_phone_number_of_brazil_with_no_other_clue_gets_portuguese(engine: Engine) -> None:
    brazil, britain = "+5511987654321", "+447700900123"
    replies = await engine.turn(Incoming("whatsapp", f"whatsapp:{brazil}", text="menu", phone=brazil))
    assert menu_text(replies) == PORTUGUESE_MENU
    british = await engine.turn(Incoming("whatsapp", f"whatsapp:{britain}", text="menu", phone=britain))
    assert menu_text(british) == engine.content.nodes["menu"].text


async def test_the_language_command_and_a_languages_own_name_choose_it(engine: Engine) -> None:
    await engine.turn(say("hi", user="c1"))
    choice = await engine.turn(say("idioma", user="c1"))
    payloads = ["do:language:en", "do:language:es", "do:language:pt"]
    assert [b.payload for b in choice[0].buttons][:3] == payloads
    assert [b.label for b in choice[0].buttons][:3] == ["English", "Español", "Português"]
    chosen = await engine.turn(Incoming("console", "c1", button="do:language:pt"))
    assert menu_text(chosen) == PORTUGUESE_MENU
    assert menu_text(await engine.turn(say("menu", user="c1"))) == PORTUGUESE_MENU
    assert menu_text(await engine.turn(say("Español", user="c1"))) == SPANISH_MENU


async def test_about_leads_to_the_choice_of_languages_and_the_main_menu_keeps_ten_topics(
    engine: Engine,
) -> None:
    menu = await engine.turn(say("menu", user="m1"))
    assert "do:language" not in [b.payload for b in menu[-1].buttons] and len(menu[-1].buttons) <= 10
    about = await engine.turn(Incoming("console", "m1", button="about"))
    assert "do:language" in [b.payload for b in about[-1].buttons]


async def test_another_language_mid_conversation_is_answered_in_it_with_an_offer(engine: Engine) -> None:
    await engine.turn(say("language", user="e1"))
    await engine.turn(Incoming("console", "e1", button="do:language:en"))
    replies = await engine.turn(say("buenos dias", user="e1"))
    assert replies[0].text == "¡Hola! Qué bueno que escribes."
    assert replies[-1].text == "¿Quieres que sigamos en español?"
    assert [b.payload for b in replies[-1].buttons] == ["do:language:es"]
    assert menu_text(await engine.turn(say("menu", user="e1"))) == engine.content.nodes["menu"].text


async def test_my_data_shows_the_language_and_delete_removes_it(engine: Engine, store: Storage) -> None:
    await engine.turn(say("menu", user="d1", language="es"))
    shown = await engine.turn(say("my data", user="d1"))
    assert "language: es" in shown[0].text
    await engine.turn(say("delete my data", user="d1"))
    await engine.turn(say("yes", user="d1"))
    assert await store.load_user("console", "d1") is None


# -- triage in every language ------------------------------------------------------------------


async def test_a_spanish_red_flag_alerts_in_spanish_in_an_english_conversation(engine: Engine) -> None:
    await engine.turn(say("hi", user="t1", country="US"))
    replies = await engine.turn(say("de repente tengo la cara caida", user="t1", country="US"))
    assert replies[0].kind == "alert"
    assert replies[0].text.startswith("*Puede ser un ictus.*")
    assert "911" in replies[0].text
    english = await engine.turn(say("my face is drooping on one side", user="t1", country="US"))
    assert english[0].kind == "alert" and not english[0].text.startswith("*Puede")


# -- a third language needs no code ---------------------------------------------------------------


def test_a_copied_language_with_one_sentence_changed_is_served_by_chat_json(tmp_path: Path,
                                                                            bot_env: dict[str, str]) -> None:
    root = content_dir(tmp_path)
    folder = start_language(root, "it")
    edit_yaml(folder / "language.yaml", lambda d: d.update(name="Italiano", names=["italiano", "italian"],
                                                           button="Italiano"))
    edit_yaml(folder / "menu.yaml", lambda d: node(d, "menu").update(text="Che cosa vuoi sapere?"))
    with ChatProcess({**bot_env, "CONTENT_DIR": str(root)}, "--user", "third") as chat:
        choice = chat.send("language")["replies"][-1]
        assert {"label": "Italiano", "payload": "do:language:it"} in choice["buttons"]
        replies = chat.send({"button": "do:language:it"})["replies"]
        assert replies[-1]["kind"] == "menu" and replies[-1]["text"] == "Che cosa vuoi sapere?"
        assert set(replies[-1]) == {"kind", "topic", "text", "buttons"}


def test_spanish_input_through_chat_json_answers_in_spanish_with_the_same_topic_ids(
    flows: Path, bot_env: dict[str, str]
) -> None:
    with ChatProcess({**bot_env, "CONTENT_DIR": str(flows)}, "--user", "es-json") as chat:
        replies = chat.send("el cafe me hace temblar el labio?")["replies"]
        topic = next(r for r in replies if r["kind"] == "topic")
        assert topic["topic"] == "caffeine" and topic["text"].startswith("La cafeína")
        assert set(topic) == {"kind", "topic", "text", "buttons"}


# -- a signed WhatsApp post -------------------------------------------------------------------------


def test_a_whatsapp_user_from_brazil_with_no_other_clue_is_answered_in_portuguese(
    flows: Path, tmp_path: Path
) -> None:
    token, sandbox, brazil = "test-auth-token-0123456789abcdef", "whatsapp:+14155238886", "+5511912345678"
    with FakeTwilio() as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
        env.update({
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}", "PYTHONUNBUFFERED": "1",
            "CONTENT_DIR": str(flows), "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": token,
            "TWILIO_WHATSAPP_FROM": sandbox, "TWILIO_API_BASE_URL": fake.base_url, "PUBLIC_BASE_URL": "",
            "WHATSAPP_INTERACTIVE": "false", "PID_DIR": str(tmp_path / "run"),
        })
        with ServeProcess(env, "--no-scheduler") as serve, httpx.Client(timeout=10) as http:
            url = serve.url + "/whatsapp/webhook"
            fields = {
                "MessageSid": "SM" + "1" * 32, "AccountSid": "AC" + "0" * 32, "From": f"whatsapp:{brazil}",
                "To": sandbox, "Body": "menu", "NumMedia": "0", "WaId": brazil.lstrip("+"),
            }
            signature = RequestValidator(token).compute_signature(url, fields)
            response = http.post(url, data=fields, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text
    shown = "\n".join(m.text or "" for m in ET.fromstring(response.text).iter("Message"))
    assert PORTUGUESE_MENU in shown


# -- the web chat ------------------------------------------------------------------------------------


@pytest.fixture
async def web(flows: Path, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    spanish = flows / "es" / "webchat.yaml"
    edit_yaml(spanish, lambda d: d.update(label="Escribe tu pregunta", slow_down="Más despacio, por favor."))
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/x.sqlite3", content_dir=flows)
    app = create_app(settings, scheduler=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://chat.test"
    ) as client:
        yield client


async def test_the_web_page_speaks_the_browsers_language(web: httpx.AsyncClient) -> None:
    spanish = await web.get("/", headers={"accept-language": "es-ES,es;q=0.9,en;q=0.8"})
    assert '<html lang="es">' in spanish.text and ">Escribe tu pregunta</label>" in spanish.text
    assert "{{" not in spanish.text
    english = await web.get("/", headers={"accept-language": "de-DE"})
    assert '<html lang="en">' in english.text and ">Type your question</label>" in english.text


async def test_the_chat_takes_the_browsers_language_as_the_users(web: httpx.AsyncClient) -> None:
    response = await web.post("/api/chat", json={"user": "browser-es-1", "text": "menu"},
                              headers={"accept-language": "es-MX"})
    assert menu_text([Reply(r["kind"], r["text"]) for r in response.json()["replies"]]) == SPANISH_MENU


async def test_a_user_from_before_languages_goes_on_in_the_default(engine: Engine, store: Storage) -> None:
    brazil = "+5511955554444"
    await engine.turn(Incoming("whatsapp", f"whatsapp:{brazil}", text="menu", phone=brazil))
    user = await store.load_user("whatsapp", f"whatsapp:{brazil}")
    assert user is not None
    user.language = None  # as every row is before migration 0009
    await store.save_user(user)
    replies = await engine.turn(Incoming("whatsapp", f"whatsapp:{brazil}", text="menu", phone=brazil))
    assert menu_text(replies) == engine.content.nodes["menu"].text
