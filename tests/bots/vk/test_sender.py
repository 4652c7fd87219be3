"""VkSender against the fake VK API: idempotent retries, long texts, error mapping."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bots.vk.api import build_api, close_api
from bots.vk.config import VkConfig
from bots.vk.sender import VkSender, random_id, to_steps
from handlers.delivery_ports import DeliveryRefused, DeliveryRetry
from handlers.model import Action, ActionKind, Attachment, AttachmentKind, Button, Reply
from handlers.platform_ports import FileData, FileUnavailable
from tests.bots.vk.fake_vk import GROUP_ID, FakeVk

USER = 100000001


@pytest.fixture
async def sender(fake: FakeVk) -> AsyncIterator[VkSender]:
    api = build_api(VkConfig(token="test-token", group_id=GROUP_ID,
                             api_url=f"{fake.url}/method", request_timeout_s=0.3))
    yield VkSender(api, {})
    await close_api(api)


async def test_retry_after_a_timeout_does_not_duplicate(fake: FakeVk,
                                                        sender: VkSender) -> None:
    fake.slow_sends, fake.slow_s = 1, 1.0
    with pytest.raises(DeliveryRetry):
        await sender.send(str(USER), Reply("Запись подтверждена"), "out-1")
    assert fake.texts() == ["Запись подтверждена"]  # VK got it; our client timed out
    await sender.send(str(USER), Reply("Запись подтверждена"), "out-1")
    assert fake.texts() == ["Запись подтверждена"]
    assert len(fake.method_calls("messages.send")) == 2
    await sender.send(str(USER), Reply("Запись подтверждена"), "out-2")
    assert len(fake.delivered) == 2


async def test_long_text_is_split_with_the_keyboard_on_the_last_part(
        fake: FakeVk, sender: VkSender) -> None:
    text = ("Абзац о льготах. " * 150 + "\n\n") * 4
    buttons = ((Button("Главное меню", Action(ActionKind.MENU)),),)
    external = await sender.send(str(USER), Reply(text, buttons), "out-7")
    parts = fake.delivered
    assert len(parts) == 4  # one paragraph of 2,550 characters each: cut between them
    assert parts[0]["message"] == text.split("\n\n")[0].strip()
    assert all(len(p["message"]) <= 4096 for p in parts)
    assert "".join(p["message"] for p in parts).replace("\n", "").replace(" ", "") == \
        text.replace("\n", "").replace(" ", "")
    assert ["keyboard" in p for p in parts] == [False, False, False, True]
    assert json.loads(parts[-1]["keyboard"])["buttons"][0][0]["action"]["label"] == \
        "Главное меню"
    assert len({p["random_id"] for p in parts}) == 4
    assert external == "4"


@pytest.mark.parametrize(("code", "error", "blocked"), [
    (901, DeliveryRefused, True),
    (900, DeliveryRefused, True),
    (902, DeliveryRefused, True),
    (100, DeliveryRefused, False),
    (7, DeliveryRefused, False),
    (5, DeliveryRetry, None),  # the community's setup: held and retried (test_misconfigured)
    (15, DeliveryRetry, None),
    (27, DeliveryRetry, None),
    (28, DeliveryRetry, None),
    (912, DeliveryRetry, None),
    (6, DeliveryRetry, None),
    (10, DeliveryRetry, None),
    (0, DeliveryRetry, None),  # an HTML error page instead of VK's JSON
])
async def test_vk_errors_map_to_delivery_outcomes(
        fake: FakeVk, sender: VkSender, code: int, error: type[Exception],
        blocked: bool | None) -> None:
    fake.refuse[USER] = code
    with pytest.raises(error) as caught:
        await sender.send(str(USER), Reply("текст"), "out-1")
    if isinstance(caught.value, DeliveryRefused):
        assert caught.value.client_blocked is blocked
    if code == 6:
        assert isinstance(caught.value, DeliveryRetry) and caught.value.retry_after == 1.0


async def test_network_failure_is_retried(sender: VkSender, fake: FakeVk) -> None:
    api = build_api(VkConfig(token="test-token", group_id=GROUP_ID,
                             api_url="http://127.0.0.1:9/method/"))
    try:
        with pytest.raises(DeliveryRetry):
            await VkSender(api, {}).send(str(USER), Reply("текст"), "out-1")
    finally:
        await close_api(api)


async def test_address_that_is_not_a_peer_is_refused(sender: VkSender, fake: FakeVk) -> None:
    with pytest.raises(DeliveryRefused):
        await sender.send("erased:5", Reply("текст"), "out-1")
    assert fake.calls == []


def test_random_id_is_stable_31_bit_and_distinct() -> None:
    ids = {random_id(f"out-{n}", part) for n in range(500) for part in range(3)}
    assert len(ids) == 1500
    assert all(0 < i < 2**31 for i in ids)
    assert random_id("out-1", 0) == random_id("out-1", 0)


class FakeFiles:
    """A FileSource with a file that can be made to fail."""

    def __init__(self) -> None:
        self.failure: FileUnavailable | None = None
        self.fetched = 0

    async def fetch(self, attachment: Attachment) -> FileData:
        self.fetched += 1
        if self.failure is not None:
            raise self.failure
        return FileData(b"%PDF-1.4 form " + attachment.ref.encode(), attachment.name,
                        "application/pdf")


FORM = Attachment(AttachmentKind.DOCUMENT, "DOC1", "заявление.pdf", "telegram")


async def test_a_file_from_telegram_is_uploaded_and_sent_once(fake: FakeVk) -> None:
    files = FakeFiles()
    api = build_api(VkConfig(token="test-token", group_id=GROUP_ID,
                             api_url=f"{fake.url}/method"))
    try:
        sender = VkSender(api, {"telegram": files})
        reply = Reply("Бланк заявления", attachments=(FORM,))
        await sender.send(str(USER), reply, "out-3")
        await sender.send(str(USER), reply, "out-3")  # a retried delivery: no duplicates
    finally:
        await close_api(api)
    assert fake.uploads[0] == ("заявление.pdf", b"%PDF-1.4 form DOC1")
    [upload_server, *_] = fake.method_calls("docs.getMessagesUploadServer")
    assert upload_server.params["peer_id"] == str(USER)
    assert upload_server.params["type"] == "doc"
    assert {c.params["title"] for c in fake.method_calls("docs.save")} == {"заявление.pdf"}
    # One message, the caption with its file (it used to come as two).
    assert [(d["message"], d.get("attachment")) for d in fake.delivered] == [
        ("Бланк заявления", f"doc-{GROUP_ID}_1")]


def test_files_go_with_the_last_part_of_the_text_ten_a_message() -> None:
    files = [f"doc1_{n}" for n in range(12)]
    assert to_steps(["часть 1", "часть 2"], files[:2]) == [
        ("часть 1", ""), ("часть 2", "doc1_0,doc1_1")]
    assert to_steps([""], files) == [("", ",".join(files[:10])), ("", "doc1_10,doc1_11")]
    assert to_steps(["текст"], []) == [("текст", "")]


@pytest.mark.parametrize(("permanent", "error"), [(True, DeliveryRefused),
                                                  (False, DeliveryRetry)])
async def test_a_file_that_cannot_be_fetched(fake: FakeVk, sender: VkSender,
                                             permanent: bool, error: type[Exception]) -> None:
    files = FakeFiles()
    files.failure = FileUnavailable("invalid file_id", permanent=permanent)
    api = build_api(VkConfig(token="test-token", group_id=GROUP_ID,
                             api_url=f"{fake.url}/method"))
    try:
        with pytest.raises(error):
            await VkSender(api, {"telegram": files}).send(
                str(USER), Reply("", attachments=(FORM,)), "out-4")
        with pytest.raises(DeliveryRefused):  # its channel is not enabled here
            await VkSender(api, {}).send(str(USER), Reply("", attachments=(FORM,)), "out-5")
    finally:
        await close_api(api)
    assert files.fetched == 1
    assert fake.delivered == []
