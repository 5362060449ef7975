"""Hardening: a named bad-input suite, rate limiting, security headers, metrics, hot-swap."""

from __future__ import annotations

import json
import shutil

import pytest
from fastapi.testclient import TestClient

from qa.server.app import create_app
from qa.indexing.build import run_build
from qa.engine import QAEngine
from qa.indexing.layout import load_index
from tests.conftest import FIXTURE_CORPUS, make_settings
from tests.fakes import HashEmbedder

GOOD = {"question": "what is apheresis?"}


def engine_for(settings, embedder=None) -> QAEngine:
    embedder = embedder or HashEmbedder()
    run_build(settings, embedder=embedder)
    return QAEngine(load_index(settings.index_dir), embedder, settings)


@pytest.fixture
def app_settings(tmp_path):
    return make_settings(tmp_path, rate_limit="off", feedback_db_url=f"sqlite:///{tmp_path}/fb.db",
                         admin_token="secret-admin-token")


@pytest.fixture
def client(app_settings):
    return TestClient(create_app(app_settings, engine_for(app_settings)))


def nested(depth: int) -> bytes:
    return b'{"question": "q", "x": ' + b"[" * depth + b"]" * depth + b"}"


# name, method, path, body (dict → JSON, bytes → raw), headers, expected status
BAD_INPUT = [
    ("empty question", "POST", "/api/ask", {"question": ""}, None, 422),
    ("whitespace question", "POST", "/api/ask", {"question": " \t\n "}, None, 422),
    ("question too long", "POST", "/api/ask", {"question": "a" * 1001}, None, 422),
    ("question at the limit", "POST", "/api/ask", {"question": "a" * 1000}, None, 200),
    ("long after trimming is fine", "POST", "/api/ask", {"question": "  " + "a" * 1000 + "  "}, None, 200),
    ("question is a number", "POST", "/api/ask", {"question": 42}, None, 422),
    ("question is null", "POST", "/api/ask", {"question": None}, None, 422),
    ("question is a list", "POST", "/api/ask", {"question": ["a"]}, None, 422),
    ("question is an object", "POST", "/api/ask", {"question": {"a": 1}}, None, 422),
    ("question is a boolean", "POST", "/api/ask", {"question": True}, None, 422),
    ("missing question", "POST", "/api/ask", {}, None, 422),
    ("body is an array", "POST", "/api/ask", b"[]", None, 422),
    ("body is a string", "POST", "/api/ask", b'"what is MSC"', None, 422),
    ("body is a number", "POST", "/api/ask", b"12", None, 422),
    ("empty body", "POST", "/api/ask", b"", None, 422),
    ("invalid JSON", "POST", "/api/ask", b"{question: what}", None, 422),
    ("truncated JSON", "POST", "/api/ask", b'{"question": "what is', None, 422),
    ("invalid UTF-8", "POST", "/api/ask", b'{"question": "\xff\xfe\xfa"}', None, 400),
    ("overlong UTF-8 encoding", "POST", "/api/ask", b'{"question": "\xc0\xaf"}', None, 400),
    ("deeply nested JSON", "POST", "/api/ask", nested(5000), None, 400),
    ("nesting just past the limit", "POST", "/api/ask", nested(40), None, 400),
    ("moderate nesting in an unknown field", "POST", "/api/ask", nested(10), None, 200),
    ("unknown fields ignored", "POST", "/api/ask", {"question": "what is MSC", "lang": "en"}, None, 200),
    ("duplicate keys: last wins", "POST", "/api/ask", b'{"question": "", "question": "what is MSC"}', None, 200),
    ("NUL characters stripped", "POST", "/api/ask", {"question": "what\x00 is\x00 apheresis"}, None, 200),
    ("only control characters", "POST", "/api/ask", {"question": "\x00\x01\x02\x7f"}, None, 422),
    ("only zero-width characters", "POST", "/api/ask", {"question": "\u200b\u200c\u200d\ufeff"}, None, 422),
    ("fullwidth text normalised", "POST", "/api/ask", {"question": "ｗｈａｔ ｉｓ ａｐｈｅｒｅｓｉｓ"}, None, 200),
    ("right-to-left override", "POST", "/api/ask", {"question": "\u202ewhat is apheresis"}, None, 200),
    ("emoji and symbols", "POST", "/api/ask", {"question": "🧬 stem cells?? ✨"}, None, 200),
    ("script payload is just text", "POST", "/api/ask", {"question": "<script>alert(1)</script>"}, None, 200),
    ("SQL-looking text", "POST", "/api/ask", {"question": "'; DROP TABLE feedback; --"}, None, 200),
    ("body over the size limit", "POST", "/api/ask", {"question": "a" * 20_000}, None, 413),
    ("declared length over the limit", "POST", "/api/ask", b"{}", {"content-length": "999999"}, 413),
    ("non-numeric content-length", "POST", "/api/ask", b"{}", {"content-length": "abc"}, 400),
    ("form-encoded body", "POST", "/api/ask", b"question=hello", {"content-type": "application/x-www-form-urlencoded"}, 422),
    ("plain-text body", "POST", "/api/ask", b"what is MSC", {"content-type": "text/plain"}, 422),
    ("GET on the ask endpoint", "GET", "/api/ask", None, None, 405),
    ("PUT on the ask endpoint", "PUT", "/api/ask", GOOD, None, 405),
    ("unknown API route", "GET", "/api/unknown", None, None, 404),
    ("path traversal", "GET", "/static/../qa/settings.py", None, None, 404),
    ("encoded path traversal", "GET", "/static/%2e%2e/%2e%2e/pyproject.toml", None, None, 404),
    ("encoded slash traversal", "GET", "/static/..%2f..%2fpyproject.toml", None, None, 404),
    ("absolute path in static", "GET", "/static//etc/passwd", None, None, 404),
    ("feedback with an invalid vote", "POST", "/api/feedback", {"vote": "maybe", "passage_ids": ["x"]}, None, 422),
    ("feedback with a wrong type", "POST", "/api/feedback", {"vote": "up", "passage_ids": "notalist"}, None, 422),
    ("huge header", "GET", "/healthz", None, {"x-filler": "a" * 20_000}, 431),
    ("many headers", "GET", "/healthz", None, {f"x-h{i}": "b" * 200 for i in range(100)}, 431),
    ("admin reload without a token", "POST", "/admin/reload", b"", None, 401),
    ("admin reload with a wrong token", "POST", "/admin/reload", b"", {"authorization": "Bearer nope"}, 401),
]


