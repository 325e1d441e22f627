"""`messenger-bot check-content`: the shipped content is valid, and each mistake is named."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from messenger_bot.content.schema import LABEL_LIMIT, REQUIRED_TOPICS, TEXT_LIMIT
from messenger_bot.wiring import check_content, load_content
from tests.conftest import FLOWS


def run_check(directory: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "messenger_bot", "check-content", str(directory)],
        capture_output=True, text=True, env=env, timeout=60,
    )


def test_the_shipped_content_is_valid_and_complete(bot_env: dict[str, str]) -> None:
    result = run_check(FLOWS, bot_env)
    assert result.returncode == 0, result.stdout
    content = load_content(FLOWS)
    assert set(REQUIRED_TOPICS) <= set(content.nodes)
    for node in content.nodes.values():
        assert len(node.text) <= TEXT_LIMIT
        for button in content.buttons[node.id]:
            assert len(button.label) <= LABEL_LIMIT


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(FLOWS, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_button_to_a_missing_node_is_named(broken: Path, bot_env: dict[str, str]) -> None:
    menu = broken / "menu.yaml"
    edit(menu, "goto: causes", "goto: causez")
    result = run_check(broken, bot_env)
    assert result.returncode == 1
    assert "flows/menu.yaml: node 'menu': button goes to 'causez', which does not exist" in result.stdout


def test_each_kind_of_problem_gets_its_own_line(broken: Path) -> None:
    extra = broken / "topics" / "zz-broken.yaml"
    extra.write_text(
        "nodes:\n"
        "  - id: caffeine\n    title: Again\n    text: dup\n    keywords: [x]\n"
        "  - id: lonely\n    title: Lonely\n    text: nobody links here\n    keywords: [alone]\n"
        "  - id: long\n    title: A title far too long for a button\n    text: " + "x" * 1700 + "\n",
        encoding="utf-8",
    )
    problems = "\n".join(check_content(broken))
    assert "node 'caffeine': duplicate id" in problems
    assert "node 'lonely': unreachable from the menu" in problems
    assert "node 'long': text has 1700 characters (WhatsApp allows 1600)" in problems
    assert "node 'long': a topic needs keywords" in problems
    assert "title 'A title far too long for a button' is over 20 characters" in problems


def test_missing_topics_bad_yaml_and_bad_fields_are_named(broken: Path) -> None:
    (broken / "topics" / "living.yaml").write_text("nodes: [\n  {id: oops", encoding="utf-8")
    problems = "\n".join(check_content(broken))
    assert "flows/topics/living.yaml: YAML error at line" in problems
    assert "missing required topic id 'work-tips'" in problems
    bad_fields = "nodes:\n  - id: Bad Id\n    tittle: x\n"
    (broken / "topics" / "living.yaml").write_text(bad_fields, encoding="utf-8")
    problems = "\n".join(check_content(broken))
    assert "flows/topics/living.yaml: node 'Bad Id': id: Value error" in problems
    assert "tittle: Extra inputs are not permitted" in problems


def test_a_payload_over_64_bytes_and_a_long_label_are_named(broken: Path) -> None:
    long_button = "buttons:\n      - {label: " + "L" * 25 + ", action: 'a" + "b" * 70 + "'}"
    edit(broken / "topics" / "about.yaml", "buttons:", long_button)
    problems = "\n".join(check_content(broken))
    assert "(WhatsApp allows 20)" in problems
    assert "is over 64 bytes" in problems


def test_the_bot_refuses_to_start_on_broken_content(broken: Path, bot_env: dict[str, str]) -> None:
    edit(broken / "menu.yaml", "goto: causes", "goto: causez")
    env = {**bot_env, "CONTENT_DIR": str(broken)}
    run = subprocess.run(
        [sys.executable, "-m", "messenger_bot", "chat", "--json"],
        input="menu\n", capture_output=True, text=True, env=env, timeout=60,
    )
    assert run.returncode == 1
    assert "causez" in run.stderr
    assert run.stdout == ""


def test_telegrams_command_menu_is_checked_against_the_bot_apis_limits(broken: Path) -> None:
    telegram = broken / "telegram.yaml"
    edit(telegram, "command: water", "command: Water-Reminders")
    edit(telegram, "description: The main menu", "description: " + "menu " * 60)
    problems = check_content(broken)
    where = "flows/telegram.yaml: commands"
    assert f"{where}.1.description: String should have at most 256 characters" in problems
    assert f"{where}.6.command: String should match pattern '^[a-z0-9_]{{1,32}}$'" in problems
    shutil.copy(FLOWS / "telegram.yaml", telegram)
    edit(telegram, "command: back", "command: help")
    assert any(p.startswith("flows/telegram.yaml") and "command listed twice: help" in p
               for p in check_content(broken))
    telegram.unlink()
    assert "flows/telegram.yaml: missing (the bot needs it)" in check_content(broken)
