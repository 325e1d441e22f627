"""Red-flag triage (STUB: being replaced)."""

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict


class TriageRules(BaseModel):
    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class Finding:
    signs: tuple[str, ...]


class Triage:
    def __init__(self, rules: TriageRules) -> None:
        self.rules = rules

    def check(self, text: str) -> Finding | None:
        return None
