"""Telegram channel: clients in private chats, specialists in a forum supergroup."""
