"""The web chat: the embedded default channel, served by the project's aiohttp app."""
