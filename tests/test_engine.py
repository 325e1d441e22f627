"""The engine's turn order, as a user of any channel would notice it."""

from __future__ import annotations

from messenger_bot.console import SHOWN_NUMBERED
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.engine import Engine


def say(text: str, user: str = "u1", channel: str = "console", **kw: object) -> Incoming:
    kw.setdefault("numbered", channel in SHOWN_NUMBERED)  # as the console and WhatsApp say they are
    return Incoming(channel, user, text=text, **kw)  # type: ignore[arg-type]


def tap(payload: str, user: str = "u1", channel: str = "console") -> Incoming:
    return Incoming(channel, user, button=payload, numbered=channel in SHOWN_NUMBERED)


def kinds(replies: list[Reply]) -> list[str]:
    return [r.kind for r in replies]


async def test_first_contact_shows_the_notice_once_then_the_menu(engine: Engine) -> None:
    first = await engine.turn(say("hi"))
    assert first[0].kind == "command"
    assert "not a diagnosis" in first[0].text.lower() or "diagnos" in first[0].text.lower()
    second = await engine.turn(say("menu"))
    assert kinds(second) == ["menu"]
    assert second[0].buttons, "the menu offers buttons"


async def test_every_answer_ends_with_buttons(engine: Engine) -> None:
    for message in ["menu", "why does my lip twitch", "qwertyuiop", "help", "my data", "back"]:
        replies = await engine.turn(say(message))
        assert replies[-1].buttons, f"{message!r} left the user with nowhere to go"


async def test_a_button_opens_its_topic_with_a_way_back_to_the_menu(engine: Engine) -> None:
    await engine.turn(say("menu"))
    replies = await engine.turn(tap("caffeine"))
    assert kinds(replies) == ["topic"]
    assert replies[0].topic == "caffeine"
    assert "menu" in [b.payload for b in replies[0].buttons]


async def test_a_stale_or_unknown_payload_shows_the_menu(engine: Engine) -> None:
    await engine.turn(say("menu"))
    for payload in ["old-topic-from-v0", "do:nothing:here", "", "x" * 500]:
        replies = await engine.turn(tap(payload))
        assert kinds(replies) == ["menu"]


async def test_a_number_picks_from_the_last_numbered_menu(engine: Engine) -> None:
    menu = (await engine.turn(say("menu")))[-1]
    second = menu.buttons[1]
    replies = await engine.turn(say("2"))
    assert replies[-1].text == engine.content.nodes[second.payload].text


async def test_a_number_is_just_text_on_a_channel_with_real_buttons(engine: Engine) -> None:
    await engine.turn(say("menu", channel="telegram"))
    replies = await engine.turn(say("2", channel="telegram"))
    assert replies[-1].kind in {"fallback", "topic"}
    assert replies[-1].kind != "menu" or replies[-1].text != engine.content.nodes["menu"].text


async def test_back_returns_to_the_page_before(engine: Engine) -> None:
    await engine.turn(say("menu"))
    await engine.turn(tap("causes"))
    await engine.turn(tap("caffeine"))
    replies = await engine.turn(say("back"))
    assert replies[-1].topic == "causes"


async def test_after_an_alert_its_own_buttons_are_the_next_steps(engine: Engine) -> None:
    await engine.turn(say("hello"))
    replies = await engine.turn(say("my face is drooping on one side and I can't speak"))
    assert kinds(replies) == ["alert"]
    assert [b.payload for b in replies[0].buttons] == ["emergency", "menu"]


async def test_the_alert_names_the_local_number_when_the_country_is_known(engine: Engine) -> None:
    uk = await engine.turn(say("sudden weakness in my arm", user="gb", country="GB"))
    assert "999" in uk[0].text
    unknown = await engine.turn(say("sudden weakness in my arm", user="xx"))
    assert engine.messages.alert.general_number in unknown[0].text


async def test_asking_about_warning_signs_is_a_topic_not_an_alert(engine: Engine) -> None:
    replies = await engine.turn(say("what are the emergency warning signs"))
    assert "alert" not in kinds(replies)
    assert [r.topic for r in replies if r.kind == "topic"] == ["emergency"]


async def test_an_unclear_question_offers_likely_topics(engine: Engine) -> None:
    await engine.turn(say("menu"))
    replies = await engine.turn(say("blorp zzz"))
    assert kinds(replies) == ["fallback"]
    assert replies[0].buttons


async def test_my_data_shows_what_is_stored_and_delete_removes_it(engine: Engine) -> None:
    await engine.turn(say("menu", user="d1"))
    shown = await engine.turn(say("my data", user="d1"))
    assert "d1" in shown[0].text
    confirm = await engine.turn(say("delete my data", user="d1"))
    assert any(b.payload == "do:delete:yes" for b in confirm[0].buttons)
    assert await engine.store.load_user("console", "d1") is not None
    await engine.turn(tap("do:delete:yes", user="d1"))
    assert await engine.store.load_user("console", "d1") is None


async def test_delete_can_be_confirmed_by_typing_yes_or_cancelled(engine: Engine) -> None:
    await engine.turn(say("delete my data", user="d2"))
    await engine.turn(say("no thanks", user="d2"))
    assert await engine.store.load_user("console", "d2") is not None
    await engine.turn(say("delete my data", user="d2"))
    await engine.turn(say("Yes", user="d2"))
    assert await engine.store.load_user("console", "d2") is None


async def test_stop_pauses_and_start_resumes(engine: Engine) -> None:
    await engine.turn(say("STOP", user="s1"))
    assert (await engine.store.load_user("console", "s1")).paused_reason  # type: ignore[union-attr]
    replies = await engine.turn(say("START", user="s1"))
    assert (await engine.store.load_user("console", "s1")).paused_reason is None  # type: ignore[union-attr]
    assert replies[-1].kind == "menu"


async def test_odd_input_always_gets_an_answer(engine: Engine) -> None:
    for text in ["", "   ", "🙂🙂🙂", "\x00\x07\x1b[31m", "'; DROP TABLE users; --", "a" * 10_000]:
        replies = await engine.turn(say(text))
        assert replies and replies[-1].buttons
    media = await engine.turn(Incoming("whatsapp", "m1", non_text=True))
    assert media[-1].kind == "fallback" and media[-1].buttons


async def test_state_survives_a_restart_of_the_store(engine: Engine, store, content) -> None:  # type: ignore[no-untyped-def]
    await engine.turn(say("menu", user="r1"))
    again = Engine(content, store)
    replies = await again.turn(say("1", user="r1"))
    assert replies[0].kind != "command", "the notice is not shown twice"
    assert replies[-1].kind in {"topic", "menu"}


async def test_my_data_counts_every_other_record_kept_about_the_user(engine: Engine) -> None:
    await engine.turn(say("menu", user="d3"))
    sql = "INSERT INTO water_log (channel, user_key, day, glasses) VALUES (?, ?, ?, ?)"
    await engine.store.execute(sql, "console", "d3", "2026-11-28", 3)
    shown = await engine.turn(say("my data", user="d3"))
    assert "water log: 1" in shown[0].text
    await engine.turn(say("delete my data", user="d3"))
    await engine.turn(say("yes", user="d3"))
    assert set((await engine.store.user_row_counts("console", "d3")).values()) == {0}
