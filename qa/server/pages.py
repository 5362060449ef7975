"""The chat page, the embeddable widget and feedback: HTML routes mounted on the API app.

`mount_web(app, settings, engine)` adds:

    GET  /            the chat page            POST /          the same page, answered (no JS)
    GET  /embed       the widget's chat panel  POST /embed     the same, answered (no JS)
    GET  /demo        the widget on a mock clinic page
    GET  /widget.js   the one-tag embed script  /static/*      CSS, JS, icons
    POST /api/feedback  thumbs up/down (JSON)  POST /feedback  the same from a plain form (no JS)

Answers are rendered server-side from `Answer.to_json()` — the same JSON the browser script
renders — so the page reads the same with or without JavaScript. Templates autoescape everything;
no inline script or style is emitted (configuration travels in data attributes and a JSON data
block), so a strict Content-Security-Policy holds.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from qa import __version__
from qa.domain import AnswerKind
from qa.engine import QAEngine
from qa.errors import ConfigError, InvalidQuestion, QAError
from qa.feedback import FeedbackStore
from qa.server.security import OriginPolicy, install_origin_policy, normalise_origin
from qa.settings import Settings

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
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
# Every sentence the page shows around answers; sent to the browser script so both render alike.
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
    "empty": "Please type a question first.",
}
REGISTRIES = (
    ("ClinicalTrials.gov", "https://clinicaltrials.gov/"),
    ("WHO International Clinical Trials Registry Platform", "https://trialsearch.who.int/"),
)
COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
DEFAULT_PRIMARY = "#0b5d7a"
PASSAGE_ID = r"^[A-Za-z0-9_.:#/@-]{1,200}$"
EMBED_LIMITS = {"title": 80, "greeting": 400, "starter": 200, "launcher": 40}
MAX_STARTERS = 5


# --- presentation helpers (used by the templates; the browser script mirrors them) -----------

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


# --- request models ----------------------------------------------------------------------------

class FeedbackRequest(BaseModel):
    """A vote on one answer. The question is stored only if the operator opted in."""

    model_config = ConfigDict(extra="ignore")
    vote: Literal["up", "down"] = Field(description="Thumbs up or down.")
    passage_ids: list[Annotated[str, StringConstraints(pattern=PASSAGE_ID)]] = Field(
        default_factory=list, max_length=20, description="The answer's quoted passage ids.")
    kind: AnswerKind = Field(default="answer", description="The answer's kind.")
    question: str | None = Field(default=None, max_length=4000,
                                 description="Kept only when QA_FEEDBACK_STORE_QUESTIONS is on.")


# --- mounting ------------------------------------------------------------------------------------

def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(segments=highlight_segments, evidence_label=evidence_label,
                       human_date=human_date, is_http_url=is_http_url, strings=STRINGS,
                       registries=REGISTRIES, version=__version__)
    return env


def page_headers(frame_ancestors: str = "frame-ancestors 'self'") -> dict[str, str]:
    """Security headers of every HTML page (no inline script or style is ever needed)."""
    csp = "; ".join((
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        "connect-src 'self'", "frame-src 'self'", "form-action 'self'", "base-uri 'none'",
        "object-src 'none'", frame_ancestors))
    return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin", "Cache-Control": "no-store"}


def mount_web(app: FastAPI, settings: Settings, engine: QAEngine) -> None:
    """Add the chat page, widget, demo, static files, feedback and the origin policy to `app`.

    Answers come from `app.state.engine` at request time (the engine create_app was given, or the
    one an index reload swapped in), like /api/ask.
    """
    app.state.engine = getattr(app.state, "engine", None) or engine
    if not TEMPLATES_DIR.is_dir() or not STATIC_DIR.is_dir():
        raise ConfigError(f"web assets not found under {WEB_DIR}")
    policy = OriginPolicy(settings.allowed_origins)
    install_origin_policy(app, policy)
    templates = Jinja2Templates(env=_environment())
    store = FeedbackStore.from_settings(settings)
    app.state.origin_policy = policy
    app.state.feedback = store
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    self_frame = "frame-ancestors 'self'"

    def base_context(mode: str) -> dict[str, Any]:
        return {
            "mode": mode,
            "emergency_number": settings.emergency_number,
            "crisis_line": settings.crisis_line,
            "operator_name": settings.operator_name,
            "store_questions": settings.feedback_store_questions,
            "max_chars": settings.max_question_chars,
        }

    def client_config(mode: str, **extra: Any) -> dict[str, Any]:
        """What the browser script needs, as a JSON data block (never an inline script)."""
        config = {
            "mode": mode, "api": {"ask": "/api/ask", "feedback": "/api/feedback"},
            "storageKey": f"stemcell-qa:{mode}:v1", "emergencyNumber": settings.emergency_number,
            "sendQuestion": settings.feedback_store_questions, "strings": STRINGS,
            "evidenceLabels": EVIDENCE_LABELS, "months": MONTHS,
            "registries": [list(r) for r in REGISTRIES], "starters": list(STARTER_QUESTIONS),
            "maxChars": settings.max_question_chars,
        }
        config.update(extra)
        return config

    def ask(question: str) -> tuple[dict[str, Any] | None, str | None, int]:
        """(answer JSON, error message, status) for a form submission."""
        try:  # app.state.engine, not `engine`: an index reload may have swapped it
            return app.state.engine.ask(question).to_json(), None, 200
        except InvalidQuestion as exc:
            return None, f"Please check your question: {exc}.", 422
        except QAError:
            return None, STRINGS["failed"], 503

    def conversation(request: Request, question: str | None, answer: dict | None,
                     error: str | None, here: str) -> dict[str, Any]:
        """The no-JavaScript conversation state both pages render: the answered turn, or the
        question kept for correction after an error, and where the forms post back to."""
        return {
            "turns": [{"question": question, "answer": answer}] if answer else [],
            "question": question if error else "", "error": error,
            "thanks": request.query_params.get("thanks") == "1",
            "form_action": here, "next": here, "new_chat_href": here,
        }

    # --- the chat page ---------------------------------------------------------------------

    def render_page(request: Request, question: str | None = None, answer: dict | None = None,
                    error: str | None = None, status: int = 200) -> Response:
        context = base_context("page") | {
            "title": "Stem-cell therapy questions",
            "starters": STARTER_QUESTIONS,
            "config": client_config("page"),
        } | conversation(request, question, answer, error, "/")
        return templates.TemplateResponse(request, "index.html", context, status_code=status,
                                          headers=page_headers(self_frame))

    @app.get("/", include_in_schema=False)
    def chat_page(request: Request) -> Response:
        return render_page(request)

    @app.post("/", include_in_schema=False)
    def chat_page_answer(request: Request, question: Annotated[str, Form()] = "",
                         starter: Annotated[str, Form()] = "") -> Response:
        text = starter or question
        answer, error, status = ask(text)
        return render_page(request, text, answer, error, status)

    # --- the widget's panel ----------------------------------------------------------------

    def embed_options(request: Request) -> dict[str, Any]:
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
        options = {
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
        query += [("color", options["color"]), ("mode", "inline" if options["inline"] else
                                                "launcher")]
        if parent:
            query.append(("parent", parent))
        options["query"] = urlencode(query)
        return options

    def render_embed(request: Request, question: str | None = None, answer: dict | None = None,
                     error: str | None = None, status: int = 200) -> Response:
        options = embed_options(request)
        here = f"/embed?{options['query']}"
        context = base_context("embed") | {
            "title": options["title"], "greeting": options["greeting"],
            "starters": options["starters"], "primary": options["color"],
            "on_primary": options["on_color"], "closable": not options["inline"],
            "config": client_config("embed", parentOrigin=options["parent"],
                                    closable=not options["inline"], primary=options["color"],
                                    onPrimary=options["on_color"],
                                    starters=options["starters"]),
        } | conversation(request, question, answer, error, here)
        return templates.TemplateResponse(request, "embed.html", context, status_code=status,
                                          headers=page_headers(policy.frame_ancestors()))

    @app.get("/embed", include_in_schema=False)
    def embed(request: Request) -> Response:
        return render_embed(request)

    @app.post("/embed", include_in_schema=False)
    def embed_answer(request: Request, question: Annotated[str, Form()] = "",
                     starter: Annotated[str, Form()] = "") -> Response:
        text = starter or question
        answer, error, status = ask(text)
        return render_embed(request, text, answer, error, status)

    # --- demo and script -------------------------------------------------------------------

    @app.get("/demo", include_in_schema=False)
    def demo(request: Request) -> Response:
        return templates.TemplateResponse(request, "demo.html", {"version": __version__},
                                          headers=page_headers(self_frame))

    @app.get("/widget.js", include_in_schema=False)
    def widget_js() -> Response:
        return FileResponse(STATIC_DIR / "widget.js", media_type="text/javascript", headers={
            "Cache-Control": "public, max-age=300",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "X-Content-Type-Options": "nosniff",
        })

    # --- feedback --------------------------------------------------------------------------

    def corpus_hash() -> str | None:
        value = app.state.engine.index.manifest.get("corpus_hash")
        return str(value) if value else None

    @app.post("/api/feedback", status_code=201)
    def feedback_api(request: FeedbackRequest) -> dict[str, Any]:
        """Record a thumbs up/down on an answer (its passage ids; the question only if opted in)."""
        stored = store.record(request.vote, request.passage_ids, request.kind,
                              question=request.question, corpus_hash=corpus_hash())
        return {"status": "recorded", "id": stored,
                "question_stored": bool(store.store_questions and request.question)}

    @app.post("/feedback", include_in_schema=False)
    def feedback_form(vote: Annotated[str, Form()] = "", passage_ids: Annotated[str, Form()] = "",
                      kind: Annotated[str, Form()] = "answer",
                      question: Annotated[str, Form()] = "",
                      next: Annotated[str, Form()] = "/") -> Response:
        try:
            parsed = FeedbackRequest(vote=vote, passage_ids=passage_ids.split(), kind=kind,
                                     question=question or None)
        except ValueError:
            return RedirectResponse(safe_next(next), status_code=303)
        store.record(parsed.vote, parsed.passage_ids, parsed.kind, question=parsed.question,
                     corpus_hash=corpus_hash())
        target = safe_next(next)
        target += ("&" if "?" in target else "?") + "thanks=1"
        return RedirectResponse(target, status_code=303)
