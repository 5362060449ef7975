"""`qa serve` as deployed: cold start, memory per worker, index size, and HTTP under load.

In one run, against real `qa serve` processes on loopback:
* cold start: process start → /readyz answers 200, with a built index (median of 3, or `--cold-starts`);
* memory: resident (RSS) and proportional (PSS, shared pages split between the processes that
  map them) size of each worker, with 1 and 2 workers, on the curated index and on the MedQuAD
  index (var/bench/medquad-index, if built) — the index files are memory-mapped, so a second
  worker should add about one model, not one more index; index size on disk;
* HTTP: requests/s and latency p50/p99 for 1, 8 and 32 concurrent clients with 1 and 2 workers,
  answer cache off (every request computes an answer), gold questions in rotation. The load
  generator is wrk (Debian package `wrk`; a C client, so it takes little of the 2 cores).

Reference figures, measured in-process in the same run: the encode floor (one question through
the serving encoder) and the per-question compute time (a whole cold `engine.ask`) with one
model thread — the 2-worker target is 80 % of 2 ÷ that compute time.

    python bench/serve_bench.py [--seconds 20] [--write]
    python bench/serve_bench.py --cold-start-only [--cold-starts 7]

`--cold-start-only` builds the index and times the cold starts alone (a before/after comparison
of start-up: run it with each version's checkout first on PYTHONPATH, from that checkout).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.engine_bench import percentile  # noqa: E402
from bench.load_bench import environment, free_port, qa_command  # noqa: E402
from bench.report import replace_section  # noqa: E402
from qa.encoders import embedder_from_settings  # noqa: E402
from qa.engine import QAEngine  # noqa: E402
from qa.evaluation import read_gold  # noqa: E402
from qa.settings import Settings  # noqa: E402

WRK_SCRIPT = """
local bodies = dofile("{questions}")
local counter = 0
function setup(thread) thread:set("offset", math.random(1, #bodies)) end
function init(args) counter = offset or 1 end
function request()
  counter = counter + 1
  return wrk.format("POST", "/api/ask", {{["Content-Type"] = "application/json"}},
                    bodies[(counter % #bodies) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT {{\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, "
    .. "\\"errors\\": %d}}\\n", summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def start_server(env: dict[str, str], workers: int) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen(qa_command("serve", "--port", str(port), "--workers", str(workers)),
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"error: qa serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                ready = time.perf_counter() - started
                if workers > 1:  # every worker up, not just the first
                    wait_for_workers(process.pid, workers, deadline)
                return process, base, ready
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit("error: qa serve did not become ready")


def wait_for_workers(supervisor: int, workers: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        ready = [pid for pid in worker_pids(supervisor) if listening(pid)]
        if len(ready) >= workers:
            time.sleep(3)  # index mapped; the safety examples are encoded next, about a second
            return
        time.sleep(0.2)


def worker_pids(supervisor: int) -> list[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [int(p) for p in children if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]


def listening(pid: int) -> bool:
    """Whether the worker has memory-mapped its index yet (it listens shortly after)."""
    try:
        return "embeddings.npy" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def memory_kib(pid: int) -> dict[str, int]:
    """RSS and PSS of one process, from /proc (kernel figures, not estimates)."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    figures = {}
    for key in ("Rss", "Pss"):
        match = re.search(rf"^{key}:\s+(\d+) kB", rollup, re.M)
        if match is None:
            raise SystemExit(f"/proc/{pid}/smaps_rollup has no {key} line")
        figures[key] = int(match.group(1))
    return figures


def serving_pids(process: subprocess.Popen, workers: int) -> list[int]:
    return worker_pids(process.pid) if workers > 1 else [process.pid]


def measure_memory(env: dict[str, str], workers: int, questions: list[str]) -> list[dict]:
    process, base, _ = start_server(env, workers)
    try:
        for question in questions[:50]:  # touch the working set the way traffic does
            httpx.post(f"{base}/api/ask", json={"question": question}, timeout=30)
        return [memory_kib(pid) for pid in serving_pids(process, workers)]
    finally:
        stop(process)


def run_wrk(base: str, script: Path, clients: int, seconds: float) -> dict:
    command = ["wrk", "-t1", f"-c{clients}", f"-d{seconds:.0f}s", "--timeout", "30s", "-s",
               str(script), f"{base}/api/ask"]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120).stdout
    match = re.search(r"RESULT (\{.*\})", output)
    if not match:
        raise SystemExit(f"error: wrk gave no result:\n{output}")
    result = json.loads(match.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def in_process_reference(index_dir: Path, questions: list[str], workers: int) -> dict[str, float]:
    """Encode floor and whole cold question with the model threads a server with `workers`
    workers gives each of them (cores ÷ workers)."""
    settings = Settings(index_dir=index_dir, workers=workers, answer_cache_size=0)
    engine = QAEngine.from_settings(settings, embedder=embedder_from_settings(settings))
    raw = engine.embedder
    floor, whole = [], []
    for n, question in enumerate(questions[:20] + questions):
        started = time.perf_counter()
        raw.encode([question])
        took_floor = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        engine.ask(question)
        took_whole = (time.perf_counter() - started) * 1000
        if n >= 20:
            floor.append(took_floor)
            whole.append(took_whole)
    return {"floor": percentile(floor, 50), "compute_mean": sum(whole) / len(whole),
            "compute_p50": percentile(whole, 50)}


def directory_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2 ** 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--medquad-index", type=Path, default=ROOT / "var" / "bench" / "medquad-index")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--cold-starts", type=int, default=3)
    parser.add_argument("--cold-start-only", action="store_true",
                        help="only build and time the cold starts (never writes the docs)")
    args = parser.parse_args()
    if args.cold_start_only:
        cold_starts_only(args.cold_starts)
        return
    if shutil.which("wrk") is None:
        sys.exit("error: wrk not found (apt-get install wrk)")
    questions = [g.question for g in read_gold(ROOT / "eval" / "gold")]

    work = Path(tempfile.mkdtemp(prefix="qa-serve-bench-"))
    try:
        corpus, index = work / "corpus", work / "index"
        shutil.copytree(ROOT / "corpus", corpus)
        env = environment(index, corpus) | {"QA_ANSWER_CACHE_SIZE": "0", "QA_LOG_LEVEL": "WARNING"}
        subprocess.run(qa_command("build"), env=env, check=True, capture_output=True)
        bodies = work / "questions.lua"
        bodies.write_text("return {" + ",".join(
            "[==[" + json.dumps({"question": q}) + "]==]" for q in questions) + "}\n")
        script = work / "ask.lua"
        script.write_text(WRK_SCRIPT.format(questions=bodies))

        reference = {w: in_process_reference(index, questions, w) for w in (1, 2)}
        cold = time_cold_starts(env, args.cold_starts)
        memory = {("curated", w): measure_memory(env, w, questions) for w in (1, 2)}
        sizes = {"curated": directory_mib(next((index / "builds").iterdir()))}
        if (args.medquad_index / "current").exists():
            big_env = env | {"QA_INDEX_DIR": str(args.medquad_index)}
            memory |= {("MedQuAD", w): measure_memory(big_env, w, questions) for w in (1, 2)}
            sizes["MedQuAD"] = directory_mib((args.medquad_index / "current").resolve())

        http = {}
        for workers in (1, 2):
            process, base, _ = start_server(env, workers)
            try:
                run_wrk(base, script, 8, 3)  # warm-up
                for clients in (1, 8, 32):
                    http[(workers, clients)] = run_wrk(base, script, clients, args.seconds)
                    print(workers, clients, http[(workers, clients)], flush=True)
            finally:
                stop(process)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    text = report(reference, cold, memory, sizes, http, args.seconds)
    print(text)
    if args.write:
        replace_section(ROOT / "docs" / "benchmarks.md", "serve", text)


def time_cold_starts(env: dict[str, str], runs: int) -> list[float]:
    """Seconds from `qa serve` starting to /readyz answering 200, one worker, each run a new
    process (the index's pages stay in the page cache, as after a restart)."""
    cold = []
    for _ in range(runs):
        process, _, ready = start_server(env, 1)
        stop(process)
        cold.append(ready)
    return cold


def cold_starts_only(runs: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="qa-cold-start-"))
    try:
        corpus, index = work / "corpus", work / "index"
        shutil.copytree(ROOT / "corpus", corpus)
        env = environment(index, corpus) | {"QA_LOG_LEVEL": "WARNING"}
        subprocess.run(qa_command("build"), env=env, check=True, capture_output=True)
        cold = time_cold_starts(env, runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"cold start (process start -> /readyz 200, 1 worker): median "
          f"{percentile(cold, 50):.2f} s of {runs} ({min(cold):.2f}-{max(cold):.2f} s); runs: "
          + ", ".join(f"{c:.2f}" for c in cold))


def report(reference: dict, cold: list[float], memory: dict, sizes: dict, http: dict,
           seconds: float) -> str:
    one, two = reference[1], reference[2]
    target_rps = 0.8 * 2 / (two["compute_mean"] / 1000)
    lines = [
        f"Machine: {os.cpu_count()} cores; wrk on loopback (1 thread), {seconds:.0f} s per cell, "
        "answer cache off, gold questions in rotation. In-process reference with the threads each "
        f"worker gets — 1 worker (2 model threads): encode floor p50 {one['floor']:.2f} ms, whole "
        f"cold question p50 {one['compute_p50']:.2f} ms; 2 workers (1 thread each): floor "
        f"{two['floor']:.2f} ms, whole question p50 {two['compute_p50']:.2f} ms, mean "
        f"{two['compute_mean']:.2f} ms. Each row's ratios use its own floor.",
        "",
        "| workers | clients | requests/s | p50 ms | p99 ms | p50 ÷ floor | p99 ÷ floor | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (workers, clients), r in sorted(http.items()):
        p50, p99, floor = r["p50_us"] / 1000, r["p99_us"] / 1000, reference[workers]["floor"]
        lines.append(f"| {workers} | {clients} | {r['rps']:.1f} | {p50:.2f} | {p99:.2f} | "
                     f"{p50 / floor:.2f} | {p99 / floor:.2f} | {r['errors']} |")
    best_two = max(r["rps"] for (w, _), r in http.items() if w == 2)
    lines += [
        "",
        f"Two workers: best throughput {best_two:.1f} requests/s against the target "
        f"80 % × 2 ÷ {two['compute_mean']:.2f} ms = {target_rps:.1f} requests/s "
        f"({best_two / target_rps * 100:.0f} % of it). The load generator shares the 2 cores.",
        "",
        f"Cold start (process start → /readyz 200, built index, 1 worker): "
        f"{percentile(cold, 50):.2f} s median of {len(cold)} ({min(cold):.2f}–{max(cold):.2f} s).",
        "",
        "| index | on disk | workers | per worker RSS | per worker PSS | all workers PSS |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for (name, workers), rows in memory.items():
        rss = " + ".join(f"{m['Rss'] / 1024:.0f}" for m in rows)
        pss = " + ".join(f"{m['Pss'] / 1024:.0f}" for m in rows)
        total = sum(m["Pss"] for m in rows) / 1024
        lines.append(f"| {name} | {sizes[name]:.0f} MiB | {workers} | {rss} MiB | {pss} MiB | "
                     f"{total:.0f} MiB |")
    lines += ["", "PSS splits each shared page (the memory-mapped index, shared libraries) between "
              "the processes that map it, so the all-workers PSS is what the workers cost together."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
