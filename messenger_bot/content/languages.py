"""Languages as content: flows/ is the default language, flows/<code>/ each other one.

A translation is a full copy of the default's language-bearing files in the same schema, so a
translator can add a language without touching Python. What may differ is the words: texts,
titles, labels and the vocabulary the bot reads. What must not differ is the shape the code
relies on: the files, the node ids, the buttons (their order and targets), the placeholders in
each text and the keys of the data files. `compare` reports each gap as one line naming the
language's file and node, the same way every other content problem is reported.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from messenger_bot.content.schema import LABEL_LIMIT

LANGUAGE_FILE = "language.yaml"
#: Files that hold no words of any language: read from the root only, whatever the language.
NEUTRAL_FILES = frozenset({"emergency-numbers.yaml", "language-countries.yaml"})
#: Parts of data files that are vocabulary: a typed word and what it stands for. Their keys are
#: words of the language, so they differ from the default's by design.
VOCABULARY: Mapping[str, tuple[str, ...]] = {
    "faq.yaml": ("synonyms", "endings"),
    "reminders.yaml": ("understand.rewrite", "understand.commands", "understand.amount_words", "places"),
    "diary.yaml": ("numbers", "commands"),
}
#: Files written natively for each language rather than translated: each language's red-flag
#: vocabulary has the word lists, cues and explanations its own grammar needs, so only its
#: schema is checked (each language's triage runs on its own; no graph or key joins them).
NATIVE_FILES = frozenset({"triage.yaml"})
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
CODE = re.compile(r"^[a-z]{2}$")
#: What a switch offer may hold: one short sentence.
OFFER_LIMIT = 200


class LanguageInfo(BaseModel):
    """flows/language.yaml and flows/<code>/language.yaml: what a language is called, the words a
    user types to choose it, and how it offers itself when a user writes in it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str = Field(min_length=1, max_length=LABEL_LIMIT)
    names: tuple[str, ...] = Field(min_length=1)
    switch_offer: str = Field(min_length=1, max_length=OFFER_LIMIT)
    button: str = Field(min_length=1, max_length=LABEL_LIMIT)

    @field_validator("code")
    @classmethod
    def _iso(cls, value: str) -> str:
        if not CODE.match(value):
            raise ValueError(f"code {value!r} must be a two-letter ISO 639-1 code such as 'es'")
        return value


