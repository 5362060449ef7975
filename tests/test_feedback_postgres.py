"""Feedback and gap counts on a real PostgreSQL server (a throwaway cluster on a loopback port):
the schema created on first start, votes from two workers, the reports, and the database going
away and coming back without a restart."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from qa.cli import main
from qa.server.app import create_app
from tests.servers import postgres_server


@pytest.fixture(scope="module")
def postgres():
    with postgres_server() as server:
        yield server


@pytest.fixture
def settings(fake_engine, postgres):
    return fake_engine.settings.model_copy(update={
        "feedback_db_url": postgres.url, "rate_limit": "off", "gap_flush_seconds": 0.0,
        "admin_token": "tok-123456", "gap_min_count": 1})


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_schema_votes_from_two_workers_and_the_reports(fake_engine, settings, postgres):
    with TestClient(create_app(settings, fake_engine)) as first, \
            TestClient(create_app(settings, fake_engine)) as second:
        _two_workers(first, second, fake_engine, postgres)


def _two_workers(first, second, fake_engine, postgres) -> None:
    passage = fake_engine.index.passages[0].id
    assert first.post("/api/feedback", json={"vote": "down", "passage_ids": [passage],
                                             "concepts": ["lupus"]}).status_code == 201
    assert {"feedback", "feedback_passage", "gap_counts"} <= tables(postgres.url)  # made now
    assert second.post("/api/feedback", json={"vote": "up", "passage_ids": [passage]}
                       ).status_code == 201
    first.post("/api/ask", json={"question": "what is apheresis"})
    second.post("/api/ask", json={"question": "what is apheresis"})
    result = CliRunner().invoke(main, ["feedback", "report", "--db-url", postgres.url])
    assert result.exit_code == 0 and "votes: 2 (1 up, 1 down)" in result.output
    gaps = first.get("/admin/gaps", headers={"authorization": "Bearer tok-123456"}).json()
    cells = {(c["concepts"], c["outcome"]): c["count"] for c in gaps["cells"]}
    assert cells[("lupus", "thumbs_down")] == 1
    assert cells[("apheresis", "answer")] == 2  # both workers' counts in one table
    engine = create_engine(postgres.url)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from feedback where question is not null")
                            ).scalar_one() == 0
    engine.dispose()


def test_the_database_going_away_and_coming_back(fake_engine, settings, postgres):
    with TestClient(create_app(settings, fake_engine)) as client:
        _outage(client, postgres)


def _outage(client, postgres) -> None:
    vote = {"vote": "up", "passage_ids": []}
    assert client.post("/api/feedback", json=vote).status_code == 201
    postgres.stop()
    try:
        refused = client.post("/api/feedback", json=vote)
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "feedback_error"
        assert client.post("/api/ask", json={"question": "what is apheresis"}).status_code == 200
    finally:
        postgres.start()
    assert client.post("/api/feedback", json=vote).status_code == 201  # no restart needed
