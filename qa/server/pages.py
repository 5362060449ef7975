"""The HTML routes: the chat page, the embeddable widget and the no-JavaScript feedback form.

    GET  /            the chat page            POST /          the same page, answered (no JS)
    GET  /embed       the widget's chat panel  POST /embed     the same, answered (no JS)
    GET  /demo        the widget on a mock clinic page
    GET  /widget.js   the one-tag embed script  /static/*      CSS, JS, icons (mounted by create_app)
    POST /feedback    a thumbs up/down from a plain form (no JS)

Answers are rendered server-side from `Answer.to_json()` — the same JSON the browser script
renders — so the page reads the same with or without JavaScript. Templates autoescape everything;
no inline script or style is emitted (configuration travels in data attributes and a JSON data
block), so a strict Content-Security-Policy holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from qa import __version__
from qa.engine import MAX_HISTORY, QAEngine
from qa.errors import ConfigError, InvalidQuestion, QAError
from qa.server.deps import EngineDep, ServerState, StateDep
from qa.server.responses import error_response
from qa.server.schemas import FeedbackRequest
from qa.server.security import content_security_policy
from qa.settings import normalise_origin

def _web_dir() -> Path:
    """web/ inside an installed wheel (qa/web), else at the top of the checkout."""
    packaged = Path(__file__).resolve().parents[1] / "web"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "web"


WEB_DIR = _web_dir()
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

STARTER_QUESTIONS = (
    "What is aHSCT for multiple sclerosis?",
    "What are the risks of stem cell transplant?",
    "Are stem cell clinics abroad safe?",
    "Can mesenchymal stem cells treat lupus?",
)
EVIDENCE_LABELS = {
    "guideline": "Clinical guideline",
    "randomized-trial": "Randomised trial",
    "review": "Review of studies",
    "observational": "Observational studies",
    "regulator": "Regulator information",
    "explainer": "Background explainer",
}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
# Every sentence the page shows around answers.
STRINGS = {
    "you": "You",
    "assistant": "Assistant",
    "quotes": "Quoted sources",
    "reviewed": "Reviewed",
    "undated": "Review date not given",
    "evidence": "Evidence",
    "opensNewTab": "(opens in a new tab)",
    "emergencyTitle": "Get help now",
    "call": "Call",
    "related": "You could also ask about:",
    "tryThese": "Try one of these questions:",
    "registries": "Or search registered trials:",
    "helpful": "Was this answer helpful?",
    "yes": "Yes",
    "no": "No",
    "thanks": "Thank you for your feedback.",
    "feedbackFailed": "Your feedback could not be sent. Please try again later.",
    "searching": "Searching the sources…",
    "failed": "Sorry, something went wrong and no answer could be given. Please try again.",
    "offline": "The assistant could not be reached. Check your connection and try again.",
    "newChat": "New chat started.",
    "answering": "Answering:",
    "showingFor": "Showing results for",
    "askAsTyped": "Search instead for",
    "empty": "Please type a question first.",
}
# What the page's script says itself (everything else it shows is server-rendered markup).
SCRIPT_STRINGS = ("you", "searching", "failed", "offline", "empty", "thanks", "feedbackFailed",
                  "newChat")
REGISTRIES = (
    ("ClinicalTrials.gov", "https://clinicaltrials.gov/"),
    ("WHO International Clinical Trials Registry Platform", "https://trialsearch.who.int/"),
)
COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
DEFAULT_PRIMARY = "#0b5d7a"
EMBED_LIMITS = {"title": 80, "greeting": 400, "starter": 200, "launcher": 40}
MAX_STARTERS = 5


# --- presentation helpers (used by the templates, the only renderer) --------------------------

def highlight_segments(text: str, highlights: list[list[int]] | tuple) -> list[tuple[str, bool]]:
    """Split a quote into (text, highlighted) runs from [start, end] ranges, clamped and merged."""
    spans = sorted((max(0, int(a)), min(len(text), int(b))) for a, b in highlights)
    merged: list[list[int]] = []
    for start, end in spans:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    segments: list[tuple[str, bool]] = []
    cursor = 0
    for start, end in merged:
        if start > cursor:
            segments.append((text[cursor:start], False))
        segments.append((text[start:end], True))
        cursor = end
    if cursor < len(text):
        segments.append((text[cursor:], False))
    return segments


def evidence_label(code: str | None) -> str:
    if not code:
        return ""
    return EVIDENCE_LABELS.get(code, code.replace("-", " ").replace("_", " ").capitalize())


def human_date(value: str | None) -> str:
    """`2026-11-24` → `24 November 2026`; anything else unchanged."""
    if not value:
        return ""
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def is_http_url(value: str | None) -> bool:
    return bool(value) and str(value).lower().startswith(("https://", "http://"))


def readable_on(color: str) -> str:
    """Black or white, whichever contrasts more with `color` (always ≥ 4.58:1)."""
    hex_ = color.lstrip("#")
    if len(hex_) == 3:
        hex_ = "".join(c * 2 for c in hex_)
    channels = [int(hex_[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#ffffff" if (1.05 / (luminance + 0.05)) >= ((luminance + 0.05) / 0.05) else "#000000"


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to return to after a no-JS form (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def _clip(value: str | None, limit: int) -> str:
    return " ".join((value or "").split())[:limit]


# --- templates and headers --------------------------------------------------------------------

def templates() -> Jinja2Templates:
    """The page templates, with the presentation helpers above as globals."""
    if not TEMPLATES_DIR.is_dir() or not STATIC_DIR.is_dir():
        raise ConfigError(f"web assets not found under {WEB_DIR}")
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(segments=highlight_segments, evidence_label=evidence_label,
                       human_date=human_date, is_http_url=is_http_url, strings=STRINGS,
                       registries=REGISTRIES, version=__version__)
    return Jinja2Templates(env=env)


def page_headers(csp: str) -> dict[str, str]:
    """Headers of every HTML page: the one CSP (qa.server.security) and no caching."""
    return {"Content-Security-Policy": csp, "Cache-Control": "no-store"}


def wait_page(pages: Jinja2Templates) -> Callable[[str, int, str], bytes]:
    """The page a rate-limited no-JavaScript form post gets (the message is fixed text)."""
    def render(message: str, seconds: int, path: str) -> bytes:
        back = "/embed" if path.startswith("/embed") else "/"
        return pages.get_template("429.html").render(
            message=message, back=back, version=__version__).encode()

    return render


# --- routes ------------------------------------------------------------------------------------

router = APIRouter(include_in_schema=False)


def _base_context(state: ServerState, mode: str) -> dict[str, Any]:
    settings = state.settings
    return {
        "mode": mode,
        "emergency_number": settings.numbers().emergency,
        "crisis_line": settings.numbers().crisis,
        "operator_name": settings.operator_name,
        "store_questions": settings.feedback_store_questions,
        "max_chars": settings.max_question_chars,
    }


def _client_config(state: ServerState, mode: str, **extra: Any) -> dict[str, Any]:
    """What the browser script needs, as a JSON data block (never an inline script)."""
    settings = state.settings
    config = {
        "mode": mode, "api": {"feedback": "/api/feedback"},
        "storageKey": f"stemcell-qa:{mode}:v2",
        "sendQuestion": settings.feedback_store_questions,
        "strings": {key: STRINGS[key] for key in SCRIPT_STRINGS},
    }
    config.update(extra)
    return config


def _ask(state: ServerState, engine: QAEngine, question: str, history: list[str],
         as_typed: bool) -> tuple[dict[str, Any] | None, str | None, int]:
    """(answer JSON, error message, status) for a form submission."""
    try:
        answer = engine.ask(question, history[-MAX_HISTORY:], as_typed)
        state.metrics.observe_answer(answer)
        state.gaps.count_answer(answer)
        return answer.to_json(), None, 200
    except InvalidQuestion as exc:
        return None, f"Please check your question: {exc}.", 422
    except QAError:
        return None, STRINGS["failed"], 503


@dataclass(frozen=True)
class Asked:
    """One form submission: the message, the conversation before it, and the reply."""

    question: str | None = None
    history: tuple[str, ...] = ()
    answer: dict[str, Any] | None = None
    error: str | None = None
    status: int = 200


def _asked(state: ServerState, engine: QAEngine, question: str, history: list[str],
           as_typed: str) -> Asked:
    earlier = tuple(history[-MAX_HISTORY:])
    answer, error, status = _ask(state, engine, question, list(earlier), as_typed == "1")
    return Asked(question, earlier, answer, error, status)


def _conversation(request: Request, asked: Asked, here: str) -> dict[str, Any]:
    """The no-JavaScript conversation state both pages render: the answered turn (the page shows
    the latest; the conversation travels in hidden fields), or the question kept for correction
    after an error, and where the forms post back to."""
    history = asked.history
    if asked.answer and asked.question:
        history = (*history, asked.question)[-MAX_HISTORY:]
    return {
        "turns": [{"question": asked.question, "answer": asked.answer,
                   "history": list(asked.history)}] if asked.answer else [],
        "question": asked.question if asked.error else "", "error": asked.error,
        "history": list(history),
        "thanks": request.query_params.get("thanks") == "1",
        "form_action": here, "next": here, "new_chat_href": here,
    }


def _wants_fragment(request: Request) -> bool:
    """The page's own script asks for one rendered turn, not the whole page."""
    return request.headers.get("x-qa-fragment") == "turn"


