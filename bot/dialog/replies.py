"""What the bot says, independent of where it is shown: text plus optional buttons.

Telegram renders buttons as an inline keyboard; the terminal chat as numbered choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.advisor.models import Answer

# Telegram limits callback data to 64 bytes; every button's data is built to fit.
MAX_BUTTON_DATA = 64


@dataclass(frozen=True)
class Button:
    label: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode("utf-8")) > MAX_BUTTON_DATA:
            raise ValueError(f"button data too long: {self.data!r}")


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    answer: Answer | None = None  # an advisor answer, rendered with its sources by each front end
    image: bytes | None = None  # a PNG shown after the text (roadmap, comparison, progress card)
    image_name: str = "chart.png"
    document: bytes | None = None  # a file sent after the text and any picture (the /export data)
    document_name: str = "document"

    @property
    def choices(self) -> list[Button]:
        return [b for row in self.buttons for b in row]


@dataclass(frozen=True)
class UserRef:
    """Who is talking, and in which chat."""

    user_id: int
    chat_id: int
    language_code: str | None = None  # what the client says the person's language is (Telegram's language_code)

    @property
    def conversation_key(self) -> tuple[int, int]:
        # per chat and user: in a group, each member answers their own questionnaire
        return (self.chat_id, self.user_id)
