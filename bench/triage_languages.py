"""Cross-language triage score: every language's red-flag sets, read with every language loaded.

    .venv/bin/python bench/triage_languages.py [--flows DIR] [--misses] [--holdout]

Every language's triage reads every message, so a Spanish calm line can alert through the English
vocabulary. This scores each language's sets (tests/eval/triage-*.tsv for the default language,
tests/eval/<code>/triage-*.tsv for the others) through `Languages.triage`, the call a turn makes,
once per conversation language: the line as written by a user of that language, and the same line
in each other language's conversation (a Spanish speaker in an English conversation). Printed per
language's set and conversation: alerts caught, and calm lines that alerted, by the language the
alert was in. The mixed-language held-out sets (triage-mixed-holdout.tsv) are left out, and scored
alone with --holdout (once, at the end). --misses lists every missed red flag and false alarm. Last,
the median CPU of one `Languages.triage` call: over every line, and over the lines where some
language's vocabulary fires (the only ones on which the readings are laid over each other).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from messenger_bot.content import load_content
from messenger_bot.languages import Languages

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "tests" / "eval"
#: The sets kept aside while the languages' readings were combined: scored only with --holdout.
HELD_OUT = "triage-mixed-holdout"


@dataclass
class Tally:
    """Alerts caught and calm lines that alerted, for one language's set in one conversation."""

    alerts: int = 0
    caught: int = 0
    calm: int = 0
    alarmed: int = 0
    by: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)
    cpu: list[tuple[bool, float]] = field(default_factory=list)

    def line(self) -> str:
        fired = ", ".join(f"{code} {n}" for code, n in sorted(self.by.items())) or "none"
        return (f"alerts caught {self.caught}/{self.alerts}, calm that alerted {self.alarmed}/{self.calm}"
                f" ({100 * self.alarmed / max(self.calm, 1):.1f}%; by {fired})")


def cases(code: str, default: str, holdout: bool) -> Iterator[tuple[Path, str, str]]:
    """(file, label, message) of every triage line of one language's sets."""
    folder = EVAL if code == default else EVAL / code
    for path in sorted(folder.glob("triage-*.tsv")):
        if path.name.startswith(HELD_OUT) != holdout:
            continue
        for line in path.read_text(encoding="utf-8-sig").splitlines():
            if line.strip() and not line.startswith("#"):
                label, _, message = line.partition("\t")
                yield path, label.strip(), message


def score(languages: Languages, code: str, conversation: str, holdout: bool) -> Tally:
    tally = Tally()
    for path, label, message in cases(code, languages.default.code, holdout):
        start = time.process_time_ns()
        found = languages.triage(message, conversation)
        spent = (time.process_time_ns() - start) / 1000
        fired = any(speech.triage.check(message) is not None for speech in languages)
        tally.cpu.append((fired, spent))
        if label == "alert":
            tally.alerts += 1
            tally.caught += found is not None
            if found is None:
                tally.misses.append(f"    missed   {path.name}: {message}")
        else:
            tally.calm += 1
            if found is not None:
                tally.alarmed += 1
                tally.by[found[0]] += 1
                tally.misses.append(f"    alarm {found[0]} {path.name}: {message}  {list(found[1].signs)}")
    return tally


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--flows", type=Path, default=ROOT / "flows")
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--holdout", action="store_true", help="score only the mixed-language held-out sets")
    args = parser.parse_args()
    languages = Languages(load_content(args.flows))
    codes = list(languages.speech)
    cpu: list[tuple[bool, float]] = []
    for code in codes:
        for conversation in [code, *(c for c in codes if c != code)]:
            tally = score(languages, code, conversation, args.holdout)
            print(f"{code} sets, {conversation} conversation: {tally.line()}")
            if args.misses:
                print("\n".join(tally.misses))
            cpu.extend(tally.cpu)
    fired = [t for f, t in cpu if f]
    every = statistics.median(t for _, t in cpu)
    rare = statistics.median(fired) if fired else 0
    print(f"CPU per Languages.triage: median {every:.0f} µs over {len(cpu)} calls;"
          f" {rare:.0f} µs over the {len(fired)} where a vocabulary fires")


if __name__ == "__main__":
    main()
