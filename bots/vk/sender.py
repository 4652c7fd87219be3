"""Delivery of replies to VK clients; a retried delivery never shows up twice."""

from __future__ import annotations

import hashlib
from typing import Any

from vkbottle import API, DocMessagesUploader

from bots.files import FileSources, fetch_for_delivery
from bots.text import split_text
from bots.vk.api import Outage, VkMisconfigured, to_delivery_error
from bots.vk.keyboard import to_keyboard
from handlers.delivery_ports import DeliveryRefused
from handlers.model import Attachment, Channel, Reply

MAX_TEXT = 4096  # characters per message (messages.send)
MAX_ATTACHMENTS = 10  # per message (messages.send)


def random_id(key: str, part: int) -> int:
    """VK drops a send whose random_id it has already seen from us for this peer: derive it
    from the outbox delivery key, stable across retries, so a retry cannot duplicate."""
    digest = hashlib.sha256(f"{key}#{part}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF or 1


def to_steps(parts: list[str], files: list[str]) -> list[tuple[str, str]]:
    """The messages.send calls of a reply: (text, attachments). The files go with the text's
    last part, as their caption; more than VK takes in one message follow on their own."""
    steps = [(part, "") for part in parts]
    batches = [",".join(files[n:n + MAX_ATTACHMENTS]) for n in range(0, len(files),
                                                                      MAX_ATTACHMENTS)]
    if batches:
        steps[-1] = (steps[-1][0], batches[0])
        steps.extend(("", batch) for batch in batches[1:])
    return steps


class VkSender:
    def __init__(self, api: API, files: FileSources) -> None:
        self._api = api
        self._files = files
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
        # An app without keyboards is told what to type instead of what to press; the core
        # queued the reply for the app the client's latest message named (Reply.app).
        text = reply.text if reply.app.keyboard else reply.typed_text or reply.text
        keyboard = to_keyboard(reply.buttons, reply.app)
        # Plain text: VK renders no Markdown or HTML; the templates write links out in full.
        parts = split_text(text, MAX_TEXT)
        try:
            found = [await self._upload(int(address), a) for a in reply.attachments]
        except DeliveryRefused:
            # A file that will never come: the text still goes, and the failure is reported.
            # A failure for now sends nothing yet, lest the retry's text be dropped as sent.
            if text:
                await self._send_steps(int(address), to_steps(parts, []), key, keyboard)
            raise
        return await self._send_steps(int(address), to_steps(parts, found), key, keyboard)

    async def _send_steps(self, peer_id: int, steps: list[tuple[str, str]], key: str,
                          keyboard: str | None) -> str:
        sent = ""
        # A retried delivery re-sends every step with the same random_id, and VK drops the
        # ones it already has; the keyboard goes under the text's last part.
        last_text = sum(1 for text, _ in steps if text) - 1
        for number, (text, attachment) in enumerate(steps):
            sent = await self._send_one(peer_id, text, random_id(key, number),
                                        keyboard if number == max(last_text, 0) else None,
                                        attachment)
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
