"""The composition root: every module imports on its own, only wiring.py imports inside
functions, a web-chat-only start never loads Telegram's or Twilio's libraries, and a feature's
content file is validated because the feature declares it."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from messenger_bot import cli, wiring
from messenger_bot.channels.telegram.request import AiohttpRequest
from messenger_bot.channels.twilio.rest import make_client
from messenger_bot.content import Content, ContentError, load_content
from messenger_bot.content import check_content as check_with
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.engine import Feature, Turn
from messenger_bot.features import Expiry, FeatureSpec, builder, content_files
from messenger_bot.runtime import Runtime
from messenger_bot.settings import Settings, load_settings
from messenger_bot.storage import Storage, UserTable
from messenger_bot.wiring import FEATURES, check_content
from tests.conftest import FLOWS, ROOT

PACKAGE = ROOT / "messenger_bot"
RUFF = Path(sys.executable).with_name("ruff")


def modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return [n for n in names if n != "messenger_bot.__main__"]  # that one runs the command line


_IMPORT_EACH = """
import importlib, json, sys, traceback
failed = {}
for name in json.loads(sys.argv[1]):
    for loaded in [m for m in sys.modules if m == "messenger_bot" or m.startswith("messenger_bot.")]:
        del sys.modules[loaded]  # a clean start for each: no module is already half-imported by another
    try:
        importlib.import_module(name)
    except Exception:
        failed[name] = traceback.format_exc(limit=-3)
print(json.dumps(failed))
"""


def test_every_module_imports_on_its_own() -> None:
    names = modules()
    assert "messenger_bot.wiring" in names and len(names) > 50
    done = subprocess.run([sys.executable, "-c", _IMPORT_EACH, json.dumps(names)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == {}


def test_only_the_composition_root_imports_inside_functions() -> None:
    """Ruff's rule without the project's config (which exempts wiring.py) finds wiring.py alone."""
    done = subprocess.run(
        [str(RUFF if RUFF.exists() else shutil.which("ruff")), "check", "--isolated", "--select", "PLC0415",
         "--output-format", "json", "messenger_bot"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    found = {Path(item["filename"]).relative_to(ROOT).as_posix() for item in json.loads(done.stdout)}
    assert found == {"messenger_bot/wiring.py"}


_BUILD_AND_START = """
import asyncio, json, sys
from messenger_bot.settings import load_settings
from messenger_bot.wiring import create_app

async def main():
    app = create_app(load_settings(), scheduler=True)
    async with app.router.lifespan_context(app):
        pass

asyncio.run(main())
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("telegram", "twilio")
                or m.startswith(("messenger_bot.channels.telegram", "messenger_bot.channels.whatsapp")))
print(json.dumps(loaded))
"""


def loaded_channel_modules(env: dict[str, str]) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _BUILD_AND_START], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_a_web_chat_only_start_loads_neither_telegram_nor_twilio(bot_env: dict[str, str]) -> None:
    assert loaded_channel_modules(bot_env) == []


_HEAVY_AT_START = """
import asyncio, json, sys
from messenger_bot.settings import load_settings
from messenger_bot.wiring import create_app

async def main():
    app = create_app(load_settings(), scheduler=True)
    async with app.router.lifespan_context(app):
        pass

asyncio.run(main())
heavy = ("fpdf", "matplotlib")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


