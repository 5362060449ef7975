"""`qa serve` as a real process on loopback: refuses a bad index, reloads on SIGHUP, drains on
SIGTERM, and the HTTP server itself refuses huge headers and slow bodies."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIXTURE_CORPUS

pytestmark = pytest.mark.model  # the real model, in this process or a served one

BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | {
    "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def qa(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def wait_ready(base: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early: {process.stderr.read()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("server did not become ready")


def start_server(work: Path, *extra: str, env_extra: dict | None = None):
    """Build the fixture corpus into `work` and start `qa serve` on a free loopback port."""
    corpus = work / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    env = BASE_ENV | {"QA_CORPUS": str(corpus), "QA_INDEX_DIR": str(work / "index"),
                      "QA_BODY_TIMEOUT_SECONDS": "1.5", "QA_RATE_LIMIT": "off",
                      "QA_FEEDBACK_DB_URL": f"sqlite:///{work}/fb.sqlite3",
                      "QA_LOG_FORMAT": "json"} | (env_extra or {})
    assert qa("build", env=env).returncode == 0
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--port", str(port), *extra],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    base = f"http://127.0.0.1:{port}"
    return {"base": base, "port": port, "process": process, "env": env, "corpus": corpus}


def stop_server(server: dict) -> None:
    process = server["process"]
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)
    process.stderr.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("serve"))
    try:
        wait_ready(running["base"], running["process"])
        yield running
    finally:
        stop_server(running)


@pytest.fixture
def own_server(tmp_path):
    """A server of this test's own, for a test that ends it."""
    running = start_server(tmp_path)
    try:
        wait_ready(running["base"], running["process"])
        yield running
    finally:
        stop_server(running)


def test_serve_refuses_a_missing_index_with_one_line(tmp_path):
    result = qa("serve", "--index", str(tmp_path / "none"), "--port", str(free_port()),
                env=BASE_ENV)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: no index found")
    assert len(result.stderr.strip().splitlines()) == 1


def test_real_server_answers(server):
    response = httpx.post(f"{server['base']}/api/ask", json={"question": "what is apheresis"},
                          timeout=30)
    assert response.status_code == 200 and response.json()["kind"] == "answer"


def test_huge_headers_are_refused_by_the_server(server):
    response = httpx.get(f"{server['base']}/healthz", headers={"x-big": "a" * 40_000}, timeout=10)
    assert response.status_code == 431


def test_slow_bodies_time_out_with_408(server):
    with socket.create_connection(("127.0.0.1", server["port"]), timeout=10) as sock:
        sock.sendall(b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 40\r\n\r\n{\"question\"")
        reply = b""
        deadline = time.monotonic() + 10
        while b"body_timeout" not in reply and time.monotonic() < deadline:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 408") and b"body_timeout" in reply, reply[:300]


def test_sighup_reloads_a_new_build_without_restart(server):
    before = httpx.get(f"{server['base']}/readyz").json()["build"]
    (server["corpus"] / "added.txt").write_text("Zebrafish regrow fins after injury in laboratories.")
    assert qa("build", env=server["env"]).returncode == 0
    server["process"].send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if httpx.get(f"{server['base']}/readyz").json()["build"] != before:
            break
        time.sleep(0.2)
    assert httpx.get(f"{server['base']}/readyz").json()["build"] != before
    assert server["process"].poll() is None


def test_sigterm_drains_the_in_flight_request_then_exits_0(own_server):
    server = own_server
    body = json.dumps({"question": "what is apheresis"}).encode()
    with socket.create_connection(("127.0.0.1", server["port"]), timeout=20) as sock:
        sock.sendall(b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Connection: close\r\nContent-Length: " + str(len(body)).encode()
                     + b"\r\n\r\n" + body[:10])
        time.sleep(0.3)
        server["process"].send_signal(signal.SIGTERM)
        time.sleep(0.3)
        sock.sendall(body[10:])
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert server["process"].wait(timeout=30) == 0
    logs = server["process"].stderr.read()
    assert "what is apheresis" not in logs  # questions are not logged by default
    assert '"route": "/api/ask"' in logs  # JSON request log lines


def worker_pids(supervisor: int) -> list[int]:
    """Children of the supervisor that are uvicorn workers (not multiprocessing's tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [int(pid) for pid in children
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_two_workers_serve_roll_over_to_a_new_build_and_drain(tmp_path):
    running = start_server(tmp_path, "--workers", "2", env_extra={"QA_LOG_FORMAT": "text"})
    process, base, env, corpus = (running["process"], running["base"], running["env"],
                                  running["corpus"])
    try:
        wait_ready(base, process)
        assert "with 2 workers" in process.stderr.readline()
        first_workers = worker_pids(process.pid)
        assert len(first_workers) == 2
        answer = httpx.post(f"{base}/api/ask", json={"question": "what is apheresis"}, timeout=30)
        assert answer.status_code == 200 and answer.json()["kind"] == "answer"

        before = httpx.get(f"{base}/readyz").json()["build"]
        (corpus / "added.txt").write_text("Zebrafish regrow fins after injury in laboratories.")
        assert qa("build", env=env).returncode == 0
        process.send_signal(signal.SIGHUP)  # replace the workers one at a time
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and set(worker_pids(process.pid)) & set(first_workers):
            time.sleep(0.5)
        builds = {httpx.get(f"{base}/readyz", timeout=10).json()["build"] for _ in range(20)}
        assert before not in builds and len(builds) == 1
        assert len(worker_pids(process.pid)) == 2

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        stop_server(running)


def test_workers_setting_is_validated(tmp_path):
    result = qa("serve", "--workers", "0", "--index", str(tmp_path), env=BASE_ENV)
    assert result.returncode != 0 and "Traceback" not in result.stderr
