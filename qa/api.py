"""create_app(settings, engine) → FastAPI. Adapts Answers to JSON; reads no files or environment.

Every error, including request validation, has one JSON shape: {"error": {"code", "message"}}.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa import __version__
from qa.engine import QAEngine
from qa.errors import InvalidQuestion, QAError
from qa.settings import Settings


class AskRequest(BaseModel):
    """A question from the chat page, the widget or any client; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")
    question: str = Field(description="The question, 1 to QA_MAX_QUESTION_CHARS characters.")


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def create_app(settings: Settings, engine: QAEngine) -> FastAPI:
    """The web API around one loaded engine (the chat page and widget mount on this app)."""
    app = FastAPI(title="Stem-cell therapy QA", version=__version__,
                  description="Answers by quoting a curated, sourced corpus. Not medical advice.")
    app.state.settings = settings
    app.state.engine = engine

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

    @app.post("/api/ask")
    def ask(request: AskRequest) -> dict[str, Any]:
        """Answer one question with quotes, sources and disclaimers."""
        return app.state.engine.ask(request.question).to_json()

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Alive, with the loaded index's identity."""
        manifest = app.state.engine.index.manifest
        return {"status": "ok", "version": __version__, "index": {
            "built_at": manifest.get("built_at"), "passages": manifest.get("passages"),
            "documents": manifest.get("documents"), "model": manifest.get("model"),
            "corpus_hash": manifest.get("corpus_hash"), "dense_index": manifest.get("dense_index")}}

    return app
