"""The chat page and the embeddable widget in a real browser (Debian's Chromium via Playwright).

One real uvicorn server runs the app with the real engine (real corpus, real model); two static
servers on other ports play third-party sites: one on the operator's allow-list, one not. Every
wait is bounded. These tests never skip: without /usr/bin/chromium they fail with a clear message
(CI installs it with apt-get).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import create_engine, text

from qa.server.app import create_app
from qa.feedback import FeedbackStore
from tests.browser_support import (CONTRAST_JS, LAYOUT_JS, MISSING_CHROMIUM, StaticHost,
                                   UvicornThread, host_page, launch_chromium)

pytestmark = [pytest.mark.browser, pytest.mark.model]

TIMEOUT_MS = 20_000
ANSWER_TIMEOUT_MS = 30_000
QUESTION = "What is aHSCT for multiple sclerosis?"
EMERGENCY = ("I had a stem cell infusion yesterday and now I have crushing chest pain and "
             "cannot breathe")
XSS = ('<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
       '<svg onload="window.__xss=3"></svg>')
HOSTILE_CSS = """
* { all: unset; font-size: 40px !important; color: red !important; }
html { font-size: 40px !important; }
div, iframe, button { display: inline !important; width: 5px !important; }
button { line-height: 3 !important; }
[data-stemcell-qa] { transform: translateX(-5000px) !important; opacity: 0.1 !important; }
"""
WIDGET_ATTRS = {
    "title": "Clinic questions",
    "greeting": "Hello from the clinic widget.",
    "starters": "What is aHSCT for multiple sclerosis?|Are stem cell clinics abroad safe?",
    "color": "#2f5d50",
    "position": "bottom-right",
    "launcher-label": "Questions?",
}


# --- servers and browser -----------------------------------------------------------------------

@pytest.fixture(scope="session")
def servers(real_engine, real_index_settings, tmp_path_factory) -> Iterator[SimpleNamespace]:
    allowed, blocked = StaticHost().start(), StaticHost().start()
    db = tmp_path_factory.mktemp("feedback") / "feedback.sqlite3"
    settings = real_index_settings.model_copy(update={
        "allowed_origins": [allowed.origin], "feedback_db_url": f"sqlite:///{db}"})
    FeedbackStore(settings.feedback_db_url).database()  # create the schema before tests read it
    app = UvicornThread(create_app(settings, real_engine)).start()
    widget = f"{app.origin}/widget.js"
    for host in (allowed, blocked):
        host.pages.update({
            "/plain.html": host_page(None),
            "/widget.html": host_page(widget, WIDGET_ATTRS),
            "/open.html": host_page(widget, {**WIDGET_ATTRS, "open": "true"}),
            "/hostile.html": host_page(widget, WIDGET_ATTRS, css=HOSTILE_CSS),
            "/inline.html": host_page(widget, {**WIDGET_ATTRS, "target": "#qa-inline"},
                                      inline_target=True),
            "/xss.html": host_page(widget, {"title": XSS, "greeting": XSS, "starters": XSS}),
        })
    try:
        yield SimpleNamespace(app=app.origin, allowed=allowed.origin, blocked=blocked.origin,
                              db_url=settings.feedback_db_url, engine=real_engine)
    finally:
        app.stop()
        allowed.stop()
        blocked.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    if not Path("/usr/bin/chromium").exists():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def _new_page(browser, **context_options):
    context = browser.new_context(**context_options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    return context, page


@pytest.fixture
def page(browser):
    context, page = _new_page(browser, viewport={"width": 1280, "height": 800})
    yield page
    context.close()


@pytest.fixture
def mobile(browser):
    context, page = _new_page(browser, viewport={"width": 375, "height": 740}, is_mobile=True,
                              has_touch=True)
    yield page
    context.close()


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


# --- helpers -------------------------------------------------------------------------------------

def ask(scope, question: str, submit: str = "Enter"):
    """Type a question into the composer of a page or frame and wait for one more answer."""
    answers = scope.locator("#transcript .answer")
    before = answers.count()
    box = scope.locator("#question")
    box.fill(question)
    if submit == "Enter":
        box.press("Enter")
    else:
        scope.locator(".composer__send").click()
    expect()(answers).to_have_count(before + 1, timeout=ANSWER_TIMEOUT_MS)
    return answers.nth(before)


def assert_full_answer(answer) -> None:
    """Block quotes with highlights, a linked source, reviewed date, evidence, a disclaimer."""
    expect()(answer.locator(".quote").first).to_be_visible()
    assert answer.locator("blockquote.quote__text").count() >= 1
    assert answer.locator("blockquote mark").count() >= 1
    link = answer.locator("a.quote__title").first
    assert re.match(r"https?://", link.get_attribute("href") or "")
    expect()(answer.locator(".quote__reviewed time").first).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    expect()(answer.locator(".evidence").first).to_contain_text("Evidence:")
    expect()(answer.locator(".disclaimer").first).to_be_visible()
    expect()(answer.locator(".disclaimer").first).to_contain_text("not medical advice")


def assert_emergency_first(answer, number: str) -> None:
    expect()(answer).to_have_attribute("data-kind", "emergency")
    first = answer.locator(":scope > *").first
    expect()(first).to_have_class(re.compile(r"\bemergency\b"))
    expect()(first).to_have_attribute("role", "alert")
    expect()(first).to_be_visible()
    expect()(first).to_contain_text(number)


def widget_host(page):
    return page.locator("[data-stemcell-qa]")


def launcher(page):
    return page.locator("[data-stemcell-qa] button.launcher")


def widget_panel(page):
    return page.locator("[data-stemcell-qa] .panel")


def widget_frame(page):
    return page.frame_locator("[data-stemcell-qa] iframe")


def shadow_active_class(page) -> str | None:
    return page.evaluate("""() => {
        const host = document.querySelector('[data-stemcell-qa]');
        const active = host && host.shadowRoot && host.shadowRoot.activeElement;
        return active ? active.className : null;
    }""")


def wait_for(page, predicate, timeout: float = TIMEOUT_MS / 1000, message: str = "condition"):
    """Poll `predicate` while letting Playwright process browser events (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def embed_frame(page):
    """The Frame object of the widget's iframe (for evaluate)."""
    return wait_for(page, lambda: next((f for f in page.frames if "/embed" in f.url), None),
                    message="the widget's /embed frame")


def feedback_rows(url: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "select f.id, f.vote, f.question, group_concat(p.passage_id, ' ') "
                "from feedback f left join feedback_passage p on p.feedback_id = f.id "
                "group by f.id order by f.id"))]
    finally:
        engine.dispose()


