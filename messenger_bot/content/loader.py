"""Load flows/ once, check every rule, and refuse to run half-loaded.

`load_content` either returns a complete `Content` or raises `ContentError` carrying
one line per problem ("flows/x.yaml: node 'y': ..."), the same lines that
`messenger-bot check-content` prints. flows/ itself is the default language; each folder
flows/<code>/ with a language.yaml is another one, loaded as a complete `Content` of its own
with the same checks, and compared with the default (content/languages.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from messenger_bot.channels.shared.words import ChannelWords
from messenger_bot.content.languages import (
    CODE,
    LANGUAGE_FILE,
    NEUTRAL_FILES,
    LanguageCountries,
    LanguageInfo,
    compare,
    language_folders,
)
from messenger_bot.content.schema import (
    CHANNEL_TEXT_LIMIT,
    LABEL_LIMIT,
    PAYLOAD_LIMIT,
    REQUIRED_TOPICS,
    ROOT,
    TEXT_LIMIT,
    Commands,
    ContentFile,
    EmergencyNumbers,
    Messages,
    Node,
)
from messenger_bot.content.telegram import TelegramTexts
from messenger_bot.faq.rules import FaqWords, SmallTalkRules
from messenger_bot.triage import TriageRules
from messenger_bot.web.texts import WebChatTexts

#: Files of flows/ that hold data of one shape rather than nodes, which the engine itself reads.
#: A feature's own files (flows/reminders.yaml, …) come with the feature (features.py), so the
#: loader never imports a feature.
DATA_FILES: dict[str, type[BaseModel]] = {
    "messages.yaml": Messages,
    "emergency-numbers.yaml": EmergencyNumbers,
    "triage.yaml": TriageRules,
    "faq.yaml": FaqWords,
    "smalltalk.yaml": SmallTalkRules,
    "telegram.yaml": TelegramTexts,
    "commands.yaml": Commands,
    "webchat.yaml": WebChatTexts,
    LANGUAGE_FILE: LanguageInfo,
    "language-countries.yaml": LanguageCountries,
    "channels.yaml": ChannelWords,
}
#: The data files `Content` has a field for; every other one is in `Content.extra` by file name.
_CORE_FILES = frozenset({"messages.yaml", "emergency-numbers.yaml", "triage.yaml", LANGUAGE_FILE})
OPTIONAL_DATA_FILES: frozenset[str] = frozenset({"language-countries.yaml"})


class ContentError(Exception):
    """The content cannot be used; `problems` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Button:
    """A button as a channel shows it: a label, and the payload it sends back.

    `keep`: a tap must leave the message it was on as it is (a channel that replaces a tapped
    message with its answer sends the answer as a new message instead).
    """

    label: str
    payload: str
    keep: bool = False