@pytest.mark.parametrize("name, method, path, body, headers, status", BAD_INPUT,
                         ids=[case[0] for case in BAD_INPUT])
def test_bad_input(client, name, method, path, body, headers, status):
    headers = dict(headers or {})
    if isinstance(body, dict):
        content = json.dumps(body).encode()
        headers.setdefault("content-type", "application/json")
    else:
        content = body
        if body is not None:
            headers.setdefault("content-type", "application/json")
    response = client.request(method, path, content=content, headers=headers)
    assert response.status_code == status, (name, response.text[:300])
    if status >= 400 and path.startswith(("/api", "/admin")):
        error = response.json()["error"]
        assert set(error) == {"code", "message"} and error["message"]


def test_chunked_body_over_the_limit_is_refused(client):
    def chunks():
        for _ in range(40):
            yield b"x" * 1024

    response = client.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"


# --- rate limiting ----------------------------------------------------------------------------

def limited_client(tmp_path, **overrides) -> TestClient:
    settings = make_settings(tmp_path, feedback_db_url=f"sqlite:///{tmp_path}/fb.db", **overrides)
    return TestClient(create_app(settings, engine_for(settings)))


def test_rate_limit_returns_429_with_retry_after(tmp_path):
    client = limited_client(tmp_path, rate_limit="3/minute")
    for _ in range(3):
        assert client.post("/api/ask", json=GOOD).status_code == 200
    refused = client.post("/api/ask", json=GOOD)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"
    assert client.get("/healthz").status_code == 200  # only question endpoints are limited
    metrics = client.get("/metrics").text
    assert "qa_rate_limited_total 1.0" in metrics


def test_rate_limit_can_be_switched_off(tmp_path):
    client = limited_client(tmp_path, rate_limit="off")
    assert all(client.post("/api/ask", json=GOOD).status_code == 200 for _ in range(40))


