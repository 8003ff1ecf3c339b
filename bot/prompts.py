"""User-facing texts kept in prompts/, loaded once at start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@dataclass(frozen=True)
class Texts:
    welcome: str
    help: str

    @classmethod
    def load(cls, directory: Path = PROMPTS_DIR) -> Texts:
        def read(name: str) -> str:
            path = directory / name
            try:
                text = path.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                raise RuntimeError(f"missing text file {path}") from None
            if not text:
                raise RuntimeError(f"text file {path} is empty")
            return text

        return cls(welcome=read("welcome.txt"), help=read("help.txt"))