def _turn_fragment(request: Request, state: ServerState, context: dict[str, Any],
                   asked: Asked) -> Response:
    if asked.error:
        code = "invalid_question" if asked.status == 422 else "unavailable"
        return error_response(asked.status, code, asked.error)
    return state.templates.TemplateResponse(request, "_turns.html", context,
                                            headers={"Cache-Control": "no-store"})


# --- the chat page -------------------------------------------------------------------------------

def _render_page(request: Request, state: ServerState, asked: Asked = Asked()) -> Response:
    context = _base_context(state, "page") | {
        "title": "Stem-cell therapy questions",
        "starters": STARTER_QUESTIONS,
        "config": _client_config(state, "page"),
    } | _conversation(request, asked, "/")
    if _wants_fragment(request):
        return _turn_fragment(request, state, context, asked)
    return state.templates.TemplateResponse(request, "index.html", context,
                                            status_code=asked.status,
                                            headers=page_headers(content_security_policy()))


@router.get("/")
def chat_page(request: Request, state: StateDep) -> Response:
    return _render_page(request, state)


@router.post("/")
def chat_page_answer(request: Request, state: StateDep, engine: EngineDep,
                     question: Annotated[str, Form()] = "",
                     starter: Annotated[str, Form()] = "",
                     history: Annotated[list[str] | None, Form()] = None,
                     as_typed: Annotated[str, Form()] = "") -> Response:
    asked = _asked(state, engine, starter or question, history or [], as_typed)
    return _render_page(request, state, asked)


