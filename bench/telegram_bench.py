"""Telegram updates per second through the whole pipeline, next to a bare aiogram echo bot.

Both get the same private text updates over real HTTP on 127.0.0.1 and answer through the same
fake Bot API; the clock runs from the first POST until the fake has received every reply.
Pipeline: webhook -> raw update kept -> message stored -> FAQ match -> outbox -> sendMessage.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.docs import write_section  # noqa: E402
from tests.bots.telegram.fake_bot_api import FakeBotApi  # noqa: E402
from tests.bots.telegram.harness import SECRET, TOKEN, Harness  # noqa: E402

UPDATES = 1500
WARMUP = 100
ROUNDS = 5  # the machine this runs on varies by ±20 % from run to run: medians of five
CONCURRENCY = 8
USERS = 50
# What clients ask: the sample knowledge base's evaluation messages, in- and out-of-scope.
CASES = ROOT / "kb" / "sample" / "cases.jsonl"
# A scratch PostgreSQL database (emptied!) instead of SQLite, e.g.
# postgresql+asyncpg://postgres@127.0.0.1:5432/bench
PG_URL = os.environ.get("PRIEMNAYA_BENCH_PG", "")


def questions() -> list[str]:
    """Those the bot itself answers (with an answer, a question back or "no answer, ask a
    specialist"): a crisis or a request for a person hands the conversation to specialists,
    and the bot then stays silent, so the count of replies would not tell when all is done."""
    from handlers.crisis import load_crisis_rules
    from handlers.person_request import wants_human
    from priemnaya.settings import Settings

    crisis = load_crisis_rules(Settings().crisis.rules_path)
    texts = [json.loads(line)["text"] for line in CASES.read_text().splitlines() if line]
    return [t for t in texts if crisis.detect(t) is None and not wants_human(t)]


def make_updates(n: int, first_id: int) -> list[dict[str, Any]]:
    h = Harness(FakeBotApi())
    h._ids = iter(range(first_id, first_id + n))  # type: ignore[assignment]
    h._messages = iter(range(first_id, first_id + n))  # type: ignore[assignment]
    texts = questions()
    return [h.private(texts[(first_id + i) % len(texts)], user=100000001 + i % USERS)
            for i in range(n)]


async def post_all(url: str, updates: list[dict[str, Any]], headers: dict[str, str]) -> None:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for u in updates:
        queue.put_nowait(u)

    async def worker(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            async with http.post(url, json=queue.get_nowait(), headers=headers) as r:
                assert r.status == 200, r.status

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(worker(http) for _ in range(CONCURRENCY)))


async def wait_replies(api: FakeBotApi, n: int, deadline_s: float = 300) -> None:
    until = time.perf_counter() + deadline_s
    while len(api.sent()) < n:
        if time.perf_counter() > until:
            raise RuntimeError(f"only {len(api.sent())} of {n} replies arrived")
        await asyncio.sleep(0.005)


async def measure(api: FakeBotApi, url: str, headers: dict[str, str]) -> float:
    await post_all(url, make_updates(WARMUP, 1), headers)
    await wait_replies(api, WARMUP)
    started = time.perf_counter()
    await post_all(url, make_updates(UPDATES, 10_000), headers)
    await wait_replies(api, WARMUP + UPDATES)
    return UPDATES / (time.perf_counter() - started)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def echo_rate(api: FakeBotApi, frozen: bool = False) -> float:
    from aiogram import Bot, Dispatcher, Router
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url)))
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=True).register(app, "/hook")
    runner, base = await serve(app)
    if frozen:  # the same start-up tuning as the pipeline, to see what it is worth to it
        from priemnaya.serve import freeze_startup_heap

        freeze_startup_heap()
    try:
        return await measure(api, f"{base}/hook", {})
    finally:
        await runner.cleanup()
        await bot.session.close()


per_update: dict[str, float] = {}


async def pipeline_rate(api: FakeBotApi, db: Path, matcher: bool = True) -> float:
    """matcher=False: the test suite's trivial FAQ (exact questions only) in place of the
    real matcher, to show what the rest of the pipeline costs."""
    from bots.telegram.plugin import SECRET_HEADER, build_telegram
    from priemnaya.channels import to_telegram_config
    from priemnaya.faq_setup import build_faq
    from priemnaya.runtime import build_runtime
    from priemnaya.serve import freeze_startup_heap
    from priemnaya.settings import Settings
    from priemnaya.webapp import build_app
    from storage.migrate import upgrade

    url = PG_URL or f"sqlite+aiosqlite:///{db}"
    if PG_URL:
        await _reset_pg(PG_URL)
    await asyncio.to_thread(upgrade, url)
    settings = Settings(database={"url": url}, outbox={"poll_interval_s": 0.05},
                        queues=project_queues(), telegram={
        "enabled": True, "token": TOKEN, "mode": "webhook", "api_server": api.url,
        "webhook_url": "https://bot.example.org/telegram/webhook", "webhook_secret": SECRET})
    from tests.fakes import FakeFaq

    # The real matcher on the sample knowledge base, as `priemnaya run` starts it.
    rt = build_runtime(settings, build_faq(settings) if matcher else FakeFaq())
    rt.add_channel(build_telegram(to_telegram_config(settings.telegram), rt.context))
    runner, base = await serve(build_app(rt))
    freeze_startup_heap()  # as `priemnaya run` does once it listens
    try:
        with counting(rt.engine.sync_engine) as counts:
            rate = await measure(api, f"{base}/telegram/webhook", {SECRET_HEADER: SECRET})
        # the warm-up is counted too: per update over warm-up and measured updates
        per_update["transactions"] = counts["commit"] / (WARMUP + UPDATES)
        per_update["statements"] = counts["statement"] / (WARMUP + UPDATES)
        return rate
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def counting(engine: Any) -> Iterator[dict[str, int]]:
    """Commits and statements the pipeline sends to the database while the block runs."""
    from sqlalchemy import event

    counts = {"commit": 0, "statement": 0}

    def on_commit(_conn: Any) -> None:
        counts["commit"] += 1

    def on_statement(*_args: Any) -> None:
        counts["statement"] += 1

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield counts
    finally:
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "before_cursor_execute", on_statement)


async def _reset_pg(url: str) -> None:
    """The PostgreSQL database named by PRIEMNAYA_BENCH_PG is emptied: use a scratch one."""
    from sqlalchemy import text

    from storage.engine import build_engine

    engine = build_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def sql_transaction_rate(db: Path, n: int = 300) -> float:
    """The floor under the pipeline: one-row write transactions per second, same stack."""
    from sqlalchemy import text

    from storage.engine import build_engine, build_sessions

    engine = build_engine(f"sqlite+aiosqlite:///{db}")
    sessions = build_sessions(engine)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
    started = time.perf_counter()
    for i in range(n):
        async with sessions.begin() as s:
            await s.execute(text("INSERT INTO t VALUES (:x)"), {"x": i})
    rate = n / (time.perf_counter() - started)
    await engine.dispose()
    return rate


async def one_rate(job: str) -> float:
    api = FakeBotApi()
    await api.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if job.startswith("echo"):
                return await echo_rate(api, frozen=job == "echo-frozen")
            return await pipeline_rate(api, Path(tmp) / "bench.db",
                                       matcher=job == "pipeline")
    finally:
        await api.stop()


def run_in_subprocess(job: str) -> dict[str, float]:
    """Each run in a fresh interpreter: no heap or warm caches left by the other bot."""
    done = subprocess.run([sys.executable, "-m", "bench.telegram_bench", "--one", job],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def project_queues() -> list[Any]:
    """The queues of the project's settings.yaml: those the sample knowledge base names."""
    from priemnaya.settings import PROJECT_ROOT, load_settings

    return list(load_settings(PROJECT_ROOT / "settings.yaml").queues)


def matcher_ms() -> float:
    """Time of one decision of the real matcher on the bench's messages, warm."""
    from priemnaya.faq_setup import build_faq
    from priemnaya.settings import Settings

    faq, texts = build_faq(Settings(queues=project_queues())), questions()
    for text in texts:
        faq.match(text)
    started = time.perf_counter()
    for text in texts:
        faq.match(text)
    return (time.perf_counter() - started) / len(texts) * 1000


def send_encoding_ms() -> tuple[float, float]:
    """Building one sendMessage body for each sample answer: aiogram's form, then our JSON."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.methods import SendMessage
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    from bots.telegram.session import JsonAiohttpSession, dumps
    from faq.loader import load_kb

    keyboard = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="Задать вопрос специалисту", callback_data="human")]])
    entries = load_kb([ROOT / "kb" / "sample"]).entries
    methods = [SendMessage(chat_id=USERS, text=e.answer, parse_mode="HTML",
                           reply_markup=keyboard) for e in entries]
    bot = Bot(TOKEN)
    form, plain = AiohttpSession(), JsonAiohttpSession(json_dumps=dumps)

    def as_form(m: SendMessage) -> Any:
        return form.build_form_data(bot, m)()

    def as_json(m: SendMessage) -> Any:
        return plain.json_dumps(plain.build_json(bot, m)).encode()

    times = []
    for build in (as_form, as_json):
        for m in methods:  # warm
            build(m)
        started = time.perf_counter()
        for _ in range(5):
            for m in methods:
                build(m)
        times.append((time.perf_counter() - started) / (5 * len(methods)) * 1000)
    return times[0], times[1]


JOBS = {
    "echo": "bare aiogram echo bot (SimpleRequestHandler)",
    "pipeline": "Priemnaya pipeline (store, match, outbox, reply), the real matcher",
    "pipeline-trivial-match": "the same pipeline with a trivial matcher (exact questions only)",
    "echo-frozen": "the echo bot with the pipeline's start-up tuning (gc.freeze, rarer young "
                   "collections)",
}


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        rate = asyncio.run(one_rate(sys.argv[2]))
        print(json.dumps({"rate": rate, **per_update}))
        return
    runs: dict[str, list[dict[str, float]]] = {job: [] for job in JOBS}
    for _ in range(ROUNDS):  # alternating, so that a busy moment of the machine hits all
        for job, done in runs.items():
            done.append(run_in_subprocess(job))
    rates = {job: [r["rate"] for r in done] for job, done in runs.items()}
    median = {job: statistics.median(r) for job, r in rates.items()}
    echo, pipeline = median["echo"], median["pipeline"]
    ratios = sorted(p / e for p, e in zip(rates["pipeline"], rates["echo"], strict=True))
    transactions = statistics.median(r["transactions"] for r in runs["pipeline"])
    statements = statistics.median(r["statements"] for r in runs["pipeline"])
    with tempfile.TemporaryDirectory() as tmp:
        txn = asyncio.run(sql_transaction_rate(Path(tmp) / "txn.db"))
    ratio = pipeline / echo
    form_ms, json_ms = send_encoding_ms()
    verdict = "meets" if ratio >= 0.5 else "misses"
    rows = "".join(f"| {name} | {median[job]:.0f} | "
                   f"{', '.join(f'{r:.0f}' for r in rates[job])} |\n"
                   for job, name in JOBS.items())
    text = (f"{UPDATES} private text updates after {WARMUP} of warm-up, {CONCURRENCY} "
            f"concurrent webhook POSTs, {USERS} clients, real HTTP on 127.0.0.1 to a fake Bot "
            f"API, {'PostgreSQL' if PG_URL else 'SQLite (WAL)'}, one process per run "
            f"(bot, fake Bot API and load generator together); {ROUNDS} rounds alternating "
            f"the bots, each run in a fresh interpreter, medians. The messages are the "
            f"{len(questions())} of kb/sample/cases.jsonl that the bot answers itself (no "
            f"crisis words, no request for a person), in turn; the pipeline matches them "
            f"against the sample knowledge base and sends the answer, the clarifying "
            f"question or the offer of a specialist, the echo bot sends each back.\n\n"
            f"| bot | updates/s (median) | runs |\n|---|---|---|\n{rows}"
            f"\nPipeline / echo = {ratio:.2f} (per round {ratios[0]:.2f}–{ratios[-1]:.2f}): "
            f"{verdict} the target of 0.5. With the trivial matcher the rest of the "
            f"pipeline reaches {median['pipeline-trivial-match'] / echo:.2f} of the echo "
            f"rate; one decision of the real matcher on these messages costs "
            f"{matcher_ms():.2f} ms (warm), against {1000 / echo:.2f} ms for all the "
            f"work of the echo bot per update. Against the echo bot given the same start-up "
            f"tuning the pipeline reaches {pipeline / median['echo-frozen']:.2f}. Replies "
            f"go to the Bot API as JSON (bots/telegram/session.py): building one sendMessage "
            f"body for a sample answer takes {form_ms:.2f} ms as aiogram's form, which "
            f"percent-encodes Cyrillic byte by byte in Python, and {json_ms:.2f} ms as JSON. "
            "The outbox's sendMessage builds that JSON itself and reads the answer as plain "
            "JSON, without aiogram's method model, its dump or the validation of the Message "
            "returned; a failed call is still read by aiogram (`call_json` in "
            "bots/telegram/session.py). In an A/B of 6 alternating rounds this took "
            "pipeline/echo from 0.475 to 0.526 (median of the rounds, stop 17); keeping a "
            "client word's cosines with the knowledge base's words as rows of one matrix "
            "(faq/semantic.py) then took it from 0.550 to 0.574 in another.\n\n"
            f"The pipeline keeps each update, stores the message, the judgement, the reply "
            f"and its outbox row, and marks the delivery, with {transactions:.2f} "
            f"transactions and {statements:.2f} SQL statements per update: the writes of "
            f"updates that arrive together share transactions and multi-row statements "
            f"(storage/hot_path.py, storage/group_commit.py), where one transaction per "
            f"write had cost 3.8 transactions and 13 statements per update (2026-11-27). A "
            f"reply is written leased to this process's outbox worker and handed to it in "
            f"memory (bots/outbox.py), so no query claims it: before that, 0.71 transactions "
            f"and 1.84 statements per update (stop 14). The processing status of each "
            f"update is written 50 ms later, with the others of that moment in one "
            f"transaction (storage/staff.py), and a client's private message goes from the "
            f"raw update to the core without aiogram's parse and dispatch, which the "
            f"pipeline never used for it (bots/telegram/intake.py); before both, 0.63 "
            f"transactions and 1.69 statements per update (stop 15). A "
            f"one-row write transaction alone runs {txn:.0f} times a second on this stack "
            f"(SQLite in the event loop's thread, storage/sqlite_inline.py). The webhook is "
            f"answered once the raw update is kept (the echo bot answers before handling "
            f"too); processing follows in order per chat. `gc.freeze()` after start-up "
            f"(priemnaya/serve.py) keeps the collector from walking the start-up heap on "
            f"every full collection, and young collections run every 5,000 allocations "
            f"instead of 700; the echo bot gains more from both (the row above) than the "
            f"pipeline, whose time goes less to the collector.\n\n"
            "Since stop 23 a reply to a chat whose older reply is still pending (held for a "
            "retry, or being sent) is not handed to the worker: it waits in the outbox and "
            "goes out after that one (storage/outbox.py), so that a reply held by a 429 or "
            "an outage is never overtaken. That costs one query per write transaction, "
            "through the recipient index (looked up per channel: SQLite read the first "
            "form, (channel, address) pairs, through the index of due rows, i.e. every "
            "pending row). Here no reply waits behind another: a client's next message "
            "comes long after the last reply went out. From the same stop until the fix "
            "the store read the channels its worker sends when it was built, before "
            "Telegram was added to the worker (priemnaya/serve.py does so too): no Telegram "
            "or VK reply was handed over, each waited for a poll of the outbox (all 1,600 "
            "here, through 59 claims; with the default outbox.poll_interval_s of 1 s, a "
            "lone reply left 1,006 ms after its update arrived, 13 ms with the fix), and the "
            "bench measured that together with the order, pipeline/echo "
            "0.50 → 0.46. With the hand-over back and the person and erasure checks keeping "
            "a word's one-edit search among the person words per word (78 → 43 µs per "
            "message on these messages), the measured part makes 5 % fewer Python calls per "
            "update (cProfile, 2026-11-29).\n\n"
            "Since 2026-11-29 the hot path's transactions are plain functions run in one "
            "greenlet (`in_core_transaction`, storage/engine.py): an AsyncConnection enters "
            "and leaves a greenlet for every statement and every step of a transaction, and "
            "closes its connection in a task of its own (CPU per transaction on inline "
            "SQLite: empty 239 → 88 µs, one INSERT 335 → 165 µs). A batch of raw updates is "
            "kept by one INSERT … ON CONFLICT DO NOTHING RETURNING where a SELECT of the "
            "known keys and an INSERT were two (1.81 → 1.68 statements per update), an "
            "answer's text is kept rendered per entry and template, and the reception reads a "
            "message once for its erasure and person checks. The measured part makes 6.5 % "
            "fewer Python calls per update (cProfile, 3,770 → 3,525) and takes 10 % less CPU "
            "per update (median of 4 pairs run side by side on a loaded machine, each pair "
            "lower: 8.8–12.8 %).")
    print(text)
    write_section("telegram-bench", "Telegram updates per second", text)


if __name__ == "__main__":
    main()
