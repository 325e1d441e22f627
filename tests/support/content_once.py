"""Content parsed once per test process for each set of files, however many apps a test starts.

Every in-process app (`create_app`'s lifespan), every `evaluate` and every `load_content` call
reads and validates the YAML under `flows/` again: about a second of CPU each, most of it compiling
the triage phrases, and the suite starts dozens of such apps. `Content` is a frozen dataclass,
and the session's `content` fixture already shares one among all the engine tests, so a load is
reused whenever the files on disk are byte for byte the same: a test that edits a copy of the
content, or a reload after an edit, still gets the edited content. Broken content is never
remembered, so every refusal is a real load.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from messenger_bot import runtime, wiring
from messenger_bot.content import Content

Loader = Callable[..., Content]


def _digest(root: Path) -> str:
    """Every file's path and bytes under `root`: what a load would read."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode("utf-8", "surrogateescape") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def remembering(load: Loader) -> Loader:
    """`load` (messenger_bot.content.load_content), returning the earlier result for the same
    directory, the same feature files and the same bytes on disk."""
    loaded: dict[tuple[Any, ...], Content] = {}
    lock = threading.Lock()  # a reload loads off the event loop, in a thread

    def load_once(directory: Path | str, features: Mapping[str, Any] | None = None) -> Content:
        root = Path(directory).resolve()
        if not root.is_dir():
            return load(directory, features)  # the loader's own "no such directory"
        key = (root, tuple(sorted((features or {}).items(), key=lambda item: item[0])), _digest(root))
        with lock:
            if key in loaded:
                return loaded[key]
        content = load(directory, features)  # raises ContentError on broken content: not kept
        with lock:
            loaded[key] = content
        return content

    return load_once


@contextmanager
def content_loaded_once() -> Iterator[None]:
    """Patch the two places the bot loads content from (runtime and wiring) for the duration."""
    with pytest.MonkeyPatch.context() as patch:
        load_once = remembering(runtime.load_content)
        patch.setattr(runtime, "load_content", load_once)
        patch.setattr(wiring, "_load_content", load_once)
        yield
