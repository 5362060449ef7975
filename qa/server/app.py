"""create_app(settings, engine) → FastAPI. Adapts Answers to JSON; reads no files or environment.

Every error, including request validation, has one JSON shape: {"error": {"code", "message"}}.
Around the routes sits the hardening stack (outermost first): trusted-proxy client address,
request id + metrics + log line, security headers, rate limit, body guard.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa import __version__
from qa.engine import QAEngine
from qa.errors import IndexLoadError, InvalidQuestion, QAError, error_body
from qa.server.engine_holder import EngineHolder
from qa.server.observability import Metrics, RequestObserver
from qa.server.rate_limit import RateLimiter
from qa.server.guard import RequestGuard
from qa.server.security_headers import SecurityHeaders
from qa.settings import Settings
from qa.server.pages import mount_web

LOG = logging.getLogger("qa.server.app")
RATE_LIMITED_ROUTES = {("POST", "/api/ask"), ("POST", "/"), ("POST", "/embed")}


class AskRequest(BaseModel):
    """A question from the chat page, the widget or any client; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")
    question: str = Field(
        description="The question: up to QA_MAX_QUESTION_CHARS (default 1000) characters after "
        "trimming, with at least one letter or digit.",
        json_schema_extra={"minLength": 1, "maxLength": 1000, "pattern": "[^\\W_]"})


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The one error shape of every endpoint."""

    error: ErrorDetail


class SourceOut(BaseModel):
    document_id: str
    title: str
    section: str
    url: str
    reviewed: str | None
    evidence: str | None


class QuoteOut(BaseModel):
    passage_id: str
    text: str = Field(description="Verbatim passage text.")
    highlights: list[list[int]] = Field(description="[start, end) character ranges of the "
                                        "best-matching sentence(s).")
    score: float
    source: SourceOut


class DisclaimerOut(BaseModel):
    code: str
    text: str


class TriageOut(BaseModel):
    category: str
    reason: str


class AnswerOut(BaseModel):
    """The reply to a question (documented here; built by qa.domain.Answer.to_json)."""

    kind: str = Field(description="answer | no_answer | out_of_scope | emergency")
    message: str
    quotes: list[QuoteOut]
    disclaimers: list[DisclaimerOut]
    flags: list[str]
    related: list[str]
    triage: TriageOut
    took_ms: float


ERROR_RESPONSE = {"description": "Error", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/ErrorBody"}}}}


def create_app(settings: Settings, engine: QAEngine, metrics: Metrics | None = None) -> FastAPI:
    """The web API around one loaded engine (the chat page and widget mount on this app)."""
    app = FastAPI(title="Stem-cell therapy QA", version=__version__,
                  description="Answers by quoting a curated, sourced corpus. Not medical advice.")
    metrics = metrics or Metrics()
    metrics.observe_index(engine.index.manifest)
    holder = EngineHolder(engine, on_swap=lambda new: metrics.observe_index(new.index.manifest))
    app.state.settings = settings
    app.state.engine = holder  # stands in for the live engine; swapped by /admin/reload
    app.state.metrics = metrics

    @app.exception_handler(InvalidQuestion)
    async def invalid_question(_: Request, exc: InvalidQuestion) -> JSONResponse:
        return JSONResponse(error_body(exc.code, str(exc)), status_code=422)

    @app.exception_handler(QAError)
    async def qa_error(_: Request, exc: QAError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, str(exc)), status_code=503)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        message = f"{where}: {first.get('msg', 'invalid request')}"
        return JSONResponse(jsonable_encoder(error_body("invalid_request", message)),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.post("/api/ask", response_model=None, responses={200: {"model": AnswerOut}})
    def ask(request: AskRequest) -> JSONResponse:
        """Answer one question with quotes, sources and disclaimers."""
        answer = holder.engine.ask(request.question)
        metrics.observe_answer(answer)
        if settings.log_questions:
            LOG.info("question", extra={"question": request.question, "kind": answer.kind})
        # Answer.to_json is already plain JSON types: a JSONResponse skips FastAPI's generic
        # jsonable_encoder walk, measured at about a quarter of a millisecond per answer.
        return JSONResponse(answer.to_json())

    @app.get("/readyz")
    def readyz() -> dict[str, Any]:
        """Ready: an index is loaded and verified; its manifest (without the file table)."""
        manifest = {k: v for k, v in holder.engine.index.manifest.items() if k != "files"}
        return {"status": "ready", "build": holder.engine.index.path.name, "manifest": manifest}

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    if settings.admin_token:
        @app.post("/admin/reload", include_in_schema=False)
        def admin_reload(request: Request) -> JSONResponse:
            """Hot-swap to the index build `current` now points at (after `qa build`)."""
            given = request.headers.get("authorization", "")
            expected = f"Bearer {settings.admin_token}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return JSONResponse(error_body("unauthorized", "a valid admin bearer token is "
                                               "required"), status_code=401)
            try:
                result = holder.reload()
            except IndexLoadError as exc:
                metrics.index_reloads.labels("refused").inc()
                LOG.error("index reload refused", extra={"reason": str(exc)})
                return JSONResponse(error_body(exc.code, str(exc)), status_code=503)
            metrics.index_reloads.labels("swapped" if result["reloaded"] else "unchanged").inc()
            LOG.info("index reload", extra=result)
            return JSONResponse(result)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Alive, with the loaded index's identity."""
        manifest = app.state.engine.index.manifest
        return {"status": "ok", "version": __version__, "index": {
            "built_at": manifest.get("built_at"), "passages": manifest.get("passages"),
            "documents": manifest.get("documents"), "model": manifest.get("model"),
            "corpus_hash": manifest.get("corpus_hash"), "dense_index": manifest.get("dense_index")}}

    app.openapi = lambda: _openapi_with_error_shape(app)  # type: ignore[method-assign]
    mount_web(app, settings, holder)  # type: ignore[arg-type]  # the holder delegates to the engine
    _install_middleware(app, settings, metrics)
    return app


def _openapi_with_error_shape(app: FastAPI) -> dict[str, Any]:
    """Declare the real error shape (and 4xx) on every operation, instead of FastAPI's default."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(components["ErrorBody"].pop("$defs", {}))
    for methods in schema.get("paths", {}).values():
        for operation in methods.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses["4XX"] = ERROR_RESPONSE
            responses["503"] = ERROR_RESPONSE
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    app.openapi_schema = schema
    return schema


def _install_middleware(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    """Added innermost first: Starlette wraps each new middleware around the previous ones."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes,
                       body_timeout=settings.body_timeout_seconds,
                       max_json_depth=settings.max_json_depth)
    app.add_middleware(RateLimiter, rate=settings.rate_limit, per_ip_rate=settings.rate_limit_per_ip,
                       limited=RATE_LIMITED_ROUTES, exempt_ips=set(settings.rate_limit_exempt),
                       on_reject=metrics.rate_limited.inc)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestObserver, metrics=metrics)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies or [])