def test_widget_sessions_are_limited_separately_under_an_ip_ceiling(tmp_path):
    client = limited_client(tmp_path, rate_limit="2/minute", rate_limit_per_ip="5/minute")
    for session in ("session-aaaaaaaa", "session-bbbbbbbb"):
        headers = {"x-qa-session": session}
        assert [client.post("/api/ask", json=GOOD, headers=headers).status_code
                for _ in range(3)] == [200, 200, 429]
    rotated = [client.post("/api/ask", json=GOOD, headers={"x-qa-session": f"rotating-{i:08d}"})
               for i in range(3)]
    assert [r.status_code for r in rotated] == [200, 429, 429]  # the IP ceiling of 5 holds


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(tmp_path):
    untrusted = limited_client(tmp_path / "a", rate_limit="1/minute")
    assert untrusted.post("/api/ask", json=GOOD, headers={"x-forwarded-for": "1.1.1.1"}).status_code == 200
    spoofed = untrusted.post("/api/ask", json=GOOD, headers={"x-forwarded-for": "2.2.2.2"})
    assert spoofed.status_code == 429  # the spoofed header did not create a new client

    trusted = limited_client(tmp_path / "b", rate_limit="1/minute", trusted_proxies=["testclient"])
    assert trusted.post("/api/ask", json=GOOD, headers={"x-forwarded-for": "1.1.1.1"}).status_code == 200
    assert trusted.post("/api/ask", json=GOOD, headers={"x-forwarded-for": "2.2.2.2"}).status_code == 200
    assert trusted.post("/api/ask", json=GOOD, headers={"x-forwarded-for": "2.2.2.2"}).status_code == 429


# --- headers, metrics, readiness ----------------------------------------------------------------

