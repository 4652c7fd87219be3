"""Server-Sent Events: /desk/events tells open desk pages which conversation changed."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from bots.web.auth import Role, require, still_signed_in
from bots.web.desk import DESK

# Proxies close idle connections (nginx after 60 s by default); a comment keeps it open.
HEARTBEAT_S = 20.0


@require(Role.SPECIALIST)
async def events(request: web.Request) -> web.StreamResponse:
    hub = request.app[DESK].hub
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no"})
    await response.prepare(request)
    try:
        await response.write(b"retry: 3000\n\n")
        loop = asyncio.get_running_loop()
        with hub.subscribe() as queue:
            # The session is read again every HEARTBEAT_S even while events keep coming: a
            # busy desk would otherwise keep a disabled or signed-out account's stream open.
            check_at = loop.time() + HEARTBEAT_S
            while True:
                try:
                    # asyncio.timeout keeps a shutdown's cancellation (wait_for may lose it).
                    async with asyncio.timeout_at(check_at):
                        event = await queue.get()
                except TimeoutError:
                    if not await still_signed_in(request):
                        break
                    await response.write(b": ping\n\n")
                    check_at = loop.time() + HEARTBEAT_S
                    continue
                if event is None:
                    break
                # Only what changed, never client text: the page fetches what it may show.
                data = json.dumps({"kind": str(event.kind), "id": event.conversation_id})
                await response.write(f"event: conversation\ndata: {data}\n\n".encode())
    except (ConnectionResetError, ConnectionError):
        pass  # the page was closed
    return response


async def _close_streams(app: web.Application) -> None:
    app[DESK].hub.close()


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/desk/events", events)
    app.on_shutdown.append(_close_streams)
