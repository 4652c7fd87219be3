"""Value objects that cross the boundary between channel adapters and the core."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum


class Channel(StrEnum):
    WEB = "web"
    TELEGRAM = "telegram"
    VK = "vk"


class State(StrEnum):
    BOT = "bot"
    WAITING = "waiting_specialist"
    WITH_SPECIALIST = "with_specialist"
    CLOSED = "closed"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Author(StrEnum):
    CLIENT = "client"
    BOT = "bot"
    SPECIALIST = "specialist"
    SYSTEM = "system"


class ActionKind(StrEnum):
    """What a button (or a recognised command) asks the core to do."""

    START = "start"
    MENU = "menu"
    CATEGORY = "category"
    ENTRY = "entry"
    SPECIALIST = "specialist"
    CONSENT = "consent"
    CLOSE = "close"
    RATE = "rate"
    FORGET = "forget"
    FORGET_CONFIRM = "forget_confirm"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    value: str = ""

    def to_payload(self) -> str:
        """Compact text form, short enough for Telegram's 64-byte callback data."""
        return f"{self.kind}:{self.value}" if self.value else str(self.kind)

    @classmethod
    def parse(cls, payload: str) -> Action | None:
        kind, _, value = payload.partition(":")
        try:
            return cls(ActionKind(kind), value[:200])
        except ValueError:
            return None


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    VOICE = "voice"
    VIDEO = "video"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: AttachmentKind
    ref: str  # file_id (Telegram), URL (VK) or other channel-side reference
    name: str = ""
    # The channel whose API can fetch `ref`; "" is the channel of the message that carries it.
    # A specialist's file sent from Telegram to a VK client has source "telegram".
    source: str = ""

    @property
    def is_file(self) -> bool:
        """Locations and contacts are references, not files that could be passed on."""
        return self.kind not in (AttachmentKind.LOCATION, AttachmentKind.CONTACT)


@dataclass(frozen=True, slots=True)
class ClientApp:
    """What a client's app shows of a reply's buttons (VK's client_info; others show all)."""

    keyboard: bool = True  # any buttons at all
    inline: bool = True  # buttons inside a message
    callback: bool = True  # buttons that report a press (else they send their label as text)


ALL_BUTTONS = ClientApp()


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """One client event, already translated from the channel's native shape."""

    channel: Channel
    user_id: str
    event_id: str
    text: str = ""
    display_name: str = ""
    action: Action | None = None
    attachments: tuple[Attachment, ...] = ()
    channel_message_id: str = ""
    # When the client sent it, by the platform's clock; None when the channel does not say.
    # Information only (the VK catch-up's "too old to answer"): storage, metrics and retention
    # date a message by when the service received it, since a platform's date can be anything
    # (a year-old reply, 1970).
    sent_at: datetime | None = None
    # The album it belongs to (Telegram's media_group_id): several photos sent at once arrive
    # as messages of their own, and only the first of them is answered.
    album: str = ""
    # What the client's app shows, when the message says (VK's client_info); None: as last
    # stored for the client. Without buttons each reply is stored and sent as its typed_text,
    # so that the desk shows what the client read.
    app: ClientApp | None = None


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action: Action


@dataclass(frozen=True, slots=True)
class Reply:
    """A message for the client; channels render buttons within their own limits."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    faq_entry_id: str = ""
    links: tuple[tuple[str, str], ...] = field(default=())
    attachments: tuple[Attachment, ...] = ()
    # The text for a client whose app shows no buttons (VK's client_info), where it differs:
    # "напишите «согласна»" instead of "нажмите «Согласен(на)»". "" when the same.
    typed_text: str = ""
    # The recipient's app, as known when the reply was queued for them (ClientRef.app).
    app: ClientApp = ALL_BUTTONS

    def as_typed(self) -> Reply:
        """The reply as an app without buttons gets it: its typed text is the text."""
        if not self.typed_text:
            return self
        return replace(self, text=self.typed_text, typed_text="")

    def for_app(self, app: ClientApp) -> Reply:
        """The reply as this app is to get it: in words without buttons, and said so."""
        reply = self if app.keyboard else self.as_typed()
        return reply if reply.app == app else replace(reply, app=app)


@dataclass(frozen=True, slots=True)
class ClientRef:
    id: int
    channel: Channel
    user_id: str
    display_name: str
    consent_at: datetime | None
    app: ClientApp = ALL_BUTTONS  # as their latest message that said it told
    # Refused consent and has not agreed since: their words are kept masked (handlers.pii).
    declined: bool = False


@dataclass(frozen=True, slots=True)
class LastAnswer:
    """The knowledge-base entry the bot's latest message in a conversation answered, and when:
    a short «а сколько это стоит?» right after it is read as about that entry."""

    entry_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ConversationRef:
    id: int
    client_id: int
    channel: Channel
    state: State
    category: str
    queue: str
    assigned_to: int | None = None
    urgent: bool = False
    # The client asked for a specialist and was asked to agree to the processing first.
    awaiting_consent: bool = False
    # Set when the conversation's latest message (before the one being handled) is a bot
    # answer from the knowledge base; read with the conversation, on the hot path only.
    last_answer: LastAnswer | None = None
    # A specialist has replied to the client in it: kept when it goes back to a queue (a
    # release, a transfer, the specialist's account disabled), whoever holds it now.
    answered: bool = False


@dataclass(frozen=True, slots=True)
class Recorded:
    """The stored incoming message together with who sent it and where it belongs."""

    message_id: int
    client: ClientRef
    conversation: ConversationRef
