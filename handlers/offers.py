"""What a typed word or a pressed button means, read against the bot's last offer."""

from __future__ import annotations

from faq.model import SmallTalk
from faq.smalltalk import detect_smalltalk
from handlers.deps import Deps
from handlers.model import Action, ActionKind, Button, IncomingMessage
from handlers.person_request import says_lost
from handlers.question_reading import MAX_MATCH_CHARS
from handlers.replies import CONFIRMED, DECLINE, KEEP, OFFERED
from handlers.typed_answers import (
    NONE_OF_THESE,
    YES,
    agrees_to_hand_over,
    typed_choice,
    typed_rating,
)

# Offers a typed yes or no answers: the consent notice and the erasure's confirmation.
_AGREEMENTS = (ActionKind.CONSENT, ActionKind.FORGET_CONFIRM)
CLOSING_REMARKS = (SmallTalk.THANKS, SmallTalk.GOODBYE, SmallTalk.ACKNOWLEDGEMENT,
                   SmallTalk.CONGRATULATION)


class LastOffer:
    """Reads the buttons of the bot's latest message, before the new message is stored."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps

    async def unless_unasked(self, msg: IncomingMessage, action: Action | None) -> Action | None:
        """«Да, удалить» counts only as the answer to the question the bot asked last: a
        press of an old one, or a web chat's request forged without it, asks again."""
        if action is None or action.kind is not ActionKind.FORGET_CONFIRM:
            return action
        offered = await self._d.store.last_offer(msg.channel, msg.user_id)
        asked = any(b.action.kind is ActionKind.FORGET_CONFIRM for row in offered for b in row)
        return action if asked else Action(ActionKind.FORGET)

    async def if_lost(self, msg: IncomingMessage,
                             action: Action | None) -> tuple[tuple[Button, ...], ...] | None:
        """For «не понял», the buttons of the bot's reply it is about (read before the
        message is stored, while that reply is still the client's last message)."""
        if action is not None or not msg.text or not says_lost(msg.text[:MAX_MATCH_CHARS]):
            return None
        return await self._d.store.last_offer(msg.channel, msg.user_id)


    async def remark_while_rating(self, msg: IncomingMessage) -> SmallTalk | None:
        """Thanks, a goodbye or a blessing right after "rate us 1 to 5": the rating is still
        wanted, so the buttons come again (a later «4» is then read as the rating)."""
        kind = detect_smalltalk(msg.text[:200]) if msg.text and len(msg.text) <= 200 else None
        if kind not in CLOSING_REMARKS:
            return None
        offered = await self._d.store.last_offer(msg.channel, msg.user_id)
        rating = any(b.action.kind is ActionKind.RATE for row in offered for b in row)
        return kind if rating else None

    async def typed_option(self, msg: IncomingMessage) -> Action | None:
        """The button of the bot's last message that a typed number, yes or no stands for.

        Elderly clients often type "2" rather than press the second button, or "5" for a
        rating. Read only for such short messages, before the message is stored: a rating
        is stored with the conversation it rates.
        """
        choice = typed_choice(msg.text)
        rating = typed_rating(msg.text) if choice is None else None
        agrees = choice == YES or (rating is None and agrees_to_hand_over(msg.text))
        if choice is None and rating is None and not agrees:
            return None
        offered = [b.action for row in await self._d.store.last_offer(msg.channel, msg.user_id)
                   for b in row]
        hand_over = Action(ActionKind.SPECIALIST, OFFERED)
        if agrees and hand_over in offered:
            # «да, передайте» to «Могу передать его специалисту»: the unanswered question
            # before it stays the one the specialist is asked (not the «да»).
            return hand_over
        close = Action(ActionKind.CLOSE, CONFIRMED)
        if close in offered and choice in (YES, NONE_OF_THESE):
            # «да» / «нет» to «Точно отменить вопрос?».
            return close if choice == YES else Action(ActionKind.CLOSE, KEEP)
        ratings = [a for a in offered if a.kind is ActionKind.RATE]
        if ratings and rating is not None:
            return Action(ActionKind.RATE, str(rating))  # «5, спасибо вам большое, дочка»
        if choice is None:
            return None
        if ratings:
            # "7" or "0" after "rate us 1 to 5" is a rating out of range: asked again.
            return Action(ActionKind.RATE, str(choice)) if choice > 0 else None
        agree = next((a for a in offered if a.kind in _AGREEMENTS and a.value != DECLINE), None)
        if agree is not None and choice in (YES, NONE_OF_THESE):
            # "да" / "согласна" to the consent notice or to "erase everything?"; "нет" declines.
            if choice == YES:
                return agree
            return Action(ActionKind.CANCEL) if agree.kind is ActionKind.FORGET_CONFIRM \
                else Action(ActionKind.CONSENT, DECLINE)
        options = [a for a in offered if a.kind in (ActionKind.ENTRY, ActionKind.CATEGORY)]
        if choice == NONE_OF_THESE:
            # A clarifying question's own way out: its "none of these" hands over.
            entries = any(a.kind is ActionKind.ENTRY for a in options)
            return next((a for a in offered if a.kind is ActionKind.SPECIALIST and entries), None)
        if choice == YES:
            return options[0] if len(options) == 1 else None
        return options[choice - 1] if choice <= len(options) else None

    async def gone_entry_label(self, msg: IncomingMessage, action: Action | None) -> str | None:
        """The label of an entry's button whose id the knowledge base no longer has (renamed
        or removed since it was offered); "" when unknown; None for any other action.

        Read before the press is stored, while the offer is still the client's last message.
        """
        if action is None or action.kind is not ActionKind.ENTRY \
                or self._d.faq.kb.entry(action.value) is not None:
            return None
        offered = await self._d.store.last_offer(msg.channel, msg.user_id)
        label = next((b.label for row in offered for b in row if b.action == action), "")
        # A VK keyboard sends its button's label as the text.
        return label or (msg.text.strip() if msg.action is not None else "")