def focus_is_visible(scope, js_active: str = "document.activeElement") -> bool:
    return scope.evaluate(f"""() => {{
        const el = {js_active};
        if (!el) return false;
        const s = getComputedStyle(el);
        return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
            || (s.boxShadow && s.boxShadow !== 'none');
    }}""")


# --- the chat page -------------------------------------------------------------------------------

def test_page_answers_with_quotes_sources_and_disclaimer(page, servers):
    page.goto(servers.app + "/")
    expect()(page.get_by_role("log")).to_be_attached()
    expect()(page.get_by_label("Your question")).to_be_visible()
    answer = ask(page, QUESTION)
    assert_full_answer(answer)
    expect()(page.locator("#question")).to_be_focused()
    assert page.locator("#transcript").get_attribute("aria-live") == "polite"
    # the JS answer matches the engine's quotes, in order
    expected = [q.passage_id for q in servers.engine.ask(QUESTION).quotes]
    shown = answer.locator(".quote").evaluate_all(
        "els => els.map(e => e.getAttribute('data-passage-id'))")
    assert shown == expected
    assert page.console_errors == []  # includes CSP violations


def test_page_keeps_the_conversation_and_new_chat_clears_it(page, servers):
    page.goto(servers.app + "/")
    page.locator(".intro .chip").first.click()
    expect()(page.locator("#transcript .answer")).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    page.reload()
    expect()(page.locator("#transcript .answer")).to_have_count(1)
    expect()(page.locator("#transcript .question")).to_contain_text(
        page.locator(".intro .chip").first.inner_text())
    page.get_by_role("link", name="New chat").click()
    expect()(page.locator("#transcript .answer")).to_have_count(0)
    expect()(page.locator("#question")).to_be_focused()
    page.reload()
    expect()(page.locator("#transcript .answer")).to_have_count(0)


