"""Load flows/ once, check every rule, and refuse to run half-loaded.

`load_content` either returns a complete `Content` or raises `ContentError` carrying
one line per problem ("flows/x.yaml: node 'y': ..."), the same lines that
`messenger-bot check-content` prints.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from messenger_bot.channels.shared.words import ChannelWords
from messenger_bot.content.schema import (
    CHANNEL_TEXT_LIMIT,
    LABEL_LIMIT,
    PAYLOAD_LIMIT,
    REQUIRED_TOPICS,
    ROOT,
    TEXT_LIMIT,
    ContentFile,
    EmergencyNumbers,
    Messages,
    Node,
)
from messenger_bot.diary.texts import DiaryTexts
from messenger_bot.faq.rules import FaqWords, SmallTalkRules
from messenger_bot.reminders.texts import ReminderTexts
from messenger_bot.triage import TriageRules

#: Files of flows/ that hold data of one shape rather than nodes.
DATA_FILES: dict[str, type[BaseModel]] = {
    "messages.yaml": Messages,
    "emergency-numbers.yaml": EmergencyNumbers,
    "triage.yaml": TriageRules,
    "reminders.yaml": ReminderTexts,
    "diary.yaml": DiaryTexts,
    "faq.yaml": FaqWords,
    "smalltalk.yaml": SmallTalkRules,
    "channels.yaml": ChannelWords,
}
#: The data files `Content` has a field for; every other one is in `Content.extra` by file name.
_CORE_FILES = frozenset({"messages.yaml", "emergency-numbers.yaml", "triage.yaml"})
OPTIONAL_DATA_FILES: frozenset[str] = frozenset()


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

    @property
    def topics(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "topic"]


def load_content(directory: Path | str) -> Content:
    """Read and validate a content directory; raise ContentError listing every problem."""
    root = Path(directory)
    problems: list[str] = []
    if not root.is_dir():
        raise ContentError([f"{root}: no such content directory"])
    nodes: dict[str, Node] = {}
    where: dict[str, str] = {}
    data: dict[str, Any] = {}
    for path in sorted(root.rglob("*.y*ml")):
        rel = _display(path, root)
        raw, error = _read_yaml(path)
        if error:
            problems.append(f"{rel}: {error}")
            continue
        model = DATA_FILES.get(path.name) if path.parent == root else None
        parsed = _parse(model or ContentFile, raw, rel, problems)
        if parsed is None:
            continue
        if model is not None:
            data[path.name] = parsed
            continue
        for node in parsed.nodes:
            if node.id in nodes:
                problems.append(f"{rel}: node '{node.id}': duplicate id (first defined in {where[node.id]})")
                continue
            nodes[node.id] = node
            where[node.id] = rel
    for name in DATA_FILES:
        if name not in data and name not in OPTIONAL_DATA_FILES and not _reported(problems, name):
            problems.append(f"{root.name}/{name}: missing (the bot needs it)")
    buttons = {nid: tuple(_buttons(node, nodes, where[nid], problems)) for nid, node in nodes.items()}
    problems.extend(_graph_problems(nodes, where, buttons))
    problems.extend(_text_problems(nodes, where))
    problems.extend(_faq_problems(nodes, data))
    if problems:
        raise ContentError(problems)
    return Content(
        nodes=nodes,
        messages=data["messages.yaml"],
        emergency=data["emergency-numbers.yaml"],
        triage=data["triage.yaml"],
        buttons=buttons,
        extra={k: v for k, v in data.items() if k not in _CORE_FILES},
    )


def check_content(directory: Path | str) -> list[str]:
    """The problems of a content directory, as lines; empty when it is valid."""
    try:
        load_content(directory)
    except ContentError as error:
        return error.problems
    return []


def _display(path: Path, root: Path) -> str:
    return f"{root.name}/{path.relative_to(root).as_posix()}"


def _reported(problems: list[str], name: str) -> bool:
    return any(f"/{name}:" in p for p in problems)


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
    nodes: dict[str, Node], where: dict[str, str], buttons: dict[str, tuple[Button, ...]]
) -> Iterator[str]:
    if ROOT not in nodes:
        yield f"flows: no node '{ROOT}' (the main menu every conversation starts from)"
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
            yield f"flows: missing required topic id '{topic}'"
        elif nodes[topic].kind != "topic":
            yield f"{where[topic]}: node '{topic}': must be a topic, not a {nodes[topic].kind}"


def _faq_problems(nodes: dict[str, Node], data: dict[str, Any]) -> Iterator[str]:
    """Topic ids named in faq.yaml and smalltalk.yaml must exist; an example belongs to one topic."""
    words, talk = data.get("faq.yaml"), data.get("smalltalk.yaml")
    named = [*words.general_topics, *words.first_topics] if words else []
    for topic in named:
        if topic not in nodes or nodes[topic].kind != "topic":
            yield f"flows/faq.yaml: '{topic}' is not a topic id"
    for name, intent in (talk.intents.items() if talk else ()):
        if intent.node is not None and intent.node not in nodes:
            yield f"flows/smalltalk.yaml: intent '{name}': node '{intent.node}' does not exist"
    owner: dict[str, str] = {}
    for nid, node in nodes.items():
        for example in node.examples:
            key = " ".join(example.lower().split())
            if owner.setdefault(key, nid) != nid:
                yield f"flows: node '{nid}': example '{example}' is also an example of '{owner[key]}'"


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
