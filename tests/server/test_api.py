"""The HTTP API: answers as JSON, one error shape for every failure, health with index identity."""

import pytest
from fastapi.testclient import TestClient

from qa.server.app import create_app


@pytest.fixture
def client(fake_engine):
    return TestClient(create_app(fake_engine.settings, fake_engine))


def test_ask_returns_the_answer_json(client):
    response = client.post("/api/ask", json={"question": "what is apheresis?"})
    assert response.status_code == 200
    data = response.json()
    assert data["kind"] == "answer" and data["quotes"][0]["source"]["document_id"] == "apheresis-test"


def test_unknown_fields_are_ignored(client):
    response = client.post("/api/ask", json={"question": "what is apheresis?", "extra": 1})
    assert response.status_code == 200


@pytest.mark.parametrize("body, status", [
    ({"question": ""}, 422),
    ({"question": "   "}, 422),
    ({"question": "x" * 1001}, 422),
    ({"question": 12}, 422),
    ({}, 422),
    ([], 422),
])
def test_bad_requests_get_the_error_shape(client, body, status):
    response = client.post("/api/ask", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"code", "message"} and error["message"]


def test_invalid_json_gets_the_error_shape(client):
    response = client.post("/api/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422 and "error" in response.json()


def test_unknown_route_gets_the_error_shape(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_healthz_reports_the_index(client, fake_engine):
    data = client.get("/healthz").json()
    assert data["status"] == "ok"
    assert data["index"]["passages"] == len(fake_engine.index.passages)


def test_the_openapi_question_limit_follows_the_setting(fake_engine):
    settings = fake_engine.settings.model_copy(update={"max_question_chars": 321})
    schema = TestClient(create_app(settings, fake_engine)).get("/openapi.json").json()
    question = schema["components"]["schemas"]["AskRequest"]["properties"]["question"]
    assert question["maxLength"] == 321
