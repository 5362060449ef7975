"""Retrieval-based QA on stem-cell therapy for autoimmune disease: it quotes, it never writes."""

__version__ = "0.1.0"
