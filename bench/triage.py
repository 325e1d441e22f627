"""Triage benchmark: CPU of one `Triage.check`, for ordinary messages and for very long ones.

    .venv/bin/python bench/triage.py [--repeat 7]

Prints, in one run:
  * typical - the median and p99 CPU of one check over every line of tests/eval/triage-*.tsv,
              each line with a fresh random typo so the speller's cache does not flatter it;
  * long    - the CPU of one check of 4k, 16k and 50k characters of made-up words (every word
              new, so every one misses the cache), of real words, and of real words ending in a
              red flag; median and worst of --repeat runs, each on a new Triage (cold caches),
              with the most words the speller corrected in one check.
The target is well under 1 ms at the median and under 5 ms for any message.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from messenger_bot.triage import Triage
from messenger_bot.wiring import load_content

ROOT = Path(__file__).resolve().parents[1]
SIZES = (4_000, 16_000, 50_000)
REAL = "my lip twitches a bit when i drink coffee and i feel tired at work most days "


def messages() -> list[str]:
    lines = []
    for path in sorted((ROOT / "tests" / "eval").glob("triage-*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                lines.append(line.partition("\t")[2])
    return lines


def with_typo(text: str, rng: random.Random) -> str:
    """One letter of one word doubled: a new word for the cache, still a typo people make."""
    at = rng.randrange(len(text))
    return text[:at] + text[at] + text[at:]


def made_up(size: int, rng: random.Random) -> str:
    words, total = [], 0
    while total < size:
        word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 11)))
        words.append(word)
        total += len(word) + 1
    return " ".join(words)[:size]


def cpu(triage: Triage, text: str) -> float:
    start = time.process_time_ns()
    triage.check(text)
    return (time.process_time_ns() - start) / 1e6


def typical(content_triage: Triage, rng: random.Random) -> None:
    texts = [with_typo(m, rng) for m in messages() for _ in range(3)]
    for text in texts[:50]:
        content_triage.check(text)  # warm up the regex and code paths, not the cache of these texts
    times = sorted(cpu(content_triage, with_typo(t, rng)) for t in texts)
    p99 = times[int(len(times) * 0.99)]
    print(f"typical   {len(times)} checks: median {statistics.median(times) * 1000:.0f} µs, "
          f"p99 {p99 * 1000:.0f} µs, max {times[-1] * 1000:.0f} µs")


def long(rules, repeat: int, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    for size in SIZES:
        real = (REAL * (size // len(REAL) + 1))[:size]
        cases = {
            "made-up words": lambda n=size: made_up(n, rng),
            "real words": lambda text=real: text,
            "real + red flag": lambda text=real: text[:-30] + " my face is drooping",
        }
        for name, build in cases.items():
            times, corrected = [], 0
            for _ in range(repeat):
                triage = Triage(rules)  # a cold cache: the worst case
                text = build()
                before = triage.speller.corrections
                times.append(cpu(triage, text))
                corrected = max(corrected, triage.speller.corrections - before)
            print(f"long      {size:>6,} chars {name:<16} median {statistics.median(times):5.2f} ms CPU, "
                  f"worst {max(times):5.2f} ms   speller calls {corrected}")


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(14)
    rules = load_content(ROOT / "flows").triage
    typical(Triage(rules), rng)
    long(rules, args.repeat, rng)


if __name__ == "__main__":
    main()
