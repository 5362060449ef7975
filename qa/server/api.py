"""The JSON routes: /api/ask, /api/feedback, health, readiness, metrics and the admin reload."""

from __future__ import annotations

import hmac
import logging
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from qa import __version__
from qa.errors import ConfigError, IndexLoadError
from qa.server.deps import EngineDep, StateDep
from qa.server.responses import error_response
from qa.server.schemas import AnswerOut, AskRequest, FeedbackRequest

LOG = logging.getLogger("qa.server.api")

router = APIRouter()


@router.post("/api/ask", response_model=None, responses={200: {"model": AnswerOut}})
def ask(request: AskRequest, engine: EngineDep, state: StateDep) -> JSONResponse:
    """Answer one question with quotes, sources and disclaimers."""
    answer = engine.ask(request.question, request.history, request.as_typed)
    state.metrics.observe_answer(answer)
    state.gaps.count_answer(answer)
    if state.settings.log_questions:
        LOG.info("question", extra={"question": request.question, "kind": answer.kind})
    # Answer.to_json is already plain JSON types: a JSONResponse skips FastAPI's generic
    # jsonable_encoder walk (docs/performance.md).
    return JSONResponse(answer.to_json())


@router.post("/api/feedback", status_code=201)
def feedback(request: FeedbackRequest, engine: EngineDep, state: StateDep) -> dict[str, Any]:
    """Record a thumbs up/down on an answer (its passage ids; the question only if opted in)."""
    stored = state.feedback.record(request.vote, request.passage_ids, request.kind,
                                   question=request.question,
                                   corpus_hash=engine.index.manifest.get("corpus_hash"))
    if request.vote == "down":
        state.gaps.count(engine.known_concepts(request.concepts), ["thumbs_down"])
    return {"status": "recorded", "id": stored,
            "question_stored": bool(state.feedback.store_questions and request.question)}


@router.get("/readyz")
def readyz(engine: EngineDep, state: StateDep) -> dict[str, Any]:
    """Ready: an index is loaded and verified; its manifest (without the file table), and where
    rate limits are counted (a shared store that cannot be reached is reported, not fatal)."""
    manifest = {k: v for k, v in engine.index.manifest.items() if k != "files"}
    return {"status": "ready", "build": engine.index.path.name, "manifest": manifest,
            "rate_limits": state.counters.describe()}


@router.get("/healthz")
def healthz(engine: EngineDep) -> dict[str, Any]:
    """Alive, with the loaded index's identity."""
    manifest = engine.index.manifest
    return {"status": "ok", "version": __version__, "index": {
        "built_at": manifest.get("built_at"), "passages": manifest.get("passages"),
        "documents": manifest.get("documents"), "model": manifest.get("model"),
        "corpus_hash": manifest.get("corpus_hash"), "dense_index": manifest.get("dense_index")}}


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(state: StateDep) -> Response:
    body, content_type = state.metrics.render()
    return Response(body, media_type=content_type)


def _refused(request: Request, state: StateDep) -> Response | None:
    """The admin routes exist only with QA_ADMIN_TOKEN set, and need it as a bearer token."""
    token = state.settings.admin_token
    if not token:
        return error_response(404, "not_found", "Not Found")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return error_response(401, "unauthorized", "a valid admin bearer token is required")
    return None


@router.get("/admin/gaps", include_in_schema=False)
def admin_gaps(request: Request, state: StateDep, since: date | None = None) -> Response:
    """What goes unanswered: counts per concepts and outcome (no question text is ever kept);
    cells under QA_GAP_MIN_COUNT are hidden."""
    refused = _refused(request, state)
    if refused:
        return refused
    minimum = state.settings.gap_min_count
    cells = state.gaps.report(since, minimum)
    return JSONResponse({"since": since.isoformat() if since else None, "min_count": minimum,
                         "cells": [cell.__dict__ for cell in cells]})


@router.post("/admin/reload", include_in_schema=False)
def admin_reload(request: Request, state: StateDep) -> Response:
    """Hot-swap to the index build `current` now points at (after `qa build`), with the triage
    rules read again. Only when QA_ADMIN_TOKEN is set."""
    refused = _refused(request, state)
    if refused:
        return refused
    try:
        result = state.engines.reload()
    except (IndexLoadError, ConfigError) as exc:
        state.metrics.index_reloads.labels("refused").inc()
        LOG.error("index reload refused", extra={"reason": str(exc)})
        return error_response(503, exc.code, str(exc))
    state.metrics.index_reloads.labels("swapped" if result["reloaded"] else "unchanged").inc()
    LOG.info("index reload", extra=result)
    return JSONResponse(result)