def test_html_pages_carry_security_headers(client):
    for path in ("/", "/demo"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"]
        assert "set-cookie" not in response.headers


def test_json_responses_carry_nosniff_and_a_request_id(client):
    response = client.post("/api/ask", json=GOOD, headers={"x-request-id": "abc-123"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32


def test_readyz_reports_the_manifest(client):
    data = client.get("/readyz").json()
    assert data["status"] == "ready" and data["manifest"]["passages"] > 0


def test_metrics_count_requests_answers_and_triage(client):
    client.post("/api/ask", json=GOOD)
    client.post("/api/ask", json={"question": ""})
    text = client.get("/metrics").text
    assert 'qa_http_requests_total{method="POST",route="/api/ask",status="200"} 1.0' in text
    assert 'qa_http_requests_total{method="POST",route="/api/ask",status="422"} 1.0' in text
    assert 'qa_answers_total{kind="answer"} 1.0' in text
    assert 'qa_triage_total{category="general"} 1.0' in text
    assert "qa_http_request_duration_seconds_bucket" in text
    assert "qa_index_passages" in text and "qa_index_size_bytes" in text


def test_logs_never_contain_the_question(client, caplog):
    caplog.set_level("INFO", logger="qa")
    client.post("/api/ask", json={"question": "my private diagnosis details apheresis"})
    assert caplog.records
    assert all("private diagnosis" not in r.getMessage() + json.dumps(r.__dict__, default=str)
               for r in caplog.records)


# --- hot swap ---------------------------------------------------------------------------------

def test_admin_reload_swaps_in_a_new_build_without_a_restart(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    settings = make_settings(tmp_path, corpus=[corpus], rate_limit="off",
                             feedback_db_url=f"sqlite:///{tmp_path}/fb.db", admin_token="tok-123456")
    embedder = HashEmbedder()
    client = TestClient(create_app(settings, engine_for(settings, embedder)))
    before = client.get("/readyz").json()["manifest"]["passages"]
    (corpus / "new.md").write_text("---\nid: new-doc\ntitle: Zebrafish regeneration\n---\n"
                                   "## Zebrafish\nZebrafish regrow fins, which is why researchers "
                                   "study zebrafish regeneration in laboratories.\n")
    run_build(settings, embedder=embedder)
    auth = {"authorization": "Bearer tok-123456"}
    result = client.post("/admin/reload", headers=auth)
    assert result.status_code == 200 and result.json()["reloaded"] is True
    assert client.get("/readyz").json()["manifest"]["passages"] == before + 1
    answer = client.post("/api/ask", json={"question": "zebrafish regeneration fins"}).json()
    assert answer["quotes"][0]["source"]["document_id"] == "new-doc"
    assert client.post("/admin/reload", headers=auth).json()["reloaded"] is False


def test_a_reload_also_reads_the_triage_rules_again(tmp_path, fake_triage_model):
    from qa.engine import QAEngine
    from qa.settings import PACKAGE_DATA

    rules = tmp_path / "red_flags.yaml"
    shutil.copy(PACKAGE_DATA / "red_flags.yaml", rules)
    settings = make_settings(tmp_path, rate_limit="off", feedback_db_url=f"sqlite:///{tmp_path}/fb.db",
                             admin_token="tok-123456", red_flags_file=rules,
                             triage_model_file=fake_triage_model)
    embedder = HashEmbedder()
    run_build(settings, embedder=embedder)
    client = TestClient(create_app(settings, QAEngine.from_settings(settings, embedder=embedder)))
    question = {"question": "my zebrafish tank pump broke"}
    assert client.post("/api/ask", json=question).json()["kind"] != "emergency"
    rules.write_text(rules.read_text().replace("\ngrave:\n", "\ngrave:\n  - zebrafish tank\n", 1))
    result = client.post("/admin/reload", headers={"authorization": "Bearer tok-123456"})
    assert result.status_code == 200 and result.json()["reloaded"] is False  # same index
    assert client.post("/api/ask", json=question).json()["kind"] == "emergency"


def test_a_broken_new_build_is_refused_and_the_old_index_keeps_serving(tmp_path):
    settings = make_settings(tmp_path, rate_limit="off", feedback_db_url=f"sqlite:///{tmp_path}/fb.db",
                             admin_token="tok-123456")
    embedder = HashEmbedder()
    client = TestClient(create_app(settings, engine_for(settings, embedder)))
    report = run_build(settings, embedder=embedder)
    (report.path / "embeddings.npy").write_bytes(b"broken")
    result = client.post("/admin/reload", headers={"authorization": "Bearer tok-123456"})
    assert result.status_code == 503 and "rebuild" in result.json()["error"]["message"]
    assert client.post("/api/ask", json=GOOD).status_code == 200


def test_admin_endpoint_is_absent_without_a_configured_token(tmp_path):
    settings = make_settings(tmp_path, rate_limit="off", feedback_db_url=f"sqlite:///{tmp_path}/fb.db")
    client = TestClient(create_app(settings, engine_for(settings)))
    assert client.post("/admin/reload", headers={"authorization": "Bearer x"}).status_code == 404


def test_feedback_database_outage_keeps_answers_flowing_and_logs_once(tmp_path, caplog):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the database directory should be")
    settings = make_settings(tmp_path, rate_limit="off",
                             feedback_db_url=f"sqlite:///{blocker}/feedback.sqlite3")
    client = TestClient(create_app(settings, engine_for(settings)))
    caplog.set_level("INFO", logger="qa")
    vote = {"vote": "up", "passage_ids": ["abc"], "kind": "answer"}
    for _ in range(3):
        response = client.post("/api/feedback", json=vote)
        assert response.status_code == 503 and response.json()["error"]["message"]
    assert client.post("/api/ask", json=GOOD).status_code == 200
    outages = [r for r in caplog.records if "feedback database unavailable" in r.getMessage()]
    assert len(outages) == 1


def test_a_rate_limited_form_post_gets_a_friendly_page_not_json(tmp_path):
    client = limited_client(tmp_path, rate_limit="1/minute")
    form = {"question": "what is apheresis"}
    html_accept = {"accept": "text/html,application/xhtml+xml"}
    assert client.post("/", data=form, headers=html_accept).status_code == 200
    refused = client.post("/", data=form, headers=html_accept)
    assert refused.status_code == 429 and refused.headers["content-type"].startswith("text/html")
    assert "Please wait" in refused.text and "Back to the questions" in refused.text
    assert "<script" not in refused.text
    assert "script-src 'self'" in refused.headers["content-security-policy"]
