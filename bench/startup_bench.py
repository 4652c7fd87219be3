"""Start-up time and resident memory of `priemnaya run`, and web-chat round trips."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from bench.docs import write_section

RUNS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start(port: int, db: Path) -> tuple[subprocess.Popen[bytes], float]:
    env = {**os.environ, "PRIEMNAYA_WEB__PORT": str(port),
           "PRIEMNAYA_DATABASE__URL": f"sqlite+aiosqlite:///{db}"}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "priemnaya", "run"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = started + 60
    while time.perf_counter() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc, time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("priemnaya run did not answer within 60 s")


def chat_round_trips(port: int, n: int) -> list[float]:
    """POST a question and poll until the answer is there; milliseconds per round trip."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    base = f"http://127.0.0.1:{port}"
    opener.open(base + "/").read()
    times, seen = [], 0
    for i in range(n):
        body = json.dumps({"id": f"b{i}", "text": "Как оформить субсидию на оплату ЖКУ?"})
        request = urllib.request.Request(base + "/api/chat/send", body.encode(),
                                         {"Content-Type": "application/json"})
        started = time.perf_counter()
        opener.open(request).read()
        while True:
            data = json.loads(opener.open(f"{base}/api/chat/messages?after={seen}").read())
            bot = [m for m in data["messages"] if m["author"] == "bot"]
            if bot:
                seen = max(m["id"] for m in data["messages"])
                break
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    starts, memory, trips = [], [], []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "bench.db"
            subprocess.run([sys.executable, "-m", "priemnaya", "db", "upgrade"], check=True,
                           env={**os.environ, "PRIEMNAYA_DATABASE__URL":
                                f"sqlite+aiosqlite:///{db}"}, stdout=subprocess.DEVNULL)
            port = free_port()
            proc, seconds = start(port, db)
            try:
                trips += chat_round_trips(port, 50)
                memory.append(rss_mb(proc.pid))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            starts.append(seconds)
    trips.sort()
    text = (
        "Written by `make bench` (bench/startup_bench.py): `priemnaya run` with the sample "
        f"knowledge base, no bot tokens, SQLite; {RUNS} runs.\n\n"
        "| measure | value | target |\n|---|---|---|\n"
        f"| start-up to first answered request, median s | {statistics.median(starts):.2f} "
        "| ≤ 5 |\n"
        f"| start-up, worst of {RUNS}, s | {max(starts):.2f} | ≤ 5 |\n"
        f"| resident memory after 50 chat questions, MB | {max(memory):.0f} | ≤ 300 |\n"
        f"| web chat question → answer visible, p50 ms | {trips[len(trips) // 2]:.1f} | – |\n"
        f"| web chat question → answer visible, p99 ms | "
        f"{trips[min(len(trips) - 1, int(len(trips) * 0.99))]:.1f} | – |\n"
    )
    print(text)
    write_section("startup-bench", "Start-up, memory and web chat", text)


if __name__ == "__main__":
    main()
