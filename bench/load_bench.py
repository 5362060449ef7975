"""Bounded load test of `qa serve` on loopback: throughput, latency, errors — and a hot-swap.

Starts the real server (production settings; the benchmark client's address is exempt from rate
limiting via QA_RATE_LIMIT_EXEMPT), then runs N concurrent clients for a fixed time asking gold
questions. Run 2 repeats it while a new index is built and swapped in through the authenticated
admin endpoint halfway through: every request must still succeed.

Then two workers (`qa serve --workers 2`) with rate limiting on for every request (a limit far
above the load, so none is refused) counted in memory and then in a real Redis server on a
loopback port (QA_RATE_LIMIT_STORAGE): what sharing the counters costs.

    python bench/load_bench.py [--clients 32] [--seconds 30] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import replace_section  # noqa: E402
from qa.evaluation import read_gold  # noqa: E402

TOKEN = "load-bench-admin-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def qa_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "qa", *args]


def environment(index: Path, corpus: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update({"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                "QA_INDEX_DIR": str(index), "QA_CORPUS": str(corpus),
                "QA_ADMIN_TOKEN": TOKEN, "QA_RATE_LIMIT_EXEMPT": "127.0.0.1"})
    return env


async def wait_ready(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
    raise SystemExit("server did not become ready")


async def client_loop(client: httpx.AsyncClient, base: str, questions: list[str], stop: float,
                      offset: int, latencies: list[float], failures: list[str]) -> None:
    i = offset
    while time.monotonic() < stop:
        question = questions[i % len(questions)]
        i += 7
        started = time.perf_counter()
        try:
            response = await client.post(f"{base}/api/ask", json={"question": question},
                                         timeout=30)
            if response.status_code != 200:
                failures.append(f"{response.status_code}: {response.text[:120]}")
            else:
                latencies.append(time.perf_counter() - started)
        except httpx.HTTPError as exc:
            failures.append(f"{exc.__class__.__name__}: {exc}")


async def run_load(base: str, questions: list[str], clients: int, seconds: float,
                   swap: Callable[[httpx.AsyncClient], Awaitable[dict]] | None = None) -> dict:
    latencies: list[float] = []
    failures: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits) as client:
        started = time.monotonic()
        stop = started + seconds
        tasks = [asyncio.create_task(client_loop(client, base, questions, stop, n, latencies,
                                                 failures)) for n in range(clients)]
        swap_result = None
        if swap:
            await asyncio.sleep(seconds / 2)
            swap_result = await swap(client)
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
    lat = np.array(latencies) * 1000 if latencies else np.array([0.0])
    return {"requests": len(latencies) + len(failures), "ok": len(latencies),
            "failures": failures, "rps": len(latencies) / elapsed,
            "p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)),
            "swap": swap_result}


def start_redis(directory: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir",
                                str(directory), "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.1)
    raise SystemExit("redis-server did not start")


def two_workers(env: dict[str, str], storage: str, questions: list[str], clients: int,
                seconds: float) -> dict:
    """`qa serve --workers 2`, every request counted by the rate limiter in `storage`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in env.items() if k != "QA_RATE_LIMIT_EXEMPT"} | {
        "QA_RATE_LIMIT": "1000000/minute", "QA_RATE_LIMIT_PER_IP": "1000000/minute",
        "QA_RATE_LIMIT_STORAGE": storage}
    server = subprocess.Popen(qa_command("serve", "--port", str(port), "--workers", "2"),
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        asyncio.run(wait_ready(base))
        asyncio.run(run_load(base, questions, clients, 3))  # warm both workers
        return asyncio.run(run_load(base, questions, clients, seconds))
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    questions = [g.question for g in read_gold(ROOT / "eval" / "gold")]

    work = Path(tempfile.mkdtemp(prefix="qa-load-"))
    corpus, index = work / "corpus", work / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    env = environment(index, corpus)
    subprocess.run(qa_command("build"), env=env, check=True, capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(qa_command("serve", "--port", str(port)), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        asyncio.run(wait_ready(base))
        plain = asyncio.run(run_load(base, questions, args.clients, args.seconds))

        async def swap(client: httpx.AsyncClient) -> dict:
            note = corpus / "glossary.md"
            note.write_text(note.read_text() + "\n## Load test marker\nA marker section added by "
                            "the load benchmark so that a new build differs from the old one.\n")
            build = await asyncio.create_subprocess_exec(
                *qa_command("build"), env=env, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL)
            await build.wait()
            response = await client.post(f"{base}/admin/reload",
                                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
            return {"status": response.status_code, "body": response.json()}

        swapped = asyncio.run(run_load(base, questions, args.clients, args.seconds * 2, swap))
        server.terminate()
        server.wait(timeout=30)
        in_memory = two_workers(env, "memory://", questions, args.clients, args.seconds)
        redis, url = start_redis(work)
        try:
            shared = two_workers(env, url, questions, args.clients, args.seconds)
        finally:
            redis.terminate()
            redis.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    lines = [f"`qa serve` (1 worker, production settings), {args.clients} concurrent clients on "
             "loopback, gold questions in rotation; the benchmark client is exempt from rate "
             "limiting.", "",
             "| run | duration | requests | failed | requests/s | p50 | p99 |",
             "| --- | --- | --- | --- | --- | --- | --- |",
             f"| steady | {args.seconds:.0f} s | {plain['requests']} | {len(plain['failures'])} | "
             f"{plain['rps']:.1f} | {plain['p50']:.1f} ms | {plain['p99']:.1f} ms |",
             f"| rebuild + hot-swap at half time | {args.seconds * 2:.0f} s | {swapped['requests']} | "
             f"{len(swapped['failures'])} | {swapped['rps']:.1f} | {swapped['p50']:.1f} ms | "
             f"{swapped['p99']:.1f} ms |", "",
             f"Hot-swap: admin reload answered {swapped['swap']['status']} "
             f"{swapped['swap']['body']}.", "",
             f"Two workers (`qa serve --workers 2`), {args.clients} clients, every request "
             f"counted by the rate limiter (limit far above the load), {args.seconds:.0f} s "
             "after a 3 s warm-up:", "",
             "| rate-limit counters | requests | failed | requests/s | p50 | p99 |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, run in (("in each worker's memory (`memory://`)", in_memory),
                      ("shared in Redis (`redis://`, loopback)", shared)):
        lines.append(f"| {name} | {run['requests']} | {len(run['failures'])} | "
                     f"{run['rps']:.1f} | {run['p50']:.1f} ms | {run['p99']:.1f} ms |")
    lines += ["", f"Redis throughput: {100 * shared['rps'] / in_memory['rps']:.1f} % of "
              "in-memory counting."]
    failures = plain["failures"] + swapped["failures"] + in_memory["failures"] + shared["failures"]
    for failure in failures[:5]:
        lines.append(f"- failure: {failure}")
    text = "\n".join(lines)
    print(text)
    if args.write:
        replace_section(ROOT / "docs" / "benchmarks.md", "load", text)


if __name__ == "__main__":
    main()
