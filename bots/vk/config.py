"""What the VK adapter needs from the settings, without importing them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


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
