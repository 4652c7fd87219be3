"""Delivery to the web chat: the browser fetches stored messages, so sending is a no-op."""

from __future__ import annotations

from handlers.model import Reply


class WebChatSender:
    async def send(self, address: str, reply: Reply, key: str) -> str:
        return key
