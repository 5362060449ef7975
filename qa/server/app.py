"""create_app(settings, engine) → FastAPI: the routers, the error handlers and the whole
middleware stack, in one place. Reads no files or environment of its own.

Every error, including request validation, has one JSON shape: {"error": {"code", "message"}}.
Middleware, outermost first: trusted-proxy client address → request id, metrics and log line →
security headers → rate limit → origin policy → body guard → routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from qa import __version__
from qa.engine import QAEngine
from qa.errors import InvalidQuestion, QAError
from qa.feedback import FeedbackStore
from qa.gaps import GapCounter
from qa.server import api, pages
from qa.server.deps import ServerState
from qa.server.engine_holder import EngineHolder
from qa.server.guard import Counters, RateLimiter, RequestGuard
from qa.server.observability import Metrics, RequestObserver
from qa.server.responses import error_body, error_response
from qa.server.schemas import openapi_schema
from qa.server.security import OriginMiddleware, OriginPolicy, SecurityHeaders
from qa.settings import Settings

RATE_LIMITED_ROUTES = {("POST", "/api/ask"), ("POST", "/"), ("POST", "/embed")}
# A QAError is the server's own trouble (an index, a model or a database that is not there):
# 503, except for the errors that describe the request.
CLIENT_ERRORS: dict[type[QAError], int] = {InvalidQuestion: 422}


def create_app(settings: Settings, engine: QAEngine, metrics: Metrics | None = None) -> FastAPI:
    """The web API, chat page and widget around one loaded engine."""
    feedback = FeedbackStore.from_settings(settings)
    gaps = GapCounter(feedback, settings.gap_flush_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        gaps.flush()  # counts still in memory go to the database before the worker exits
        feedback.close()

    app = FastAPI(title="Stem-cell therapy QA", version=__version__, lifespan=lifespan,
                  description="Answers by quoting a curated, sourced corpus. Not medical advice.")
    metrics = metrics or Metrics()
    metrics.observe_index(engine.index.manifest)
    templates = pages.templates()
    origins = OriginPolicy(settings.allowed_origins)
    app.state.qa = ServerState(
        settings=settings,
        engines=EngineHolder(engine, on_swap=lambda new: metrics.observe_index(new.index.manifest)),
        metrics=metrics, feedback=feedback, origins=origins, templates=templates, gaps=gaps,
        counters=Counters(settings.rate_limit_storage,
                          on_status=lambda ok: metrics.rate_limit_shared.set(1 if ok else 0)))
    metrics.rate_limit_shared.set(1 if app.state.qa.counters.shared else 0)

    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    _install_error_handlers(app)
    app.openapi = lambda: openapi_schema(app, settings.max_question_chars)  # type: ignore[method-assign]

    # Added innermost first: Starlette wraps each new middleware around the previous ones.
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes,
                       body_timeout=settings.body_timeout_seconds,
                       max_json_depth=settings.max_json_depth)
    app.add_middleware(OriginMiddleware, policy=origins)
    app.add_middleware(RateLimiter, rate=settings.rate_limit, per_ip_rate=settings.rate_limit_per_ip,
                       limited=RATE_LIMITED_ROUTES, wait_page=pages.wait_page(templates),
                       counters=app.state.qa.counters,
                       exempt_ips=set(settings.rate_limit_exempt),
                       on_reject=metrics.rate_limited.inc)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestObserver, metrics=metrics)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies or [])
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QAError)
    async def qa_error(_: Request, exc: QAError) -> JSONResponse:
        return error_response(CLIENT_ERRORS.get(type(exc), 503), exc.code, str(exc))

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
        return error_response(exc.status_code, code, str(exc.detail),
                              headers=getattr(exc, "headers", None))
