"""Where a conversation lives in the specialists' group: a forum topic or a tagged thread."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Without forum topics every bot message carries this tag; replies to it are routed back.
TAG = "#c{}"
TAG_PATTERN = re.compile(r"#c(\d{1,18})\b")
_THREAD = re.compile(r"^tg:(-?\d{1,20}):(\d{1,20})$")

THREAD_NOT_FOUND = ("message thread not found", "topic_deleted", "topic_closed",
                    "thread not found")
# Also a group where the bot may not manage topics: tagged messages still reach specialists.
NOT_A_FORUM = ("not a forum", "chat_not_forum", "topics are disabled", "not enough rights")


@dataclass(frozen=True, slots=True)
class Thread:
    """A stored staff thread; topic 0 means a plain group without topics."""

    chat_id: int
    topic_id: int

    def __str__(self) -> str:
        return f"tg:{self.chat_id}:{self.topic_id}"

    @property
    def message_thread_id(self) -> int | None:
        return self.topic_id or None

    @classmethod
    def parse(cls, value: str) -> Thread | None:
        found = _THREAD.match(value)
        return cls(int(found[1]), int(found[2])) if found else None


def tag_of(text: str) -> int | None:
    found = TAG_PATTERN.search(text)
    return int(found[1]) if found else None


def means(error: str, phrases: tuple[str, ...]) -> bool:
    low = error.lower()
    return any(p in low for p in phrases)