def test_a_start_loads_neither_the_pdf_nor_the_chart_library(bot_env: dict[str, str]) -> None:
    """Each of them costs a start tenths of a second: the diary's PDF and chart come at the first
    summary."""
    done = subprocess.run([sys.executable, "-c", _HEAVY_AT_START], cwd=ROOT, env=bot_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_the_app_serves_the_content_it_was_handed_then_reads_the_files_again(
    bot_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`serve` checks the content before it listens and hands that very content to the app, so a
    start validates it once; a later start of the same app (or a reload) reads the files afresh."""
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    monkeypatch.setenv("DATABASE_URL", bot_env["DATABASE_URL"])
    monkeypatch.setenv("CONTENT_DIR", str(flows))
    settings = load_settings()
    app = wiring.create_app(settings, scheduler=False, content=wiring.load_content(flows))
    (flows / "menu.yaml").write_text("nodes: [\n", encoding="utf-8")  # broken after the check
    asyncio.run(_start_and_stop(app))  # the checked content: it starts
    assert app.state.runtime.content.nodes
    with pytest.raises(ContentError) as error:
        asyncio.run(_start_and_stop(app))
    assert any(line.startswith("flows/menu.yaml: YAML error") for line in error.value.problems)


async def _start_and_stop(app: Any) -> None:
    async with app.router.lifespan_context(app):
        pass


def test_a_telegram_token_brings_in_telegram_and_still_not_twilio(bot_env: dict[str, str]) -> None:
    env = {**bot_env, "TELEGRAM_BOT_TOKEN": "123456:TEST-token-for-wiring", "TELEGRAM_MODE": "webhook",
           "PUBLIC_BASE_URL": "https://bot.example.org"}
    app = subprocess.run([sys.executable, "-c", _BUILD_AND_START.replace(
        "async with app.router.lifespan_context(app):\n        pass", "pass")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert app.returncode == 0, app.stderr
    loaded = json.loads(app.stdout.splitlines()[-1])
    assert "telegram" in loaded and "messenger_bot.channels.telegram" in loaded
    assert not any(m.split(".")[0] == "twilio" for m in loaded)


class _Notes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    greeting: str


def never_built(content: Content, store: Storage, settings: Settings) -> Feature:
    raise AssertionError("the loader only reads a feature's files; it never builds the feature")


def _notes_feature() -> FeatureSpec:
    return FeatureSpec(name="notes", build="tests.test_wiring:never_built", content={"notes.yaml": _Notes})


def test_every_feature_names_a_builder_that_exists() -> None:
    assert [spec.name for spec in FEATURES] == ["reminders", "diary", "feedback"]
    for spec in FEATURES:
        assert callable(builder(spec)), spec.build


def test_reading_the_features_content_does_not_load_their_conversations() -> None:
    """check-content and the command line import every FeatureSpec; the diary's charts
    (matplotlib) and the reminders' conversation come only with an engine."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; import messenger_bot.cli; "
         "heavy = ('matplotlib', 'messenger_bot.diary.feature', 'messenger_bot.reminders.feature'); "
         "print(sorted(m for m in heavy if m in sys.modules))"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )
    assert done.stdout.strip() == "[]"


def test_a_feature_brings_its_own_content_file_and_the_loader_checks_it(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    files = content_files([*FEATURES, _notes_feature()])
    assert check_content(flows) == []  # the real features' files are all there and valid
    missing = check_with(flows, files)
    assert missing == ["flows/notes.yaml: missing (the bot needs it)"]
    (flows / "notes.yaml").write_text("greeting: 3\nfarewell: bye\n", encoding="utf-8")
    lines = check_with(flows, files)
    assert any(line.startswith("flows/notes.yaml: greeting:") for line in lines)
    assert any(line.startswith("flows/notes.yaml: farewell:") for line in lines)
    for language in (flows, flows / "es", flows / "pt"):  # a feature's file is in every language
        (language / "notes.yaml").write_text("greeting: Hello there\n", encoding="utf-8")
    assert load_content(flows, files).extra["notes.yaml"].greeting == "Hello there"


def test_without_the_features_their_files_are_not_content_the_engine_reads(tmp_path: Path) -> None:
    """The loader alone knows only the engine's files: a feature's file it was not told about is
    read as a file of nodes and refused, so forgetting to declare one is never silent."""
    problems = check_with(FLOWS)
    assert any(p.startswith("flows/reminders.yaml:") for p in problems)
    assert check_with(FLOWS, content_files(FEATURES)) == []


# -- a feature plugged in by one line: its table, its expiry, its job and its command ---------

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_NOTES_TABLE = ("CREATE TABLE notes (id INTEGER PRIMARY KEY, channel TEXT, user_key TEXT, body TEXT, "
                "written_at REAL)")


class NotesFeature:
    """A feature with no words of its own: enough for the engine to have it."""

    name = "notes"

    def __init__(self) -> None:
        self.commands: Mapping[str, str] = {}

    async def on_action(self, turn: Turn, action: str) -> list[Reply]:
        return []

    async def on_pending(self, turn: Turn, text: str) -> list[Reply] | None:
        return None


def build_notes(content: Content, store: Storage, settings: Settings) -> Feature:
    return NotesFeature()


class NotesJob:
    """A background job: at its start it writes a note, so a test sees that it ran."""

    def __init__(self, settings: Settings, senders_for: object) -> None:
        self.settings = settings

    async def start(self, runtime: Runtime) -> None:
        await runtime.store.execute(
            "INSERT INTO notes (channel, user_key, body, written_at) VALUES ('console', 'job', 'ran', ?)",
            NOW.timestamp())

    async def stop(self) -> None: ...


def add_notes_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], run: Any) -> None:
    """`messenger-bot notes count --user KEY`: how many notes a user has."""
    notes = sub.add_parser("notes").add_subparsers(dest="notes_command", required=True)
    count = notes.add_parser("count")
    count.add_argument("--user", required=True)

    async def counted(runtime: Runtime, senders: object, user: str) -> int:
        rows = await runtime.store.fetch("SELECT COUNT(*) FROM notes WHERE user_key = ?", user)
        print(f"notes: {rows[0][0]}")
        return 0

    count.set_defaults(func=lambda args: run(lambda runtime, senders: counted(runtime, senders, args.user)))


