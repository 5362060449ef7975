"""Named errors, translated once at each edge (CLI: one line + exit 1; API: one JSON error shape)."""

from typing import Any


def error_body(code: str, message: str) -> dict[str, Any]:
    """The one JSON error shape of every HTTP endpoint and middleware."""
    return {"error": {"code": code, "message": message}}


class QAError(Exception):
    """Base for every error an operator or user should see as one clear line."""

    code = "qa_error"


class ConfigError(QAError):
    """A setting is missing or invalid."""

    code = "config_error"


class CorpusError(QAError):
    """The corpus yields no usable document."""

    code = "corpus_error"


class IndexLoadError(QAError):
    """The index folder is missing, corrupt, or built with another model: rebuild it."""

    code = "index_error"


class ModelError(QAError):
    """The embedding model cannot be loaded (never downloaded at run time)."""

    code = "model_error"


class InvalidQuestion(QAError):
    """The question is empty, too long, or otherwise unusable."""

    code = "invalid_question"
