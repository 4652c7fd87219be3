"""TopicTitles: what a conversation's forum topic is called, at its opening and after a move."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest

from bots.telegram.backlog import TRANSIENT
from bots.telegram.privacy import StaffPrivacy
from bots.telegram.topics import Thread, means
from handlers.faq_ports import Faq
from handlers.model import ClientRef, ConversationRef
from handlers.ports import Texts
from handlers.secrets import redact

log = logging.getLogger("bots.telegram.notifier")

MAX_TOPIC_NAME = 128  # createForumTopic and editForumTopic limit
NO_RIGHTS = ("not enough rights", "chat_admin_required", "need administrator rights")
UNCHANGED = ("topic_not_modified",)


class TopicTitles:
    def __init__(self, bot: Bot, texts: Texts, faq: Faq, privacy: StaffPrivacy,
                 queue_titles: Mapping[str, str]) -> None:
        self._bot, self._texts, self._faq, self._privacy = bot, texts, faq, privacy
        self._queue_titles = queue_titles
        self._told_no_rights = False

    def about(self, conv: ConversationRef, client: ClientRef) -> dict[str, object]:
        """What the title and the history's heading say of the conversation."""
        category = self._faq.kb.category(conv.category)
        return {"client_name": self._privacy.name(client.display_name),
                "channel": str(conv.channel),
                "category": category.title if category else conv.category,
                "urgent": conv.urgent, "conversation_id": conv.id}

    def title(self, conv: ConversationRef, client: ClientRef, moved: bool = False) -> str:
        """moved: transferred, so the title names the queue it is in now."""
        queue = self._queue_titles.get(conv.queue, conv.queue) if moved else ""
        name = self._texts.render("staff_topic_name", **self.about(conv, client), queue=queue)
        return name[:MAX_TOPIC_NAME]

    async def retitle(self, thread: Thread, conv: ConversationRef, client: ClientRef) -> None:
        """After a transfer; a title that stays as it was is no reason to fail the notice.
        A passing failure (an outage) is raised: the rename waits in the backlog."""
        if not thread.topic_id:
            return  # a plain group: no title to change
        try:
            await self._bot.edit_forum_topic(thread.chat_id, thread.topic_id,
                                             name=self.title(conv, client, moved=True))
        except TRANSIENT:
            raise
        except TelegramBadRequest as exc:
            if means(exc.message, UNCHANGED):
                return
            if not means(exc.message, NO_RIGHTS):
                log.warning("cannot rename the topic of conversation %s: %s", conv.id,
                            redact(exc.message))
            elif not self._told_no_rights:
                self._told_no_rights = True
                log.warning("cannot rename topics in chat %s: the bot lacks the administrator "
                            "right can_manage_topics («Управление темами»); titles keep the "
                            "queue a conversation was opened in (%s)", thread.chat_id,
                            redact(exc.message))
        except TelegramAPIError as exc:
            log.warning("cannot rename the topic of conversation %s: %s", conv.id,
                        redact(f"{type(exc).__name__}: {exc.message}"))