@dataclass(frozen=True)
class Content:
    """Everything the engine knows, validated; the engine never reads YAML itself."""

    nodes: dict[str, Node]
    messages: Messages
    emergency: EmergencyNumbers
    triage: TriageRules
    buttons: dict[str, tuple[Button, ...]] = field(repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    #: Which language this is (flows/language.yaml for the default).
    language: LanguageInfo | None = field(default=None, repr=False)
    #: Every language by code, the default first; the same mapping on each language's `Content`.
    languages: dict[str, Content] = field(default_factory=dict, repr=False, compare=False)

    @property
    def topics(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "topic"]

    @property
    def code(self) -> str:
        """The language's ISO 639-1 code ("en", "es")."""
        return self.language.code if self.language is not None else ""

    def in_language(self, code: str | None) -> Content:
        """This content in another language, or the default's when the content has no such language."""
        default = next(iter(self.languages.values()), self)
        return self.languages.get(code or "", default)


@dataclass
class _Tree:
    """One language folder as read: its nodes, its data files, and the raw YAML for comparing."""

    nodes: dict[str, Node] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def load_content(directory: Path | str, features: Mapping[str, type[BaseModel]] | None = None) -> Content:
    """Read and validate a content directory and its language folders; raise ContentError listing
    every problem.

    `features`: the features' own data files and their schemas (wiring.py passes them), checked
    like the engine's in every language; their parsed models are in `Content.extra` by file name."""
    root = Path(directory)
    files = {**DATA_FILES, **(features or {})}
    if not root.is_dir():
        raise ContentError([f"{root}: no such content directory"])
    problems: list[str] = []
    folders = language_folders(root)
    unnamed = [p for p in root.iterdir() if p.is_dir() and CODE.match(p.name) and p not in folders]
    problems.extend(f"{_display(p, root)}: a language folder needs a {LANGUAGE_FILE}" for p in unnamed)
    default = _read_tree(root, root, [*folders, *unnamed], problems, files)
    trees = {root: default}
    for folder in folders:
        tree = _read_tree(folder, root, [], problems, files)
        tree.data.update({k: v for k, v in default.data.items() if k in NEUTRAL_FILES})
        missing = sorted(n for n in default.raw if n not in tree.raw and n not in NEUTRAL_FILES)
        problems.extend(compare(_display(folder, root), default.raw, tree.raw, missing))
        trees[folder] = tree
    languages: dict[str, Content] = {}
    for folder, tree in trees.items():
        content = _content(folder, root, tree, problems, languages, files)
        if content is not None and content.code in languages:
            problems.append(f"{_display(folder, root)}/{LANGUAGE_FILE}: code '{content.code}' is used twice")
        elif content is not None:
            languages[content.code] = content
    if problems:
        raise ContentError(problems)
    return languages[next(iter(languages))]


def _read_tree(
    folder: Path, root: Path, skip: list[Path], problems: list[str], files: Mapping[str, type[BaseModel]]
) -> _Tree:
    """Every YAML file under `folder` (but the language folders in `skip`), parsed and checked alone."""
    tree = _Tree()
    for path in sorted(folder.rglob("*.y*ml")):
        if any(path.is_relative_to(other) for other in skip):
            continue
        rel, name = _display(path, root), path.relative_to(folder).as_posix()
        raw, error = _read_yaml(path)
        if error:
            problems.append(f"{rel}: {error}")
            continue
        if folder != root and name in NEUTRAL_FILES:
            problems.append(f"{rel}: holds no words of a language; keep it in {root.name}/ only")
            continue
        tree.raw[name] = raw
        model = files.get(path.name) if path.parent == folder else None
        parsed = _parse(model or ContentFile, raw, rel, problems)
        if parsed is None:
            continue
        if model is not None:
            tree.data[path.name] = parsed
            continue
        for node in parsed.nodes:
            if node.id in tree.nodes:
                first = tree.where[node.id]
                problems.append(f"{rel}: node '{node.id}': duplicate id (first defined in {first})")
                continue
            tree.nodes[node.id] = node
            tree.where[node.id] = rel
    return tree


def _content(
    folder: Path, root: Path, tree: _Tree, problems: list[str], languages: dict[str, Content],
    files: Mapping[str, type[BaseModel]],
) -> Content | None:
    """One language's `Content`, after the checks that need all its files; None when it has gaps."""
    before = len(problems)
    nodes, where, data = tree.nodes, tree.where, tree.data
    at = _display(folder, root) if folder != root else root.name
    if folder == root:
        for name in files:
            known = name in data or name in OPTIONAL_DATA_FILES
            if not known and not _reported(problems, f"{at}/{name}"):
                problems.append(f"{at}/{name}: missing (the bot needs it)")
    info = data.get(LANGUAGE_FILE)
    if folder != root and info is not None and info.code != folder.name:
        problems.append(f"{at}/{LANGUAGE_FILE}: code '{info.code}' is not the folder's name '{folder.name}'")
    buttons = {nid: tuple(_buttons(node, nodes, where[nid], problems)) for nid, node in nodes.items()}
    problems.extend(_graph_problems(nodes, where, buttons, at))
    problems.extend(_text_problems(nodes, where))
    problems.extend(_faq_problems(nodes, data, at))
    needed = (name for name in files if name not in OPTIONAL_DATA_FILES)
    if len(problems) > before or any(name not in data for name in needed):
        return None
    return Content(
        nodes=nodes,
        messages=data["messages.yaml"],
        emergency=data["emergency-numbers.yaml"],
        triage=data["triage.yaml"],
        buttons=buttons,
        extra={k: v for k, v in data.items() if k not in _CORE_FILES},
        language=info,
        languages=languages,
    )


def check_content(directory: Path | str, features: Mapping[str, type[BaseModel]] | None = None) -> list[str]:
    """The problems of a content directory, as lines; empty when it is valid."""
    try:
        load_content(directory, features)
    except ContentError as error:
        return error.problems
    return []


def _display(path: Path, root: Path) -> str:
    return f"{root.name}/{path.relative_to(root).as_posix()}"


def _reported(problems: list[str], where: str) -> bool:
    """Already named (e.g. broken YAML) at this very path: not again as "missing"."""
    return any(p.startswith(f"{where}:") for p in problems)


#: libyaml's loader parses flows/ about three times faster than the pure-Python one; the same
#: safe subset of YAML (no Python objects). PyYAML's wheels ship it; a build without falls back.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> tuple[Any, str | None]:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER), None
    except UnicodeDecodeError:
        return None, "not UTF-8 text; save it as UTF-8"
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(error, "problem", None) or "invalid YAML"
        return None, f"YAML error{at}: {reason}"


def _parse(model: type[BaseModel], raw: Any, rel: str, problems: list[str]) -> Any:
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as error:
        for err in error.errors():
            problems.append(f"{rel}: {_where(raw, err['loc'])}{err['msg']}")
        return None


def _where(raw: Any, loc: tuple[Any, ...]) -> str:
    """Name the node a pydantic error points into, so an editor can find it."""
    if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
        try:
            node_id = raw["nodes"][loc[1]].get("id", f"#{loc[1] + 1}")
        except (TypeError, KeyError, IndexError, AttributeError):
            node_id = f"#{loc[1] + 1}"
        rest = ".".join(str(p) for p in loc[2:])
        return f"node '{node_id}': {rest + ': ' if rest else ''}"
    return f"{'.'.join(str(p) for p in loc)}: " if loc else ""


def _buttons(node: Node, nodes: dict[str, Node], rel: str, problems: list[str]) -> Iterator[Button]:
    for spec in node.buttons:
        if spec.goto is not None and spec.goto not in nodes:
            problems.append(f"{rel}: node '{node.id}': button goes to '{spec.goto}', which does not exist")
            continue
        label = spec.label or nodes[spec.goto].title  # type: ignore[index]
        if len(label) > LABEL_LIMIT:
            problems.append(
                f"{rel}: node '{node.id}': button label '{label}' has {len(label)} characters "
                f"(WhatsApp allows {LABEL_LIMIT})"
            )
        if len(spec.payload.encode()) > PAYLOAD_LIMIT:
            problems.append(
                f"{rel}: node '{node.id}': button payload '{spec.payload}' is over {PAYLOAD_LIMIT} bytes"
            )
        yield Button(label, spec.payload)


def _graph_problems(
    nodes: dict[str, Node], where: dict[str, str], buttons: dict[str, tuple[Button, ...]], at: str = "flows"
) -> Iterator[str]:
    if ROOT not in nodes:
        yield f"{at}: no node '{ROOT}' (the main menu every conversation starts from)"
        return
    seen = {ROOT}
    queue = deque([ROOT])
    while queue:
        for button in buttons.get(queue.popleft(), ()):
            if button.payload in nodes and button.payload not in seen:
                seen.add(button.payload)
                queue.append(button.payload)
    for nid in nodes:
        if nid not in seen:
            yield f"{where[nid]}: node '{nid}': unreachable from the menu (no button leads to it)"
    for topic in REQUIRED_TOPICS:
        if topic not in nodes:
            yield f"{at}: missing required topic id '{topic}'"
        elif nodes[topic].kind != "topic":
            yield f"{where[topic]}: node '{topic}': must be a topic, not a {nodes[topic].kind}"


def _faq_problems(nodes: dict[str, Node], data: dict[str, Any], at: str = "flows") -> Iterator[str]:
    """Topic ids named in faq.yaml and smalltalk.yaml must exist; an example belongs to one topic."""
    words, talk = data.get("faq.yaml"), data.get("smalltalk.yaml")
    named = [*words.general_topics, *words.first_topics] if words else []
    for topic in named:
        if topic not in nodes or nodes[topic].kind != "topic":
            yield f"{at}/faq.yaml: '{topic}' is not a topic id"
    for name, intent in (talk.intents.items() if talk else ()):
        if intent.node is not None and intent.node not in nodes:
            yield f"{at}/smalltalk.yaml: intent '{name}': node '{intent.node}' does not exist"
    owner: dict[str, str] = {}
    for nid, node in nodes.items():
        for example in node.examples:
            key = " ".join(example.lower().split())
            if owner.setdefault(key, nid) != nid:
                yield f"{at}: node '{nid}': example '{example}' is also an example of '{owner[key]}'"


def _text_problems(nodes: dict[str, Node], where: dict[str, str]) -> Iterator[str]:
    for nid, node in nodes.items():
        size, at = len(node.text), f"{where[nid]}: node '{nid}'"
        if size > CHANNEL_TEXT_LIMIT:
            yield f"{at}: text has {size} characters (WhatsApp allows {CHANNEL_TEXT_LIMIT})"
        elif size > TEXT_LIMIT:
            yield f"{at}: text has {size} characters (keep it under {TEXT_LIMIT})"
        if len(node.title) > LABEL_LIMIT:
            yield f"{where[nid]}: node '{nid}': title '{node.title}' is over {LABEL_LIMIT} characters"
        if node.kind == "topic" and not node.keywords:
            yield f"{where[nid]}: node '{nid}': a topic needs keywords so typed questions can find it"