def test_page_emergency_reply_comes_first(page, servers):
    page.goto(servers.app + "/")
    answer = ask(page, EMERGENCY)
    assert_emergency_first(answer, servers.engine.settings.emergency_number)
    expect()(answer.locator(".emergency a[href^='tel:']")).to_be_visible()


def test_page_no_answer_reply_helps(page, servers):
    page.goto(servers.app + "/")
    answer = ask(page, "qwzx vbnm plokij")
    kind = answer.get_attribute("data-kind")
    assert kind in ("no_answer", "out_of_scope")
    expect()(answer.locator(".help .chip").first).to_be_visible()
    answer.locator(".help .chip").first.click()
    expect()(page.locator("#transcript .answer")).to_have_count(2, timeout=ANSWER_TIMEOUT_MS)


def test_page_xss_question_is_text_and_never_runs(page, servers):
    page.goto(servers.app + "/")
    ask(page, XSS)
    expect()(page.locator("#transcript .question").last).to_contain_text('<img src=x onerror=')
    assert page.locator("#transcript img, #transcript script, #transcript svg[onload]").count() == 0
    assert page.evaluate("window.__xss") is None
    page.reload()  # re-rendered from sessionStorage
    expect()(page.locator("#transcript .question").last).to_contain_text("<script>")
    assert page.evaluate("window.__xss") is None


def test_page_keyboard_only(page, servers):
    page.goto(servers.app + "/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the question box")
    expect()(skip).to_be_focused()
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    expect()(page.locator("#question")).to_be_focused()
    assert focus_is_visible(page)
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    expect()(page.locator("#transcript .answer")).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    # back into the answer with Shift+Tab, to the feedback buttons, and vote
    for _ in range(60):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.matches('.feedback__button[value=down]')"):
            break
    else:
        raise AssertionError("the feedback buttons are not reachable with the keyboard")
    assert focus_is_visible(page)
    before = len(feedback_rows(servers.db_url))
    page.keyboard.press("Space")
    expect()(page.locator(".feedback__status").last).to_have_text("Thank you for your feedback.")
    rows = feedback_rows(servers.db_url)
    assert len(rows) == before + 1
    _, vote, question, passages = rows[-1]
    assert vote == "down" and question is None
    assert passages.split() == [q.passage_id for q in servers.engine.ask(QUESTION).quotes]


def ask_without_javascript(page, base: str, question: str) -> None:
    page.goto(base + "/")
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Send").click()


def test_page_without_javascript(browser, servers):
    context, page = _new_page(browser, java_script_enabled=False,
                              viewport={"width": 1280, "height": 800})
    try:
        ask_without_javascript(page, servers.app, QUESTION)
        answer = page.locator("#transcript .answer")
        expect()(answer).to_have_count(1)
        assert_full_answer(answer)
        shown = answer.locator(".quote").evaluate_all(
            "els => els.map(e => e.getAttribute('data-passage-id'))")
        api = httpx.post(servers.app + "/api/ask", json={"question": QUESTION}, timeout=30).json()
        assert shown == [q["passage_id"] for q in api["quotes"]]  # the same answer as the API
        # starter buttons and feedback are plain form submissions too
        page.locator(".intro .chip").nth(1).click()
        expect()(page.locator("#transcript .question")).to_contain_text(
            page.locator(".intro .chip").nth(1).inner_text())
        page.locator(".feedback__button[value=up]").first.click()
        expect()(page.locator(".notice")).to_have_text("Thank you for your feedback.")
        # and the XSS payload is text there as well
        page.get_by_label("Your question").fill(XSS)
        page.get_by_role("button", name="Send").click()
        expect()(page.locator("#transcript .question")).to_contain_text("<script>")
        assert page.locator("#transcript img").count() == 0
    finally:
        context.close()


