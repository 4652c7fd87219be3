"""The VK channel: Bots Long Poll or the Callback API, on vkbottle."""

import logging
import warnings

# vkbottle replaces Python's warning display when first imported (shared/STACK.md); the
# previous one is put back so warnings keep going where the application sends them. Every
# module of this package imports vkbottle after this has run.
_showwarning = warnings.showwarning
import vkbottle  # noqa: E402, F401

warnings.showwarning = _showwarning
# It also gives its logger a coloured stderr handler of its own; without it, vkbottle's
# records follow the application's logging configuration like everyone else's.
logging.getLogger("vkbottle").handlers.clear()
