"""Whatever arrives, the engine answers: random text and payloads, never a crash."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messenger_bot.content import Content
from messenger_bot.conversation import Incoming
from messenger_bot.engine import Engine
from messenger_bot.storage import SQLiteStorage

channels = st.sampled_from(["console", "telegram", "whatsapp", "web"])
messages = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(categories=["So", "Cc", "Zs", "Mn"]), max_size=50),
    st.from_regex(r"\s*\d{1,4}\s*", fullmatch=True),
    st.sampled_from(["menu", "back", "delete my data", "yes", "STOP", "start", "help", "my data"]),
)
payloads = st.one_of(
    st.text(max_size=80), st.sampled_from(["menu", "caffeine", "do:delete:yes", "do:", "do:x:y"])
)
inputs = st.one_of(messages.map(lambda t: ("text", t)), payloads.map(lambda p: ("button", p)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(channels, inputs), max_size=6))
def test_every_message_gets_an_answer_that_ends_with_buttons(
    content: Content, tmp_path: Path, steps: list[tuple[str, tuple[str, str]]]
) -> None:
    async def run() -> None:
        store = SQLiteStorage(tmp_path / "prop.sqlite3")
        await store.open()
        try:
            engine = Engine(content, store)
            for channel, (field, value) in steps:
                replies = await engine.turn(Incoming(channel, "prop", **{field: value}))
                assert replies, f"no answer to {field}={value!r}"
                assert replies[-1].buttons, f"no way forward after {field}={value!r}"
                assert all(r.text.strip() for r in replies)
        finally:
            await store.close()

    asyncio.run(run())
