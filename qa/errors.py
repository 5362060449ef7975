"""Named errors, translated once at each edge (CLI: one line + exit 1; API: one JSON error
shape, qa.server.responses)."""


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


class FeedbackError(QAError):
    """The feedback database cannot be opened or written."""

    code = "feedback_error"
