"""Drive `messenger-bot chat --json` as a subprocess, one line in and one line out."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


class ChatProcess:
    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "messenger_bot", "chat", "--json", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            encoding="utf-8",
        )

    def send(self, line: str | dict[str, Any]) -> dict[str, Any]:
        """Send a typed line (str) or a JSON object; return the parsed output line."""
        assert self.proc.stdin and self.proc.stdout
        raw = line if isinstance(line, str) else json.dumps(line)
        self.proc.stdin.write(raw.replace("\n", " ") + "\n")
        self.proc.stdin.flush()
        out = self.proc.stdout.readline()
        if not out:
            raise AssertionError(f"chat exited: {self.proc.stderr.read() if self.proc.stderr else ''}")
        return json.loads(out)

    def close(self) -> int:
        assert self.proc.stdin
        self.proc.stdin.close()
        return self.proc.wait(timeout=30)

    def __enter__(self) -> ChatProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.close()
