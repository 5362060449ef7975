"""The web layer without a browser: no-JS pages, origin policy (CORS, Origin, frame-ancestors),
feedback storage and report. Fast: the fixture corpus and the fake embedder."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import create_engine, text

from qa.server.app import create_app
from qa.cli import main
from qa.feedback import FeedbackStore
from qa.server.security import OriginPolicy
from qa.settings import normalise_origin
from qa.settings import Settings
from qa.server.pages import highlight_segments, readable_on, safe_next

ALLOWED = "https://clinic.example"
OTHER = "https://evil.example"
XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def web_settings(settings: Settings, tmp_path: Path, **overrides) -> Settings:
    values = {"allowed_origins": [ALLOWED],
              "feedback_db_url": f"sqlite:///{tmp_path / 'var' / 'feedback.sqlite3'}"}
    values.update(overrides)
    return settings.model_copy(update=values)


@pytest.fixture
def settings(fake_engine, tmp_path) -> Settings:
    return web_settings(fake_engine.settings, tmp_path)


@pytest.fixture
def client(settings, fake_engine) -> TestClient:
    with TestClient(create_app(settings, fake_engine)) as test_client:
        yield test_client


def rows(url: str, query: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(query))]
    finally:
        engine.dispose()


# --- pages without JavaScript ------------------------------------------------------------------

def test_no_js_post_renders_quotes_and_escapes_the_question(client):
    response = client.post("/", data={"question": "what is apheresis? " + XSS})
    assert response.status_code == 200
    html = response.text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "<script>alert(2)" not in html and "<img src=x" not in html
    assert html.count('<blockquote class="quote__text"') >= 1
    assert "<mark>Apheresis is a procedure" in html
    assert 'href="https://example.org/apheresis"' in html
    assert "Reviewed <time datetime=\"2024-06-01\">1 June 2024</time>" in html
    assert "Evidence: Background explainer" in html
    assert "not medical advice" in html
    assert re.search(r'name="passage_ids" value="[0-9a-f]{16}( [0-9a-f]{16})*"', html)


def test_no_js_starter_button_asks_its_question(client, fake_engine):
    response = client.post("/", data={"question": "", "starter": "what is apheresis?"})
    assert response.status_code == 200
    expected = fake_engine.ask("what is apheresis?").quotes[0].passage_id
    assert f'data-passage-id="{expected}"' in response.text


def test_no_js_empty_question_shows_an_error_on_the_page(client):
    response = client.post("/", data={"question": "   "})
    assert response.status_code == 422
    assert 'class="composer__error" role="alert"' in response.text
    assert 'aria-invalid="true"' in response.text


def test_no_answer_reply_helps(client):
    response = client.post("/", data={"question": "zzz qqq"})
    assert 'data-kind="no_answer"' in response.text
    assert "Try one of these questions" in response.text
    assert "https://clinicaltrials.gov/" in response.text


def test_embed_no_js_post_keeps_its_configuration(client):
    response = client.post("/embed?title=Clinic+help&mode=inline", data={"question": "apheresis"})
    assert response.status_code == 200
    assert '<h1 class="panel__title">Clinic help</h1>' in response.text
    assert 'action="/embed?title=Clinic+help&amp;color=%230b5d7a&amp;mode=inline"' in response.text
    assert "<blockquote" in response.text


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not names.get("src") and names.get("type") != "application/json":
            self.problems.append("inline script")
        if "style" in names:
            self.problems.append(f"style attribute on <{tag}>")
        self.problems += [f"{n} handler on <{tag}>" for n in names if n.startswith("on")]
        if tag == "style":
            self.problems.append("<style> element")


@pytest.mark.parametrize("path", ["/", "/embed?title=T&starter=a", "/demo"])
def test_pages_need_no_inline_script_or_style(client, path):
    response = client.get(path)
    assert response.status_code == 200
    parser = _Markup()
    parser.feed(response.text)
    assert parser.problems == []
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_page_answer_after_post_is_escaped_in_embed_title_and_greeting(client):
    response = client.get("/embed", params={"title": XSS, "greeting": XSS, "starter": XSS})
    assert "<script>alert(2)" not in response.text
    assert response.text.count("&lt;script&gt;alert(2)&lt;/script&gt;") >= 3


def test_widget_script_and_static_files_are_served(client):
    script = client.get("/widget.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "attachShadow" in script.text and "innerHTML" not in script.text
    assert client.get("/static/chat.js").status_code == 200
    assert "innerHTML" not in client.get("/static/chat.js").text
    assert client.get("/static/chat.css").status_code == 200


# --- origins -------------------------------------------------------------------------------------

def test_cors_preflight_and_request_from_an_allowed_origin(client):
    preflight = client.options("/api/ask", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in preflight.headers["access-control-allow-methods"]
    response = client.post("/api/ask", json={"question": "apheresis"}, headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "Origin" in response.headers["vary"]


def test_cors_refuses_a_disallowed_origin(client):
    preflight = client.options("/api/ask", headers={
        "Origin": OTHER, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    response = client.post("/api/ask", json={"question": "apheresis"}, headers={"Origin": OTHER})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in response.headers
    for origin in ("null", "https://clinic.example.evil.example", "http://clinic.example"):
        assert client.post("/api/ask", json={"question": "x"},
                           headers={"Origin": origin}).status_code == 403


def test_same_origin_and_originless_requests_pass(client):
    same = client.post("/api/ask", json={"question": "apheresis"},
                       headers={"Origin": "http://testserver"})
    assert same.status_code == 200
    assert "access-control-allow-origin" not in same.headers
    assert client.post("/api/ask", json={"question": "apheresis"}).status_code == 200


def test_foreign_origin_cannot_post_forms_either(client):
    assert client.post("/", data={"question": "apheresis"},
                       headers={"Origin": OTHER}).status_code == 403
    assert client.post("/feedback", data={"vote": "up"},
                       headers={"Origin": OTHER}).status_code == 403
    assert client.get("/", headers={"Origin": OTHER}).status_code == 200


def test_embed_frame_ancestors_name_only_allowed_origins(client):
    embed = client.get("/embed")
    assert "frame-ancestors 'self' https://clinic.example" in embed.headers[
        "content-security-policy"]
    assert client.get("/").headers["content-security-policy"].endswith("frame-ancestors 'self'")


def _config(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="qa-config">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


def test_embed_talks_only_to_an_allowed_parent(client):
    assert _config(client.get("/embed", params={"parent": ALLOWED}).text)["parentOrigin"] == ALLOWED
    assert _config(client.get("/embed", params={"parent": OTHER}).text)["parentOrigin"] == ""
    assert _config(client.get("/embed", params={"parent": "http://testserver"}).text)[
        "parentOrigin"] == "http://testserver"


def test_empty_allow_list_means_same_origin_only(fake_settings, fake_engine, tmp_path):
    settings = web_settings(fake_settings, tmp_path, allowed_origins=[])
    with TestClient(create_app(settings, fake_engine)) as client:
        assert client.get("/embed").headers["content-security-policy"].endswith(
            "frame-ancestors 'self'")
        assert client.post("/api/ask", json={"question": "x"},
                           headers={"Origin": ALLOWED}).status_code == 403
        assert client.post("/api/ask", json={"question": "apheresis"},
                           headers={"Origin": "http://testserver"}).status_code == 200


def test_allowed_origins_setting_from_environment(monkeypatch):
    monkeypatch.setenv("QA_ALLOWED_ORIGINS", "https://A.example/, http://b.example:8080,"
                                             "https://a.example:443")
    assert Settings().allowed_origins == ["https://a.example", "http://b.example:8080"]
    monkeypatch.setenv("QA_ALLOWED_ORIGINS", "")
    assert Settings().allowed_origins == []
    for bad in ("a.example", "https://a.example/path", "ftp://a.example", "*"):
        monkeypatch.setenv("QA_ALLOWED_ORIGINS", bad)
        with pytest.raises(ValidationError):
            Settings()


def test_origin_policy_same_origin_rules():
    policy = OriginPolicy(["https://a.example"])
    assert policy.is_same_origin("https://qa.example", "qa.example")
    assert policy.is_same_origin("https://qa.example", "qa.example:443")
    assert policy.is_same_origin("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert not policy.is_same_origin("http://127.0.0.1:8001", "127.0.0.1:8000")
    assert not policy.is_same_origin("null", "qa.example")
    assert policy.is_allowed("https://A.example:443", "qa.example")
    assert normalise_origin("HTTP://[::1]:8000") == "http://[::1]:8000"


# --- feedback ------------------------------------------------------------------------------------

def test_feedback_is_stored_without_the_question_by_default(client, settings):
    response = client.post("/api/feedback", json={
        "vote": "down", "passage_ids": ["p1", "p2"], "kind": "answer", "question": "secret?"})
    assert response.status_code == 201
    assert response.json()["question_stored"] is False
    assert rows(settings.feedback_db_url, "select vote, answer_kind, question from feedback") == [
        ("down", "answer", None)]
    assert rows(settings.feedback_db_url,
                "select passage_id, rank from feedback_passage order by rank") == [
        ("p1", 1), ("p2", 2)]


def test_feedback_keeps_the_question_when_the_operator_opts_in(fake_settings, fake_engine,
                                                                tmp_path):
    settings = web_settings(fake_settings, tmp_path, feedback_store_questions=True)
    with TestClient(create_app(settings, fake_engine)) as client:
        assert client.post("/api/feedback", json={"vote": "up", "passage_ids": ["p1"],
                                                  "question": "what is apheresis?"}
                           ).json()["question_stored"] is True
        page = client.post("/", data={"question": "what is apheresis?"}).text
        assert '<input type="hidden" name="question" value="what is apheresis?">' in page
    assert rows(settings.feedback_db_url, "select question from feedback") == [
        ("what is apheresis?",)]


def test_feedback_form_does_not_carry_the_question_by_default(client):
    page = client.post("/", data={"question": "what is apheresis?"}).text
    assert 'name="question" value="what is apheresis?"' not in page


def test_feedback_rejects_bad_votes_and_ids(client):
    bad_vote = client.post("/api/feedback", json={"vote": "meh", "passage_ids": []})
    assert bad_vote.status_code == 422
    assert bad_vote.json()["error"]["code"] == "invalid_request"
    bad_id = client.post("/api/feedback", json={"vote": "up", "passage_ids": ["<script>"]})
    assert bad_id.status_code == 422


def test_feedback_form_without_javascript(client, settings):
    response = client.post("/feedback", data={"vote": "up", "passage_ids": "a1 b2",
                                              "kind": "answer", "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/?thanks=1"
    assert "Thank you for your feedback" in client.get("/?thanks=1").text
    assert rows(settings.feedback_db_url, "select count(*) from feedback_passage") == [(2,)]
    evil = client.post("/feedback", data={"vote": "up", "next": "//evil.example/"},
                       follow_redirects=False)
    assert evil.headers["location"] == "/?thanks=1"


def test_feedback_report_command(settings):
    store = FeedbackStore(settings.feedback_db_url)
    store.record("down", ["p1", "p2"], "answer")
    store.record("down", ["p1"], "answer")
    store.record("up", ["p2"], "answer")
    store.record("up", [], "no_answer")
    store.close()
    runner = CliRunner()
    result = runner.invoke(main, ["feedback", "report", "--db-url", settings.feedback_db_url,
                                  "--index", str(settings.index_dir)])
    assert result.exit_code == 0, result.output
    assert "votes: 4 (2 up, 2 down), 50% helpful" in result.output
    assert "answer: 1 up, 2 down" in result.output and "no_answer: 1 up, 0 down" in result.output
    lines = result.output.splitlines()
    first = lines.index("most down-voted passages:")
    assert lines[first + 1].split()[:5] == ["2", "down", "0", "up", "p1"]
    assert lines[first + 2].split()[:5] == ["1", "down", "1", "up", "p2"]
    as_json = runner.invoke(main, ["feedback", "report", "--db-url", settings.feedback_db_url,
                                   "--json"])
    assert json.loads(as_json.output)["most_down_voted"][0] == {"passage_id": "p1", "down": 2,
                                                                 "up": 0}


def test_feedback_report_labels_passages_from_the_index(client, settings, fake_engine):
    passage = fake_engine.index.passages[0]
    client.post("/api/feedback", json={"vote": "down", "passage_ids": [passage.id]})
    result = CliRunner().invoke(main, ["feedback", "report", "--db-url",
                                       settings.feedback_db_url, "--index",
                                       str(settings.index_dir)])
    assert f"{passage.document_id} › {passage.section}" in result.output


def test_feedback_report_on_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = CliRunner().invoke(main, ["feedback", "report", "--db-url", url])
    assert result.exit_code == 0
    assert "votes: 0 (0 up, 0 down)" in result.output


def test_feedback_report_bad_url_is_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["feedback", "report", "--db-url", "nosuchdb://x"])
    assert result.exit_code == 1
    assert result.output.startswith("error: ")


# --- helpers -------------------------------------------------------------------------------------

def test_highlight_segments_merge_and_clamp():
    assert highlight_segments("abcdef", [[4, 99], [0, 2], [1, 3]]) == [
        ("abc", True), ("d", False), ("ef", True)]
    assert highlight_segments("abc", []) == [("abc", False)]
    assert highlight_segments("abc", [[2, 1]]) == [("abc", False)]


def test_readable_on_always_reaches_aa():
    def luminance(hex_: str) -> float:
        values = [int(hex_[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in values]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    for color in ("#0b5d7a", "#ffd700", "#777777", "#767676", "#2f5d50", "#ff0000", "#000000"):
        a, b = sorted((luminance(color), luminance(readable_on(color))))
        assert (b + 0.05) / (a + 0.05) >= 4.5, color


def test_safe_next_stays_on_this_site():
    assert safe_next("/embed?x=1") == "/embed?x=1"
    for bad in ("//evil.example", "https://evil.example", "/\\evil", "", None):
        assert safe_next(bad) == "/"