# --- the widget's panel ----------------------------------------------------------------------

def _embed_options(request: Request, state: ServerState) -> dict[str, Any]:
    policy = state.origins
    params = request.query_params
    color = params.get("color", "")
    parent = params.get("parent", "")
    try:
        parent = normalise_origin(parent) if parent else ""
    except ValueError:
        parent = ""
    if parent and not policy.may_frame(parent) and not policy.is_same_origin(
            parent, request.headers.get("host")):
        parent = ""  # never post messages to a site the operator did not allow
    starters = [s for s in (_clip(v, EMBED_LIMITS["starter"])
                            for v in params.getlist("starter")) if s][:MAX_STARTERS]
    options: dict[str, Any] = {
        "title": _clip(params.get("title"), EMBED_LIMITS["title"])
        or "Questions about stem-cell therapy",
        "greeting": _clip(params.get("greeting"), EMBED_LIMITS["greeting"])
        or "Ask a question about stem-cell therapy for autoimmune disease. Every answer is "
           "quoted from a reviewed source.",
        "starters": starters or list(STARTER_QUESTIONS[:3]),
        "color": color if COLOR.match(color) else DEFAULT_PRIMARY,
        "inline": params.get("mode") == "inline",
        "parent": parent,
    }
    options["on_color"] = readable_on(options["color"])
    query: list[tuple[str, str]] = [
        (name, value) for name in ("title", "greeting")
        if (value := _clip(params.get(name), EMBED_LIMITS[name]))]
    query += [("starter", s) for s in starters]
    query += [("color", str(options["color"])),
              ("mode", "inline" if options["inline"] else "launcher")]
    if parent:
        query.append(("parent", parent))
    options["query"] = urlencode(query)
    return options


