"""Delivery of replies to VK clients; a retried delivery never shows up twice."""

from __future__ import annotations

import hashlib
from typing import Any

from vkbottle import API, DocMessagesUploader

from bots.files import FileSources, fetch_for_delivery
from bots.text import split_text
from bots.vk.api import Outage, VkMisconfigured, to_delivery_error
from bots.vk.keyboard import ClientSupport, to_keyboard
from handlers.model import Attachment, Channel, Reply
from handlers.ports import DeliveryRefused

MAX_TEXT = 4096  # characters per message (messages.send)


def random_id(key: str, part: int) -> int:
    """VK drops a send whose random_id it has already seen from us for this peer: derive it
    from the outbox delivery key, stable across retries, so a retry cannot duplicate."""
    digest = hashlib.sha256(f"{key}#{part}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF or 1


class VkSender:
    def __init__(self, api: API, files: FileSources,
                 support: ClientSupport | None = None) -> None:
        self._api = api
        self._files = files
        self._support = support or ClientSupport()  # what each client's VK app shows
        self.outage = Outage()  # a revoked token or the like: one ERROR line per outage

    async def send(self, address: str, reply: Reply, key: str) -> str:
        try:
            sent = await self._send(address, reply, key)
        except VkMisconfigured as exc:
            self.outage.refused(exc)
            raise
        self.outage.accepted()
        return sent

    async def _send(self, address: str, reply: Reply, key: str) -> str:
        if not address.lstrip("-").isdigit():
            raise DeliveryRefused(f"not a VK peer id: {address[:40]!r}")
        # Plain text: VK renders no Markdown or HTML; the templates write links out in full.
        support = self._support.of(address)
        # An app without keyboards is told what to type instead of what to press.
        text = reply.text if support.keyboard else reply.typed_text or reply.text
        parts = split_text(text, MAX_TEXT) if text or not reply.attachments else []
        keyboard = to_keyboard(reply.buttons, support)
        sent = ""
        for number, text in enumerate(parts):
            last = number == len(parts) - 1
            sent = await self._send_one(int(address), text, random_id(key, number),
                                        keyboard if last else None)
        # Each file is a message of its own, after the text: a retried delivery re-sends
        # every step with the same random_id, and VK drops the ones it already has.
        for number, attachment in enumerate(reply.attachments, start=len(parts)):
            found = await self._upload(int(address), attachment)
            sent = await self._send_one(int(address), "", random_id(key, number), None, found)
        return sent

    async def _upload(self, peer_id: int, attachment: Attachment) -> str:
        if attachment.source in ("", Channel.VK):
            return attachment.ref  # already a VK attachment string
        data = await fetch_for_delivery(self._files, attachment)
        try:
            # As a document whatever its kind: one upload path, and VK previews images.
            return await DocMessagesUploader(self._api).upload(
                data.content, peer_id=peer_id, type="doc", title=data.name)
        except Exception as exc:
            raise to_delivery_error(exc) from exc

    async def _send_one(self, peer_id: int, text: str, rid: int, keyboard: str | None,
                        attachment: str = "") -> str:
        params: dict[str, Any] = {"peer_id": peer_id, "random_id": rid, "message": text}
        if keyboard:
            params["keyboard"] = keyboard
        if attachment:
            params["attachment"] = attachment
        try:
            message_id = await self._api.messages.send(**params)
        except Exception as exc:
            raise to_delivery_error(exc) from exc
        return str(message_id)
