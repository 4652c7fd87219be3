"""The 56 real-world updates of tests/fixtures/telegram through the webhook endpoint."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from priemnaya.runtime import Runtime
from storage.models import Client, InboundEvent, Message
from tests.bots.telegram.harness import Harness, wait_for

Service = tuple[Harness, Runtime]
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "telegram"

# What counts as a client message (see README "Telegram"): a message, edited message or
# business message in a private chat, not from a bot, and a button press under a bot message
# in a private chat. Everything else (groups, channels, reactions, service updates) is kept
# raw in inbound_events only.
CLIENT_MESSAGES = {
    "business_message.json", "callback_query_inline_button.json",
    "command_start_deeplink.json", "contact_other_person_vcard.json",
    "contact_own_phone.json", "document_pdf.json", "edited_message.json",
    "emoji_and_rtl.json", "empty_message_no_content.json", "entities_bold_url_command.json",
    "external_reply_with_quote.json", "forward_origin_channel.json",
    "forward_origin_hidden_user.json", "forward_origin_user.json",
    "legacy_2018_voice_without_file_unique_id.json", "location.json",
    "long_text_cyrillic_4000.json", "media_group_photo_1of2.json",
    "media_group_photo_2of2.json", "photo_with_caption.json", "private_text.json",
    "reply_to_bot_message.json", "sticker.json", "user_without_username_and_last_name.json",
    "venue.json", "video_note.json", "voice.json",
}
REJECTED_BY_AIOGRAM = {"left_chat_member_escaped_unicode.json",
                       "legacy_2018_voice_without_file_unique_id.json",
                       "poll_update_legacy_shape.json"}


def fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


async def test_every_fixture_is_handled_and_client_messages_stored(service: Service) -> None:
    h, rt = service
    files = fixtures()
    assert len(files) == 56
    for path in files:
        assert await h.post(path.read_text(encoding="utf-8")) == 200, path.name
    async with rt.sessions() as s:
        events = (await s.scalars(select(InboundEvent))).all()
        stored = (await s.scalars(select(Message).where(Message.author == "client"))).all()
    assert len(events) == 56
    assert not [e for e in events if e.status == "failed"]
    expected = {_key_of(FIXTURES / name) for name in CLIENT_MESSAGES}
    assert {m.dedupe_key for m in stored} == expected
    assert len(stored) == len(CLIENT_MESSAGES)


async def test_messages_aiogram_rejects_are_still_stored(service: Service) -> None:
    h, rt = service
    for name in sorted(REJECTED_BY_AIOGRAM):
        assert await h.post((FIXTURES / name).read_text(encoding="utf-8")) == 200
    async with rt.sessions() as s:
        voice = await s.scalar(select(Message).where(Message.author == "client"))
        events = (await s.scalars(select(InboundEvent).order_by(InboundEvent.id))).all()
    assert voice is not None
    assert voice.attachments[0]["kind"] == "voice"
    assert voice.attachments[0]["ref"]
    # The client's message never meets aiogram's models (read from the raw JSON); the two
    # that are no client's are refused by aiogram and kept with its reason.
    assert [(e.status, "aiogram rejected" in e.error) for e in events] == [
        ("skipped", True), ("processed", False), ("skipped", True)]
    await wait_for(lambda: h.api.sent(chat_id=100000010))  # and the client gets an answer


async def test_attachments_and_names_are_extracted(service: Service) -> None:
    h, rt = service
    for name in ("photo_with_caption.json", "document_pdf.json", "venue.json",
                 "contact_own_phone.json", "video_note.json"):
        await h.post((FIXTURES / name).read_text(encoding="utf-8"))
    async with rt.sessions() as s:
        stored = (await s.scalars(select(Message).where(Message.author == "client")
                                  .order_by(Message.id))).all()
        client = await s.scalar(select(Client))
    kinds = [[a["kind"] for a in m.attachments] for m in stored]
    assert kinds == [["photo"], ["document"], ["location"], ["contact"], ["video"]]
    assert stored[1].attachments[0]["name"].endswith(".pdf")
    assert stored[0].text  # the caption is the message's text
    assert client is not None and client.display_name


async def test_bot_never_writes_to_groups_or_channels(service: Service) -> None:
    h, _rt = service
    for path in fixtures():
        await h.post(path.read_text(encoding="utf-8"))
    await wait_for(lambda: len(h.api.sent()) >= 20)
    assert all(int(p["chat_id"]) > 0 for p in h.api.sent())


async def test_redelivered_fixtures_are_ignored(service: Service) -> None:
    h, rt = service
    body = (FIXTURES / "private_text.json").read_text(encoding="utf-8")
    for _ in range(3):
        assert await h.post(body) == 200
    await wait_for(lambda: h.api.sent(chat_id=100000001))
    async with rt.sessions() as s:
        assert len((await s.scalars(select(Message).where(Message.author == "client"))).all()) == 1
    assert len(h.api.sent(chat_id=100000001)) == 1


async def test_malformed_bodies_are_kept_and_answered_200(service: Service) -> None:
    h, rt = service
    for body in ("{not json", "[1, 2]", '{"update_id": "x"}', "", '{"update_id": 1}'):
        assert await h.post(body) == 200
    async with rt.sessions() as s:
        events = (await s.scalars(select(InboundEvent))).all()
    assert len(events) == 5
    assert {e.status for e in events} == {"skipped"}


def _key_of(path: Path) -> str:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if "callback_query" in raw:
        return f"telegram:cb:{raw['callback_query']['id']}"
    kind = next(k for k in raw if k != "update_id")
    msg = raw[kind]
    address = str(msg["chat"]["id"])
    if msg.get("business_connection_id"):
        address += "@" + msg["business_connection_id"]
    key = f"telegram:{address}:{msg['message_id']}"
    return key + (f":e{msg['edit_date']}" if kind.startswith("edited_") else "")


async def test_blocking_and_unblocking_the_bot_is_remembered(service: Service) -> None:
    h, rt = service
    await h.post((FIXTURES / "business_message.json").read_text(encoding="utf-8"))
    await h.post(h.private("Как оформить единое пособие?", user=100000004))
    await h.post((FIXTURES / "my_chat_member_user_blocked_bot.json").read_text(encoding="utf-8"))
    async with rt.sessions() as s:
        blocked = (await s.scalars(select(Client.blocked_at)
                                   .where(Client.user_id == "100000004"))).all()
    assert [b is not None for b in blocked] == [True]
    await h.post((FIXTURES / "my_chat_member_user_unblocked_bot.json")
                 .read_text(encoding="utf-8"))
    async with rt.sessions() as s:
        blocked = (await s.scalars(select(Client.blocked_at)
                                   .where(Client.user_id == "100000004"))).all()
    assert blocked == [None]


async def test_an_album_is_answered_once_and_every_photo_stored(service: Service) -> None:
    h, rt = service
    for name in ("media_group_photo_1of2.json", "media_group_photo_2of2.json"):
        assert await h.post((FIXTURES / name).read_text(encoding="utf-8")) == 200
    assert h.settle is not None
    await h.settle()
    await wait_for(lambda: h.api.sent(chat_id=100000001))
    async with rt.sessions() as s:
        stored = (await s.scalars(select(Message).where(Message.author == "client")
                                  .order_by(Message.id))).all()
        replies = (await s.scalars(select(Message).where(Message.author == "bot"))).all()
    assert [len(m.attachments) for m in stored] == [1, 1]  # both photos kept
    assert len(replies) == 1  # one reply for the album, not one per photo
    assert len(h.api.sent(chat_id=100000001)) == 1
