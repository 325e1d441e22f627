"""The development sets through `chat --json`, scored the way the held-out set is judged.

Run with `-s` to see the scores. Triage: every alert line must alert, at most 1 in 10
"no" lines may. Typed questions: at least 90% land on an accepted topic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import OUR_EVAL, SHARED_EVAL
from tests.support.chat import ChatProcess


def read_tsv(path: Path) -> list[tuple[str, str]]:
    assert path.exists(), f"evaluation set missing: {path}"
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, _, message = line.partition("\t")
            rows.append((label.strip(), message))
    return rows


def eval_files(name: str) -> list[Path]:
    """Every tests/eval/<name>-*.tsv, and the shared dev set until it is copied there too;
    a missing one fails its test, never skips."""
    ours = sorted(OUR_EVAL.glob(f"{name}-*.tsv"))
    if not any(p.name == f"{name}-dev.tsv" for p in ours):
        ours.insert(0, SHARED_EVAL / f"{name}-dev.tsv")
    return ours


@pytest.mark.parametrize("path", eval_files("triage"), ids=lambda p: p.name)
def test_triage_set(path: Path, bot_env: dict[str, str]) -> None:
    rows = read_tsv(path)
    missed, false_alarms, no_lines = [], [], 0
    with ChatProcess(bot_env, "--user", "eval-triage") as chat:
        for expected, message in rows:
            alerted = any(r["kind"] == "alert" for r in chat.send({"text": message})["replies"])
            if expected == "alert" and not alerted:
                missed.append(message)
            if expected == "no":
                no_lines += 1
                if alerted:
                    false_alarms.append(message)
    alerts = len(rows) - no_lines
    caught = alerts - len(missed)
    print(f"\n{path.name}: recall {caught}/{alerts}, false alarms {len(false_alarms)}/{no_lines}")
    assert not missed, f"missed red flags: {missed}"
    assert len(false_alarms) * 10 <= no_lines, f"too many false alarms: {false_alarms}"


@pytest.mark.parametrize("path", eval_files("faq"), ids=lambda p: p.name)
def test_faq_set(path: Path, bot_env: dict[str, str]) -> None:
    rows = read_tsv(path)
    wrong = []
    with ChatProcess(bot_env, "--user", "eval-faq") as chat:
        for accepted, message in rows:
            replies = chat.send({"text": message})["replies"]
            topic = next((r["topic"] for r in replies if r["kind"] == "topic"), None)
            if topic not in accepted.split(","):
                wrong.append(f"{message!r} -> {topic} (wanted {accepted})")
    right = len(rows) - len(wrong)
    print(f"\n{path.name}: {right}/{len(rows)} = {right / len(rows):.0%} on an accepted topic")
    for line in wrong:
        print("  miss:", line)
    assert right >= 0.9 * len(rows), "\n".join(wrong)