def test_page_responsive_320_and_contrast_light_and_dark(browser, servers):
    for scheme in ("light", "dark"):
        context, page = _new_page(browser, viewport={"width": 320, "height": 640},
                                  color_scheme=scheme)
        try:
            page.goto(servers.app + "/")
            ask(page, QUESTION)
            page.locator(".feedback__button[value=up]").last.focus()
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"horizontal scroll at 320px ({scheme}): {overflow}px"
            assert page.evaluate(CONTRAST_JS) == [], scheme
            ask(page, EMERGENCY)  # the emergency box too
            assert page.evaluate(CONTRAST_JS) == [], scheme
        finally:
            context.close()


# --- the widget on another origin ------------------------------------------------------------

def test_widget_on_a_cross_origin_page_answers(page, servers):
    page.goto(servers.allowed + "/widget.html")
    button = page.get_by_role("button", name=re.compile(r"Questions\? – Clinic questions"))
    expect()(button).to_be_visible()
    expect()(button).to_have_attribute("aria-expanded", "false")
    button.click()
    expect()(button).to_have_attribute("aria-expanded", "true")
    frame = widget_frame(page)
    expect()(frame.locator(".panel__title")).to_have_text("Clinic questions")
    expect()(frame.locator(".greeting")).to_contain_text("Hello from the clinic widget.")
    expect()(frame.locator(".greeting .chip")).to_have_count(2)
    expect()(frame.locator("#question")).to_be_focused()  # focus moved into the panel
    answer = ask(frame, QUESTION)
    assert_full_answer(answer)
    # the colour came through (computed contrast-safe text colour on it)
    assert frame.locator(".panel__header").evaluate(
        "e => getComputedStyle(e).backgroundColor") == "rgb(47, 93, 80)"
    # the conversation survives navigation (sessionStorage), and "new chat" clears it
    page.reload()
    expect()(widget_panel(page)).to_be_visible()  # it stays open across pages of the site
    frame = widget_frame(page)
    expect()(frame.locator("#transcript .answer")).to_have_count(1)
    frame.get_by_role("link", name="New chat").click()
    expect()(frame.locator("#transcript .answer")).to_have_count(0)
    assert page.console_errors == []


def test_widget_emergency_reply_comes_first(page, servers):
    page.goto(servers.allowed + "/open.html")
    expect()(widget_panel(page)).to_be_visible()
    answer = ask(widget_frame(page), EMERGENCY)
    assert_emergency_first(answer, servers.engine.settings.emergency_number)


def test_widget_keyboard_only_escape_and_focus_return(page, servers):
    page.goto(servers.allowed + "/widget.html")
    for _ in range(10):
        page.keyboard.press("Tab")
        if shadow_active_class(page) == "launcher":
            break
    else:
        raise AssertionError("the launcher is not reachable with Tab")
    assert focus_is_visible(page, "document.querySelector('[data-stemcell-qa]')"
                                  ".shadowRoot.activeElement")
    page.keyboard.press("Enter")
    frame = embed_frame(page)
    wait_for(page, lambda: frame.evaluate("document.activeElement && document.activeElement.id")
             == "question", message="focus in the panel's question box")
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    expect()(widget_frame(page).locator("#transcript .answer")).to_have_count(
        1, timeout=ANSWER_TIMEOUT_MS)
    page.keyboard.press("Escape")
    expect()(widget_panel(page)).to_be_hidden()
    wait_for(page, lambda: shadow_active_class(page) == "launcher",
             message="focus back on the launcher")
    expect()(launcher(page)).to_have_attribute("aria-expanded", "false")
    # the close button inside the panel works the same way
    page.keyboard.press("Enter")
    close = widget_frame(page).get_by_role("button", name="Close chat")
    expect()(close).to_be_visible()
    close.click()
    expect()(widget_panel(page)).to_be_hidden()
    wait_for(page, lambda: shadow_active_class(page) == "launcher",
             message="focus back on the launcher")


