"""Handing a conversation over to the specialists: asked for, in a crisis, after consent."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from faq.model import Decision
from handlers.crisis import CrisisHit
from handlers.deps import Deps
from handlers.event_ports import ConversationEvent, EventKind
from handlers.model import Channel, Recorded, Reply, State
from handlers.person_request import topic_of_request
from handlers.ports import Escalation
from handlers.question_reading import MAX_MATCH_CHARS
from handlers.queue_ports import Routing
from handlers.replies import DECLINE

log = logging.getLogger(__name__)


class HandOver:
    """Hands a conversation over to the specialists' queue its topic or a crisis picks."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps

    async def requested_topic(self, rec: Recorded, text: str, now: datetime) -> Recorded:
        """«Мне нужен специалист по инвалидности» goes to the queue of that topic: the words
        after the request are matched, and a sure topic files the conversation, also over the
        topic of a question asked before; without one the earlier question's topic stays."""
        topic = topic_of_request(text[:MAX_MATCH_CHARS])
        if not topic:
            return rec
        match = self._d.faq.match(topic)
        if match.decision not in (Decision.ANSWER, Decision.CLARIFY):
            return rec  # no topic: the default queue decides
        offered = match.candidates[:1] if match.decision is Decision.ANSWER \
            else match.candidates
        categories = [entry.category for c in offered
                      if (entry := self._d.faq.kb.entry(c.entry_id)) is not None]
        # A clarification's first option files it when most options share its topic.
        if not categories or categories.count(categories[0]) * 2 <= len(categories):
            return rec
        category = categories[0]
        found = self._d.faq.kb.category(category)
        if found is not None and found.queue == self._d.router.route("", True, now).queue:
            return rec  # urgency is the crisis rules' call, never a guess from a topic
        await self._d.store.annotate(rec.message_id, None, category)
        return dataclasses.replace(
            rec, conversation=dataclasses.replace(rec.conversation, category=category))

    async def ask_specialist(self, rec: Recorded, now: datetime) -> list[Reply]:
        if rec.client.consent_at is None:
            await self._d.store.await_consent(rec.conversation.id)
            return [self._d.replies.consent_notice(then_specialist=True)]
        return await self.escalate(rec, now, urgent=False, reason="client")

    async def escalate(
        self, rec: Recorded, now: datetime, urgent: bool, reason: str
    ) -> list[Reply]:
        conv = rec.conversation
        if conv.state in (State.WAITING, State.WITH_SPECIALIST) and not urgent:
            return [self.already_waiting(rec, now)]
        routing = await self._hand_over(rec, now, urgent, reason)
        # The web chat reaches the client nowhere else: they must know to come back to it.
        web = rec.conversation.channel is Channel.WEB
        return [self._d.replies.escalated(routing.expected_text, web)]

    def already_waiting(self, rec: Recorded, now: datetime) -> Reply:
        conv = rec.conversation
        if conv.state is State.WITH_SPECIALIST:
            return self._d.replies.already_with_specialist()
        if conv.assigned_to is not None:
            return self._d.replies.already_with_specialist(self.taken_when(rec, now))
        # Nobody has taken it yet: out of hours nobody will until the queue opens, so the
        # client is told when, as at the hand-over itself.
        routing = self._d.router.route(conv.queue, conv.urgent, now)
        return self._d.replies.already_waiting(routing.expected_text)

    def taken_when(self, rec: Recorded, now: datetime) -> str:
        """When the specialist who took it will write: said out of hours only; in hours a
        deadline recomputed now would move on from the one given at the hand-over."""
        routing = self._d.router.route(rec.conversation.queue, rec.conversation.urgent, now)
        return "" if routing.in_hours else routing.expected_text

    async def _hand_over(
        self, rec: Recorded, now: datetime, urgent: bool, reason: str
    ) -> Routing:
        conv = rec.conversation
        category = self._d.faq.kb.category(conv.category)
        routing = self._d.router.route(category.queue if category else "", urgent, now)
        filed = conv.category or (self._urgent_category(routing.queue) if urgent else "")
        esc = Escalation(routing.queue, filed, urgent, routing.due_at, reason)
        if await self._d.store.escalate(conv.id, esc, now):
            kind = EventKind.CRISIS if urgent else EventKind.ESCALATED
            await self._d.notifier.publish(ConversationEvent(kind, conv.id, rec.message_id))
        return routing

    def _urgent_category(self, queue: str) -> str:
        """A crisis with no topic yet is filed under the one category of the urgent queue
        (the sample's «Срочная и кризисная помощь»), so that reports by topic count it."""
        found = [c.id for c in self._d.faq.kb.categories if c.queue == queue]
        return found[0] if len(found) == 1 else ""

    async def on_crisis(self, rec: Recorded, hit: CrisisHit, now: datetime,
                         with_file: bool = False) -> list[Reply]:
        log.warning("crisis rule %s triggered in conversation %s", hit.rule_id,
                    rec.conversation.id)
        routing = await self._hand_over(rec, now, urgent=True, reason=f"crisis:{hit.rule_id}")
        # One message, however many files: a person in crisis reads the help lines only.
        return [self._d.replies.crisis_help(hit, routing, with_file)]

    async def consent(self, rec: Recorded, then: str, now: datetime) -> list[Reply]:
        if then == DECLINE:
            if rec.client.consent_at is not None:  # agreed before: nothing to take back here
                return [self._d.replies.menu()]
            await self._d.store.decline_consent(rec.conversation.id)
            return [self._d.replies.consent_declined()]
        await self._d.store.set_consent(rec.client.id, now, rec.client.display_name)
        # The greeting's own «Согласен(на)» pressed after asking for a person hands over too.
        if then == "specialist" or rec.conversation.awaiting_consent:
            return await self.escalate(rec, now, urgent=False, reason="client")
        return [self._d.replies.consent_accepted()]

