"""What the VK adapter needs from the settings, without importing them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal


@dataclass(frozen=True, slots=True)
class CatchUpConfig:
    """Bounds of the catch-up after a Long Poll gap (bots/vk/catchup.py)."""

    conversations: int = 200  # unread conversations looked at; 0 switches the catch-up off
    messages: int = 20  # the newest messages read from each of them (VK gives 200 at most)
    answer_within: timedelta = timedelta(days=3)  # older: no FAQ answer (bots/vk/catchup.py)


@dataclass(frozen=True, slots=True)
class VkConfig:
    token: str
    group_id: int
    mode: Literal["longpoll", "callback"] = "longpoll"
    callback_path: str = "/vk/callback"
    confirmation: str = ""
    secret: str = ""
    api_url: str = "https://api.vk.ru/method/"
    wait_s: int = 25  # VK's long-poll wait; it answers at the latest after this
    request_timeout_s: float = 20.0
    catch_up: CatchUpConfig = field(default_factory=CatchUpConfig)