def _render_embed(request: Request, state: ServerState, asked: Asked = Asked()) -> Response:
    options = _embed_options(request, state)
    here = f"/embed?{options['query']}"
    context = _base_context(state, "embed") | {
        "title": options["title"], "greeting": options["greeting"],
        "starters": options["starters"], "primary": options["color"],
        "on_primary": options["on_color"], "closable": not options["inline"],
        "config": _client_config(state, "embed", parentOrigin=options["parent"],
                                 closable=not options["inline"], primary=options["color"],
                                 onPrimary=options["on_color"], starters=options["starters"]),
    } | _conversation(request, asked, here)
    if _wants_fragment(request):
        return _turn_fragment(request, state, context, asked)
    return state.templates.TemplateResponse(request, "embed.html", context,
                                            status_code=asked.status,
                                            headers=page_headers(state.origins.embed_csp()))


@router.get("/embed")
def embed(request: Request, state: StateDep) -> Response:
    return _render_embed(request, state)


@router.post("/embed")
def embed_answer(request: Request, state: StateDep, engine: EngineDep,
                 question: Annotated[str, Form()] = "",
                 starter: Annotated[str, Form()] = "",
                 history: Annotated[list[str] | None, Form()] = None,
                 as_typed: Annotated[str, Form()] = "") -> Response:
    asked = _asked(state, engine, starter or question, history or [], as_typed)
    return _render_embed(request, state, asked)


# --- demo and script -------------------------------------------------------------------------

@router.get("/demo")
def demo(request: Request, state: StateDep) -> Response:
    return state.templates.TemplateResponse(request, "demo.html", {"version": __version__},
                                            headers=page_headers(content_security_policy()))


@router.get("/widget.js")
def widget_js() -> Response:
    return FileResponse(STATIC_DIR / "widget.js", media_type="text/javascript", headers={
        "Cache-Control": "public, max-age=300",
        "Cross-Origin-Resource-Policy": "cross-origin",
    })


# --- feedback without JavaScript ---------------------------------------------------------------

@router.post("/feedback")
def feedback_form(state: StateDep, engine: EngineDep, vote: Annotated[str, Form()] = "",
                  passage_ids: Annotated[str, Form()] = "",
                  kind: Annotated[str, Form()] = "answer",
                  question: Annotated[str, Form()] = "",
                  concepts: Annotated[str, Form()] = "",
                  next: Annotated[str, Form()] = "/") -> Response:
    target = safe_next(next)
    try:
        parsed = FeedbackRequest.model_validate({
            "vote": vote, "passage_ids": passage_ids.split(), "kind": kind,
            "question": question or None, "concepts": concepts.split("|") if concepts else []})
    except ValueError:
        return RedirectResponse(target, status_code=303)
    state.feedback.record(parsed.vote, parsed.passage_ids, parsed.kind, question=parsed.question,
                          corpus_hash=engine.index.manifest.get("corpus_hash"))
    if parsed.vote == "down":
        state.gaps.count(engine.known_concepts(parsed.concepts), ["thumbs_down"])
    return RedirectResponse(target + ("&" if "?" in target else "?") + "thanks=1", status_code=303)