NOTES = FeatureSpec(
    name="notes",
    build="tests.test_wiring:build_notes",
    tables=(UserTable("notes", newest="written_at"),),
    retention={"notes": "30 days after it was written; with its user"},
    expiries=(Expiry("notes", "id", "written_at < ?", lambda settings: timedelta(days=30)),),
    jobs=("tests.test_wiring:NotesJob",),
    cli="tests.test_wiring:add_notes_commands",
)


def test_a_feature_declares_a_table_a_job_and_a_command_and_wiring_only_lists_it(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Storage, retention, `serve` and the command line take what the spec declares: the only
    change is the spec's line in FEATURES."""
    for name in [k for k in os.environ if k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", bot_env["DATABASE_URL"])
    monkeypatch.setattr(wiring, "FEATURES", (*wiring.FEATURES, NOTES))
    settings = load_settings()
    asyncio.run(_walked_pruned_and_run(settings))

    assert cli.main(["notes", "count", "--user", "ana"]) == 0  # offered by the command line
    assert capsys.readouterr().out.splitlines()[-1] == "notes: 1"
    assert "notes" in cli.build_parser().format_help()
    assert wiring.retention_rules()["notes"] == NOTES.retention["notes"]


async def _walked_pruned_and_run(settings: Settings) -> None:
    runtime = await wiring.open_runtime(settings)
    try:
        store, engine = runtime.store, runtime.engine
        await store.execute(_NOTES_TABLE)
        await engine.turn(Incoming("console", "ana", text="hi"))
        for day, body in ((40, "old note"), (1, "new note")):
            written = (NOW - timedelta(days=day)).timestamp()
            await store.execute("INSERT INTO notes (channel, user_key, body, written_at) "
                                "VALUES ('console', 'ana', ?, ?)", body, written)
        [shown] = await engine.turn(Incoming("console", "ana", text="my data"))
        [line] = [line for line in shown.text.splitlines() if line.startswith("• notes: ")]
        assert "2" in line and "new note" in line  # counted, and the newest shown in full
        removed = await wiring.prune(store, settings, NOW)
        assert removed["notes"] == 1
        assert await store.fetch("SELECT body FROM notes") == [("new note",)]
        jobs = wiring.background_for(settings, scheduler=True)
        [job] = [job for job in jobs if isinstance(job, NotesJob)]
        assert len(jobs) == 3  # the reminders' tick, this one, retention
        await job.start(runtime)
        assert await store.fetch("SELECT body FROM notes WHERE user_key = 'job'") == [("ran",)]
        await engine.turn(Incoming("console", "bo", text="hi"))
        await store.execute("INSERT INTO notes (channel, user_key, body, written_at) "
                            "VALUES ('console', 'bo', 'mine', ?)", NOW.timestamp())
        await engine.turn(Incoming("console", "bo", text="delete my data"))
        await engine.turn(Incoming("console", "bo", text="yes"))
        assert await store.fetch("SELECT body FROM notes WHERE user_key = 'bo'") == []
    finally:
        await runtime.close()


def test_a_feature_command_without_words_in_telegram_yaml_is_a_content_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The spec names a Telegram command; its words in the menu are content, in every language."""
    assert check_content(FLOWS) == []
    spoken = FeatureSpec(name="notes", build="tests.test_wiring:build_notes", telegram_commands=("notes",))
    monkeypatch.setattr(wiring, "FEATURES", (*wiring.FEATURES, spoken))
    problems = check_content(FLOWS)
    assert problems and all("/notes" in problem for problem in problems)
    assert {p.split(" ")[1] for p in problems} == {"(en):", "(es):", "(pt):"}


def test_telegram_and_twilio_build_no_tls_context_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both clients use aiohttp's verified context, made once when aiohttp is imported: each
    context of their own would load the system's certificates again at every start."""
    made: list[object] = []
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: made.append(a) or real(*a, **k))
    settings = load_settings(twilio_account_sid="AC" + "0" * 32, twilio_auth_token="tls-test-token")

    async def opened() -> None:
        request = AiohttpRequest(1)
        await request.initialize()
        _, http = make_client(settings)
        await http.close()
        await request.shutdown()

    asyncio.run(opened())
    assert made == []
