"""Test languages: the default language's files copied into flows/<code>/ of a temp content dir,
with a few sentences and words rewritten, so a test can tell which language answered."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from messenger_bot.content.languages import language_folders, start_language

FLOWS = Path(__file__).resolve().parents[2] / "flows"


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def node(data: Any, node_id: str) -> dict[str, Any]:
    return next(n for n in data["nodes"] if n["id"] == node_id)


def set_menu_text(folder: Path, text: str) -> None:
    edit_yaml(folder / "menu.yaml", lambda d: node(d, "menu").update(text=text))


def content_dir(tmp_path: Path) -> Path:
    """A copy of flows/ in the default language alone, to add test languages to."""
    target = tmp_path / "flows"
    shipped = {folder.name for folder in language_folders(FLOWS)}
    shutil.copytree(FLOWS, target, ignore=lambda at, names: shipped if Path(at) == FLOWS else set())
    return target


def add_spanish(root: Path) -> Path:
    """A test Spanish: its own name and offer, a Spanish menu text and caffeine answer, Spanish
    greetings, a Spanish warning sign and a Spanish alert, so every answer shows its language, and
    a word ending of its own ("cafecito" folds to "cafe")."""
    folder = start_language(root, "es")
    edit_yaml(folder / "language.yaml", lambda d: d.update(
        name="Español", names=["espanol", "spanish", "castellano"],
        switch_offer="¿Quieres que sigamos en español?", button="Español"))
    set_menu_text(folder, "¿Qué quieres saber sobre el temblor del labio?")

    def caffeine(d: Any) -> None:
        node(d, "caffeine").update(
            text="La cafeína es un estimulante: está en el café, el té y las bebidas energéticas.",
            keywords=["cafe", "cafeina", "cafes"])
    edit_yaml(folder / "topics" / "common-causes.yaml", caffeine)

    def greeting(d: Any) -> None:
        d["intents"]["greeting"].update(phrasings=["hola", "buenos dias", "buenas tardes"],
                                        text="¡Hola! Qué bueno que escribes.")
    edit_yaml(folder / "smalltalk.yaml", greeting)
    edit_yaml(folder / "faq.yaml", lambda d: d["endings"]["fold"].insert(0, {"ending": "cito", "keep": 3}))
    sign = "cara ~3 caida|torcida"
    edit_yaml(folder / "triage.yaml", lambda d: d["signs"]["face-droop"]["phrases"].append(sign))
    alert = "*Puede ser un ictus.* Llama al {number} ahora."
    edit_yaml(folder / "messages.yaml", lambda d: d["alert"].update(text=alert))
    return folder


def add_portuguese(root: Path) -> Path:
    """A test Portuguese: its own name and a Portuguese menu text."""
    folder = start_language(root, "pt")
    edit_yaml(folder / "language.yaml", lambda d: d.update(
        name="Português", names=["portugues", "portuguese", "brasileiro"],
        switch_offer="Quer continuar em português?", button="Português"))
    set_menu_text(folder, "O que você quer saber sobre o tremor no lábio?")
    return folder