def test_widget_survives_a_hostile_host_page(page, servers):
    page.goto(servers.allowed + "/hostile.html")
    button = launcher(page)
    expect()(button).to_be_visible()
    box = button.bounding_box()
    assert box and 80 <= box["width"] <= 320 and 44 <= box["height"] <= 60, box
    assert box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 800, box
    style = button.evaluate("e => [getComputedStyle(e).fontSize, getComputedStyle(e).color,"
                            " getComputedStyle(e).opacity]")
    assert style[0] == "16px" and style[1] != "rgb(255, 0, 0)", style
    assert widget_host(page).evaluate("e => getComputedStyle(e).opacity") == "1"
    button.click()
    panel = widget_panel(page).bounding_box()
    assert panel and 360 <= panel["width"] <= 400 and panel["height"] >= 400, panel
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 1280, panel
    frame = widget_frame(page)
    expect()(frame.locator("#question")).to_be_visible()
    assert frame.locator("body").evaluate("e => getComputedStyle(e).fontSize") == "15px"
    answer = ask(frame, QUESTION)
    assert_full_answer(answer)


def test_widget_does_not_change_the_host_page(page, servers):
    page.goto(servers.allowed + "/plain.html")
    plain = page.evaluate(LAYOUT_JS)
    plain_globals = set(page.evaluate("Object.keys(window)"))
    page.goto(servers.allowed + "/widget.html")
    expect()(launcher(page)).to_be_visible()
    assert page.evaluate(LAYOUT_JS) == plain
    assert set(page.evaluate("Object.keys(window)")) == plain_globals  # no global variables
    launcher(page).click()
    ask(widget_frame(page), QUESTION)
    assert page.evaluate(LAYOUT_JS) == plain
    page.keyboard.press("Escape")
    assert page.evaluate(LAYOUT_JS) == plain


def test_widget_xss_is_text_and_never_runs(page, servers):
    page.goto(servers.allowed + "/xss.html")  # hostile data- attributes
    launcher(page).click()
    frame = widget_frame(page)
    expect()(frame.locator(".panel__title")).to_contain_text("<img src=x")
    expect()(frame.locator(".greeting")).to_contain_text("<script>")
    ask(frame, XSS)
    expect()(frame.locator("#transcript .question").last).to_contain_text("<img src=x onerror=")
    assert frame.locator("#transcript img, #transcript script").count() == 0
    assert page.evaluate("window.__xss") is None
    assert embed_frame(page).evaluate("window.__xss") is None


def test_widget_inline_mode(page, servers):
    page.goto(servers.allowed + "/inline.html")
    assert launcher(page).count() == 0
    frame = widget_frame(page)
    expect()(frame.locator("#question")).to_be_visible()
    expect()(frame.get_by_role("button", name="Close chat")).to_be_hidden()
    box = page.locator("#qa-inline [data-stemcell-qa]").bounding_box()
    assert box and box["height"] >= 500
    ask(frame, QUESTION)


