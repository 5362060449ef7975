"""The gap report: counts per concepts and outcome per day, never question text; small cells
hidden."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from qa.cli import main
from qa.domain import Answer, Triage
from qa.feedback import FeedbackStore
from qa.gaps import UNRECOGNISED, GapCounter, format_gaps, outcomes
from qa.server.app import create_app

SECRET = "my daughter Zelda Quintrell-Abernathy age 7 has lupus and a rash"


def test_a_reply_counts_under_its_kind_and_its_flags():
    answer = Answer("answer", "", flags=("emergency", "personal_advice"),
                    triage=Triage("personal_advice", "", ("emergency", "personal_advice")))
    assert outcomes(answer) == ["answer", "emergency", "personal_advice"]


def test_counts_add_up_and_small_cells_are_hidden(tmp_path):
    counter = GapCounter(FeedbackStore(f"sqlite:///{tmp_path}/fb.db"), flush_seconds=3600)
    _count_and_report(counter)
    counter.store.close()


def _count_and_report(counter: GapCounter) -> None:
    for _ in range(6):
        counter.count(["lupus", "car-t"], ["no_answer"])
    for _ in range(2):
        counter.count(["fertility"], ["thumbs_down"])
    counter.count([], ["no_answer"])
    cells = counter.report(min_count=5)
    assert [(c.concepts, c.outcome, c.count) for c in cells] == [("car-t + lupus", "no_answer", 6)]
    everything = {(c.concepts, c.outcome): c.count for c in counter.report(min_count=1)}
    assert everything[("fertility", "thumbs_down")] == 2
    assert everything[(UNRECOGNISED, "no_answer")] == 1
    assert format_gaps(cells, 5).startswith("no answer: 6 × {car-t + lupus}")
    assert counter.report(since=date(2999, 1, 1), min_count=1) == []


def test_counts_survive_a_database_outage_in_memory(tmp_path, caplog):
    counter = GapCounter(FeedbackStore(f"sqlite:///{tmp_path}/missing/deeper/fb.db"), 3600)
    counter.store.url = "sqlite:////proc/nowhere/fb.db"  # cannot be created
    counter.count(["lupus"], ["no_answer"])
    with caplog.at_level(logging.ERROR):
        counter.flush()
        counter.flush()
    assert len([r for r in caplog.records if "gap counts" in r.getMessage()]) == 1
    counter.store.url = f"sqlite:///{tmp_path}/fb.db"
    counter.flush()
    assert counter.report(min_count=1)[0].count == 1
    counter.store.close()


def test_no_question_text_reaches_the_database_or_the_logs(fake_engine, tmp_path, caplog):
    url = f"sqlite:///{tmp_path}/fb.db"
    settings = fake_engine.settings.model_copy(update={
        "feedback_db_url": url, "rate_limit": "off", "gap_flush_seconds": 0.0})
    with caplog.at_level(logging.DEBUG), TestClient(create_app(settings, fake_engine)) as client:
        answer = client.post("/api/ask", json={"question": SECRET}).json()
        client.post("/api/feedback", json={"vote": "down", "passage_ids": [],
                                           "concepts": answer["concepts"], "question": SECRET})
        client.post("/", data={"question": SECRET})
    assert "lupus" in answer["concepts"]
    engine = create_engine(url)
    with engine.connect() as conn:
        dumped = [str(row) for table in inspect(engine).get_table_names()
                  for row in conn.execute(text(f"select * from {table}"))]
    engine.dispose()
    assert any("lupus" in row for row in dumped)  # the concept was counted
    assert not any("Zelda" in row or "Quintrell" in row for row in dumped)
    assert not any("Zelda" in r.getMessage() or "Zelda" in str(r.__dict__) for r in caplog.records)


def test_admin_gaps_needs_the_token_and_hides_small_cells(fake_engine, tmp_path):
    settings = fake_engine.settings.model_copy(update={
        "feedback_db_url": f"sqlite:///{tmp_path}/fb.db", "rate_limit": "off",
        "admin_token": "tok-123456", "gap_min_count": 2, "gap_flush_seconds": 0.0})
    with TestClient(create_app(settings, fake_engine)) as client:
        for _ in range(3):
            client.post("/api/ask", json={"question": "is aHSCT for lupus experimental"})
        client.post("/api/ask", json={"question": "what is apheresis"})
        assert client.get("/admin/gaps").status_code == 401
        data = client.get("/admin/gaps", headers={"authorization": "Bearer tok-123456"}).json()
    assert data["min_count"] == 2 and data["cells"]
    assert all(cell["count"] >= 2 for cell in data["cells"])
    assert any("lupus" in cell["concepts"] for cell in data["cells"])


def test_qa_report_gaps_prints_the_counts(tmp_path):
    url = f"sqlite:///{tmp_path}/fb.db"
    counter = GapCounter(FeedbackStore(url), 3600, clock=datetime)
    for _ in range(5):
        counter.count(["cost"], ["no_answer"])
    counter.flush()
    counter.store.close()
    today = datetime.now(UTC).date().isoformat()
    result = CliRunner().invoke(main, ["report", "gaps", "--db-url", url, "--since", today])
    assert result.exit_code == 0 and "no answer: 5 × {cost}" in result.output
