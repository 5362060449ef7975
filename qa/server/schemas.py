"""The HTTP shapes: request bodies, the documented Answer, the one error body, and the OpenAPI
document that declares them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from qa.domain import AnswerKind
from qa.engine import MAX_HISTORY

PASSAGE_ID = r"^[A-Za-z0-9_.:#/@-]{1,200}$"


class AskRequest(BaseModel):
    """A question from the chat page, the widget or any client; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")
    question: str = Field(
        description="The question: up to QA_MAX_QUESTION_CHARS characters after trimming, with at "
        "least one letter or digit.",
        json_schema_extra={"minLength": 1, "pattern": "[^\\W_]"})
    history: list[str] = Field(
        default_factory=list, max_length=MAX_HISTORY,
        json_schema_extra={"items": {"type": "string", "minLength": 1, "pattern": "[^\\W_]"}},
        description=f"The earlier user messages of this conversation, oldest first (at most "
        f"{MAX_HISTORY}, each within the question limit). A follow-up such as \"is it safe?\" is read on the "
        "topic of the latest earlier message that had one. Nothing is stored on the server.")
    as_typed: bool = Field(default=False, description="Answer the question exactly as typed: no "
                           "follow-up resolution, no spelling correction.")


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


class CorrectionOut(BaseModel):
    from_: str = Field(alias="from", description="The word as typed.")
    to: str = Field(description="The library's word retrieval used instead.")


class AnswerOut(BaseModel):
    """The reply to a question (documented here; built by qa.domain.Answer.to_json)."""

    kind: str = Field(description="answer | no_answer | out_of_scope | emergency")
    message: str
    quotes: list[QuoteOut]
    disclaimers: list[DisclaimerOut]
    flags: list[str]
    related: list[str]
    triage: TriageOut
    concepts: list[str] = Field(description="The conditions, treatments, drugs, trials and "
                                "products the question named (the concept table's names).")
    understood_as: str | None = Field(description="The question retrieval answered when it "
                                      "differs from the message (a follow-up with its topic, "
                                      "spelling corrected); null when used as typed.")
    corrections: list[CorrectionOut]
    took_ms: float


ERROR_RESPONSE = {"description": "Error", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/ErrorBody"}}}}


class FeedbackRequest(BaseModel):
    """A vote on one answer. The question is stored only if the operator opted in."""

    model_config = ConfigDict(extra="ignore")
    vote: Literal["up", "down"] = Field(description="Thumbs up or down.")
    passage_ids: list[Annotated[str, StringConstraints(pattern=PASSAGE_ID)]] = Field(
        default_factory=list, max_length=20, description="The answer's quoted passage ids.")
    kind: AnswerKind = Field(default="answer", description="The answer's kind.")
    question: str | None = Field(default=None, max_length=4000,
                                 description="Kept only when QA_FEEDBACK_STORE_QUESTIONS is on.")
    concepts: list[Annotated[str, StringConstraints(max_length=100)]] = Field(
        default_factory=list, max_length=20,
        description="The answer's `concepts`: a thumbs down is counted against them in the gap "
        "report (names the concept table does not know are ignored).")


def openapi_schema(app: FastAPI, max_question_chars: int) -> dict[str, Any]:
    """Declare the real error shape (and 4xx) on every operation, instead of FastAPI's default,
    and the question limit this server enforces (a setting)."""
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
    properties = components.get("AskRequest", {}).get("properties", {})
    if "question" in properties:
        properties["question"]["maxLength"] = max_question_chars
    if "history" in properties:
        properties["history"]["items"]["maxLength"] = max_question_chars
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    app.openapi_schema = schema
    return schema