def test_widget_full_screen_on_a_phone(mobile, servers):
    mobile.goto(servers.allowed + "/widget.html")
    launcher(mobile).click()
    expect()(widget_frame(mobile).locator("#question")).to_be_visible()
    box = widget_panel(mobile).bounding_box()
    assert box == {"x": 0, "y": 0, "width": 375, "height": 740}, box
    overflow = embed_frame(mobile).evaluate(
        "document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


def test_widget_contrast_light_and_dark(browser, servers):
    for scheme in ("light", "dark"):
        context, page = _new_page(browser, viewport={"width": 1280, "height": 800},
                                  color_scheme=scheme)
        try:
            page.goto(servers.allowed + "/open.html")
            frame = widget_frame(page)
            ask(frame, QUESTION)
            assert embed_frame(page).evaluate(CONTRAST_JS) == [], scheme
        finally:
            context.close()


# --- the allow-list ------------------------------------------------------------------------------

def test_a_disallowed_origin_cannot_frame_or_call_the_assistant(page, servers):
    page.goto(servers.blocked + "/widget.html")
    launcher(page).click()
    notice = page.locator("[data-stemcell-qa] .notice")
    expect()(notice).to_be_visible(timeout=TIMEOUT_MS)
    expect()(notice).to_contain_text("cannot be shown on this site")
    frames = [f for f in page.frames if f is not page.main_frame]
    for frame in frames:  # the framed document is Chromium's error page, never ours
        assert frame.evaluate("!!document.getElementById('question')") is False
    api = servers.app + "/api/ask"
    result = page.evaluate("""async (url) => {
        try {
            const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                        body: JSON.stringify({question: 'What is aHSCT?'})});
            return 'status ' + r.status;
        } catch (e) { return 'blocked'; }
    }""", api)
    assert result == "blocked"
    # the same call from the allowed site works (CORS answers that origin)
    page.goto(servers.allowed + "/plain.html")
    allowed = page.evaluate("""async (url) => {
        const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                    body: JSON.stringify({question: 'What is aHSCT?'})});
        const body = await r.json();
        return [r.status, body.quotes.length];
    }""", api)
    assert allowed[0] == 200 and allowed[1] >= 1


# --- follow-ups in a conversation ------------------------------------------------------------

FOLLOW_UP = "is it safe?"


def assert_answering_line(answer) -> None:
    line = answer.locator(".understood__text")
    expect()(line).to_be_visible()
    expect()(line).to_contain_text("Answering:")
    expect()(line).to_contain_text("aHSCT for multiple sclerosis")
    expect()(answer.locator(".understood__retry")).to_contain_text(FOLLOW_UP)
    documents = answer.locator(".quote").evaluate_all(
        "els => els.map(e => e.getAttribute('data-passage-id'))")
    assert documents  # quotes on the inherited topic, not a refusal


def test_page_follow_up_shows_how_it_was_understood_and_survives_a_reload(page, servers):
    page.goto(servers.app + "/")
    ask(page, QUESTION)
    answer = ask(page, FOLLOW_UP)
    assert_answering_line(answer)
    expected = servers.engine.ask(FOLLOW_UP, history=[QUESTION])
    shown = answer.locator(".quote").evaluate_all(
        "els => els.map(e => e.getAttribute('data-passage-id'))")
    assert shown == [q.passage_id for q in expected.quotes]
    page.reload()
    expect()(page.locator("#transcript .answer")).to_have_count(2)
    assert_answering_line(page.locator("#transcript .answer").nth(1))
    # the history survived the reload: another follow-up still knows the topic
    again = ask(page, "how long does it take")
    expect()(again.locator(".understood__text")).to_contain_text("aHSCT")
    # "search instead for" asks exactly as typed
    answer = page.locator("#transcript .answer").nth(1)
    answer.locator(".understood__retry").click()
    expect()(page.locator("#transcript .answer")).to_have_count(4, timeout=ANSWER_TIMEOUT_MS)
    expect()(page.locator("#transcript .answer").nth(3).locator(".understood")).to_have_count(0)
    assert page.console_errors == []


def test_widget_follow_up_shows_how_it_was_understood(page, servers):
    page.goto(servers.allowed + "/open.html")
    expect()(widget_panel(page)).to_be_visible()
    frame = widget_frame(page)
    ask(frame, QUESTION)
    assert_answering_line(ask(frame, FOLLOW_UP))


def test_no_js_form_keeps_the_conversation_in_hidden_fields(browser, servers):
    context, page = _new_page(browser, java_script_enabled=False,
                              viewport={"width": 1280, "height": 800})
    try:
        ask_without_javascript(page, servers.app, QUESTION)
        expect()(page.locator("#composer input[name=history]")).to_have_count(1)
        page.get_by_label("Your question").fill(FOLLOW_UP)
        page.get_by_role("button", name="Send").click()
        assert_answering_line(page.locator("#transcript .answer"))
        expect()(page.locator("#composer input[name=history]")).to_have_count(2)
    finally:
        context.close()
