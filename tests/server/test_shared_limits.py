"""Rate limits shared by every worker through a real Redis server, and what happens when Redis
goes away (answers keep flowing, counted per process, reported) and comes back."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from qa.server import guard
from qa.server.app import create_app
from tests.servers import RedisServer, free_port, redis_server, wait_http_ready
from tests.conftest import FIXTURE_CORPUS

QUESTION = {"question": "what is apheresis"}


def app_on(settings, engine) -> TestClient:
    return TestClient(create_app(settings, engine))


@pytest.fixture
def redis(tmp_path):
    with redis_server(tmp_path) as server:
        yield server


def test_two_workers_count_one_limit_in_redis(fake_engine, redis, tmp_path):
    settings = fake_engine.settings.model_copy(update={
        "rate_limit": "3/minute", "rate_limit_storage": redis.url,
        "feedback_db_url": f"sqlite:///{tmp_path}/fb.db"})
    first, second = app_on(settings, fake_engine), app_on(settings, fake_engine)
    statuses = [client.post("/api/ask", json=QUESTION).status_code
                for client in (first, second, first, second, first, second)]
    assert statuses.count(200) == 3 and statuses.count(429) == 3
    assert first.get("/readyz").json()["rate_limits"] == {
        "storage": "redis", "shared": True, "counting": "shared"}


def test_without_redis_each_worker_counts_alone(fake_engine, tmp_path):
    settings = fake_engine.settings.model_copy(update={
        "rate_limit": "3/minute", "feedback_db_url": f"sqlite:///{tmp_path}/fb.db"})
    first, second = app_on(settings, fake_engine), app_on(settings, fake_engine)
    statuses = [client.post("/api/ask", json=QUESTION).status_code
                for client in (first, second, first, second, first, second)]
    assert statuses.count(200) == 6  # the problem shared storage solves


def test_redis_going_away_keeps_answers_flowing_and_says_so(fake_engine, redis, tmp_path,
                                                            monkeypatch, caplog):
    monkeypatch.setattr(guard, "RETRY_SHARED_SECONDS", 0.5)
    settings = fake_engine.settings.model_copy(update={
        "rate_limit": "100/minute", "rate_limit_storage": redis.url,
        "feedback_db_url": f"sqlite:///{tmp_path}/fb.db"})
    client = app_on(settings, fake_engine)
    assert client.post("/api/ask", json=QUESTION).status_code == 200
    redis.stop()
    caplog.clear()
    for _ in range(5):
        assert client.post("/api/ask", json=QUESTION).status_code == 200
    assert client.get("/readyz").json()["rate_limits"]["counting"] == "this process"
    assert "qa_rate_limit_shared 0.0" in client.get("/metrics").text
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1  # logged once, not once per request
    redis.start()
    time.sleep(0.6)
    assert client.post("/api/ask", json=QUESTION).status_code == 200
    assert client.get("/readyz").json()["rate_limits"]["counting"] == "shared"
    assert "qa_rate_limit_shared 1.0" in client.get("/metrics").text


def test_a_bad_storage_setting_is_refused():
    from pydantic import ValidationError

    from qa.settings import Settings

    with pytest.raises(ValidationError):
        Settings(rate_limit_storage="memcached://nowhere")


@pytest.mark.model
def test_qa_serve_with_two_workers_shares_one_limit(tmp_path):
    """The real thing: `qa serve --workers 2`, each worker its own process, one Redis count."""
    redis = RedisServer(tmp_path)
    redis.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | {
        "HF_HUB_OFFLINE": "1", "QA_CORPUS": str(FIXTURE_CORPUS),
        "QA_INDEX_DIR": str(tmp_path / "index"), "QA_RATE_LIMIT": "4/minute",
        "QA_RATE_LIMIT_STORAGE": redis.url, "QA_FEEDBACK_DB_URL": f"sqlite:///{tmp_path}/fb.db"}
    assert subprocess.run([sys.executable, "-m", "qa", "build"], env=env, capture_output=True,
                          timeout=600).returncode == 0
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--port", str(port),
                               "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http_ready(base, server)
        statuses = []
        for _ in range(10):  # a new connection each time: the kernel spreads them over workers
            with httpx.Client(timeout=30) as client:
                statuses.append(client.post(f"{base}/api/ask", json=QUESTION).status_code)
        assert statuses.count(200) == 4 and statuses.count(429) == 6, statuses
    finally:
        server.terminate()
        server.wait(timeout=60)
        redis.stop()