class LanguageCountries(BaseModel):
    """flows/language-countries.yaml: the language to speak first to someone whose phone number
    is of a country (ISO 3166 region codes), when nothing better says which. A language named here
    that the content does not have is passed over."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    countries: dict[str, tuple[str, ...]] = {}

    def by_region(self) -> dict[str, str]:
        return {region: code for code, regions in self.countries.items() for region in regions}


def language_folders(root: Path) -> list[Path]:
    """The folders of flows/ that hold a language: those with a language.yaml, by code."""
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / LANGUAGE_FILE).is_file())


def start_language(root: Path, code: str) -> Path:
    """Begin a translation: copy the default language's files into root/<code>/ (its language.yaml
    with the new code), for a translator to rewrite in place. Refuses a folder that exists."""
    if not CODE.match(code):
        raise ValueError(f"{code!r} is not a two-letter ISO 639-1 code")
    target = root / code
    if target.exists():
        raise FileExistsError(f"{target} already exists")
    skip = language_folders(root)
    for path in sorted(root.rglob("*.y*ml")):
        if (path.parent == root and path.name in NEUTRAL_FILES) or any(path.is_relative_to(f) for f in skip):
            continue
        copy = target / path.relative_to(root)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    info = target / LANGUAGE_FILE
    text = re.sub(r"(?m)^code: .*$", f"code: {code}", info.read_text(encoding="utf-8"))
    info.write_text(text, encoding="utf-8")
    return target


def compare(
    rel: str, default: Mapping[str, Any], other: Mapping[str, Any], missing_files: list[str]
) -> list[str]:
    """The gaps of one language against the default, one line each.

    `default` and `other` map each file's path (relative to its language folder) to its raw YAML;
    `rel` is how the language's folder is written in the lines ("flows/es").
    """
    problems = [f"{rel}/{name}: missing (the default language has it)" for name in missing_files]
    for name, raw in other.items():
        if name not in default:
            problems.append(f"{rel}/{name}: the default language has no such file")
        elif name in NATIVE_FILES:
            continue
        elif "nodes" in (default[name] or {}):
            problems.extend(_nodes(f"{rel}/{name}", default[name], raw))
        else:
            problems.extend(_data(f"{rel}/{name}", default[name], raw, VOCABULARY.get(name, ())))
    return problems


def _by_id(raw: Any) -> dict[str, dict[str, Any]]:
    nodes = raw.get("nodes") if isinstance(raw, dict) else None
    return {n["id"]: n for n in nodes or () if isinstance(n, dict) and "id" in n}


def _nodes(at: str, default: Any, other: Any) -> Iterator[str]:
    mine, theirs = _by_id(default), _by_id(other)
    for nid in mine.keys() - theirs.keys():
        yield f"{at}: node '{nid}': missing (the default language has it)"
    for nid in theirs.keys() - mine.keys():
        yield f"{at}: node '{nid}': the default language has no such node"
    for nid in mine.keys() & theirs.keys():
        node = f"{at}: node '{nid}'"
        yield from _buttons(node, mine[nid].get("buttons") or [], theirs[nid].get("buttons") or [])
        yield from _placeholders(node, mine[nid], theirs[nid], "")


def _target(button: Any) -> str:
    if not isinstance(button, dict):
        return "nothing"
    return f"'{button['goto']}'" if "goto" in button else f"action '{button.get('action')}'"


def _buttons(at: str, default: list[Any], other: list[Any]) -> Iterator[str]:
    if len(default) != len(other):
        yield f"{at}: has {len(other)} buttons, the default has {len(default)}"
    for index, (mine, theirs) in enumerate(zip(default, other, strict=False), start=1):
        if _target(mine) != _target(theirs):
            yield f"{at}: button {index} goes to {_target(theirs)}, the default goes to {_target(mine)}"


def _placeholders(at: str, default: Any, other: Any, path: str) -> Iterator[str]:
    """Every text at the same place names the same placeholders."""
    if isinstance(default, str) and isinstance(other, str):
        mine, theirs = set(PLACEHOLDER.findall(default)), set(PLACEHOLDER.findall(other))
        if mine != theirs:
            where = f" {path}" if path else ""
            shown = ", ".join(f"{{{p}}}" for p in sorted(mine)) or "none"
            yield f"{at}:{where} placeholders {_listed(theirs)}, the default has {shown}"
    elif isinstance(default, dict) and isinstance(other, dict):
        for key in default.keys() & other.keys():
            if key not in ("id", "buttons", "nodes"):
                yield from _placeholders(at, default[key], other[key], f"{path}.{key}".lstrip("."))


def _listed(names: set[str]) -> str:
    return ", ".join(f"{{{p}}}" for p in sorted(names)) or "none"


def _data(at: str, default: Any, other: Any, vocabulary: tuple[str, ...], path: str = "") -> Iterator[str]:
    """The same keys at every level of a data file (vocabulary maps aside), the same placeholders."""
    if path in vocabulary:
        return
    if isinstance(default, dict) and isinstance(other, dict):
        for key in default.keys() - other.keys():
            yield f"{at}: '{_join(path, key)}' missing (the default language has it)"
        for key in other.keys() - default.keys():
            yield f"{at}: '{_join(path, key)}': the default language has no such key"
        for key in default.keys() & other.keys():
            yield from _data(at, default[key], other[key], vocabulary, _join(path, key))
    elif isinstance(default, str) and isinstance(other, str):
        mine, theirs = set(PLACEHOLDER.findall(default)), set(PLACEHOLDER.findall(other))
        if mine != theirs:
            yield f"{at}: '{path}': placeholders {_listed(theirs)}, the default has {_listed(mine)}"


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


if __name__ == "__main__":  # python -m messenger_bot.content.languages CODE [FLOWS_DIR]
    folder = start_language(Path(sys.argv[2] if len(sys.argv) > 2 else "flows"), sys.argv[1])
    print(f"{folder}: the default language's files, to translate; then run messenger-bot check-content")
