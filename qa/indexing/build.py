"""Making a build: corpus files → passages → vectors, BM25 and row facts → a published folder.

Only `qa build` (and tests and benchmarks) import this module; serving loads builds through
`qa.indexing.layout` and never imports the ingestion stack.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from qa.domain import Document, Passage
from qa.encoders import Embedder, embedder_from_settings
from qa.errors import IndexLoadError
from qa.indexing import dense, document_cards, layout
from qa.indexing.bm25 import LexicalIndex
from qa.indexing.drug_names import drug_names
from qa.indexing.row_facts import RowFacts
from qa.ingest.boilerplate import BoilerplateFilter
from qa.ingest.chunking import ChunkingConfig, chunk_document
from qa.ingest.readers import corpus_hash, load_corpus
from qa.text import FREQUENT_PAIR, word_counts, word_pair_counts
from qa.settings import Settings

# The library's vocabulary -> the texts whose vectors serving needs (qa.retrieval.concept_vectors)
ConceptTexts = Callable[[dict[str, int]], Sequence[str]]


@dataclass(frozen=True)
class BuildConfig:
    """Everything besides the corpus files that changes what a build produces."""

    corpus: tuple[Path, ...]
    model_name: str
    chunking: ChunkingConfig
    boilerplate_file: Path
    ann_threshold: int
    hnsw_m: int
    hnsw_ef_construction: int
    batch_size: int

    @classmethod
    def from_settings(cls, settings: Settings) -> BuildConfig:
        return cls(
            corpus=tuple(settings.corpus),
            model_name=settings.model,
            chunking=ChunkingConfig(settings.chunk_min_words, settings.chunk_max_words,
                                    settings.chunk_overlap_sentences),
            boilerplate_file=settings.boilerplate_file,
            ann_threshold=settings.ann_threshold,
            hnsw_m=settings.hnsw_m,
            hnsw_ef_construction=settings.hnsw_ef_construction,
            batch_size=settings.embed_batch_size,
        )

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps([self.chunking.min_words, self.chunking.max_words,
                                  self.chunking.overlap_sentences,
                                  *dense.fingerprint_parts(self.ann_threshold, self.hnsw_m,
                                                           self.hnsw_ef_construction)]).encode())
        digest.update(self.boilerplate_file.read_bytes() if self.boilerplate_file.exists() else b"")
        return digest.hexdigest()[:16]


@dataclass
class BuildReport:
    documents: int = 0
    passages: int = 0
    re_embedded: int = 0
    reused: int = 0
    dropped_boilerplate: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    dense_index: str = ""
    path: Path | None = None
    skipped: bool = False


@dataclass
class ChunkedCorpus:
    """The corpus read and cut into passages, exactly as a build indexes it."""

    documents: list[Document]
    passages: list[Passage]
    dropped_boilerplate: int
    warnings: list[str]
    content_hash: str


def text_key(model_name: str, text: str) -> str:
    """The embedding cache key: a model and the exact text it embedded."""
    return hashlib.sha256(f"{model_name}\0{text}".encode()).hexdigest()


def is_up_to_date(config: BuildConfig, index_dir: Path) -> bool:
    """True when the live build was made from the same corpus, model and settings."""
    build = layout.current_build(index_dir)
    if build is None:
        return False
    try:
        manifest = layout.read_manifest(build)
    except IndexLoadError:
        return False
    return (manifest.get("format_version") == layout.FORMAT_VERSION
            and manifest.get("model", {}).get("name") == config.model_name
            and manifest.get("corpus_hash") == corpus_hash(config.corpus)
            and manifest.get("config_hash") == config.fingerprint())


def chunk_corpus(config: BuildConfig) -> ChunkedCorpus:
    """Read every corpus file and cut it into passages (boilerplate dropped and counted)."""
    loaded = load_corpus(config.corpus)
    warnings = loaded.warnings + overdue_reviews(loaded.documents, date.today())
    boilerplate = BoilerplateFilter.from_file(config.boilerplate_file)
    passages: list[Passage] = []
    dropped = 0
    for doc in loaded.documents:
        doc_passages, doc_dropped = chunk_document(doc, config.chunking, boilerplate)
        passages.extend(doc_passages)
        dropped += doc_dropped
    return ChunkedCorpus(loaded.documents, passages, dropped, warnings, loaded.content_hash)


def overdue_reviews(documents: Sequence[Document], today: date) -> list[str]:
    """One line per document whose `next_review` date has passed: its time-bound facts (what is
    approved, which trials have reported) may be out of date and need checking again."""
    return [f"{d.path}: due for review since {d.next_review}; re-check its dated facts"
            for d in documents if d.next_review and d.next_review < today.isoformat()]


def embed_by_length(embedder: Embedder, texts: Sequence[str], batch_size: int,
                    progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Encode in order of length, so each batch pads to texts of about its own length (as
    sentence-transformers does), then put the rows back in the order given."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    encoded = embedder.encode([texts[i] for i in order], batch_size=batch_size, progress=progress)
    vectors = np.empty_like(encoded)
    vectors[np.asarray(order, dtype=np.int64)] = encoded
    return vectors


def build_index(
    config: BuildConfig,
    index_dir: Path,
    embedder: Embedder,
    progress_factory: Callable[[int], Callable[[int], None]] | None = None,
    concept_texts: ConceptTexts | None = None,
) -> BuildReport:
    """Read, chunk, embed (reusing cached vectors), index and publish a new build atomically.
    `concept_texts` names, from the library's vocabulary, the synonym table's texts whose
    vectors the build stores for serving (qa.retrieval.concept_vectors; the table belongs to a
    layer above this one, so the caller supplies it)."""
    started = time.perf_counter()
    chunked = chunk_corpus(config)
    passages = chunked.passages
    report = BuildReport(documents=len(chunked.documents), passages=len(passages),
                         dropped_boilerplate=chunked.dropped_boilerplate, warnings=chunked.warnings)

    texts = [p.embedding_text() for p in passages]
    cards = document_cards.card_texts(
        passages, {d.id: document_cards.card_text(d.title, d.summary) for d in chunked.documents})
    # Passages and cards are embedded together (one pass over the model), each reusing the live
    # build's vector for the same text; the report counts passages.
    everything = texts + cards
    keys = [text_key(config.model_name, t) for t in everything]
    cache = _previous_vectors(index_dir, config.model_name)
    missing = [i for i, key in enumerate(keys) if key not in cache]
    report.re_embedded = sum(1 for i in missing if i < len(texts))
    report.reused = len(texts) - report.re_embedded
    progress = progress_factory(len(missing)) if progress_factory and missing else None
    fresh = embed_by_length(embedder, [everything[i] for i in missing], config.batch_size,
                            progress) if missing else None
    dimension = fresh.shape[1] if fresh is not None else embedder.dimension
    embedded = np.zeros((len(everything), dimension), dtype=np.float32)
    if fresh is not None:
        embedded[np.asarray(missing, dtype=np.int64)] = fresh
    for i, key in enumerate(keys):
        if key in cache:
            embedded[i] = cache[key]
    vectors, card_vectors = embedded[:len(texts)], embedded[len(texts):]

    dense_index, dense_info = dense.build(vectors, config.ann_threshold, config.hnsw_m,
                                          config.hnsw_ef_construction)
    report.dense_index = dense_info["type"]
    lexical = LexicalIndex.build(texts)
    vocabulary = word_counts(texts)
    pairs = word_pair_counts(texts, FREQUENT_PAIR)
    medicines = drug_names()
    concepts = concept_texts(vocabulary) if concept_texts else []
    # Encoded in one call, as the engine would at start-up: the same texts in the same batches
    # give the same numbers.
    concept_vectors = embedder.encode(concepts) if concepts else \
        np.zeros((0, dimension), dtype=np.float32)

    def write_files(folder: Path) -> None:
        layout.write_passages(folder / layout.PASSAGES, passages)
        (folder / layout.DOCUMENTS).write_text(
            json.dumps(_documents_json(chunked.documents), ensure_ascii=False), encoding="utf-8")
        layout.write_vectors(folder, vectors, dense_index, card_vectors)
        lexical.save(folder / layout.BM25_DIR)
        RowFacts.of(passages, len(passages)).save(folder)
        (folder / layout.VOCABULARY).write_text(json.dumps(vocabulary, sort_keys=True),
                                                encoding="utf-8")
        (folder / layout.DRUG_NAMES).write_text(json.dumps(medicines, sort_keys=True),
                                                encoding="utf-8")
        (folder / layout.WORD_PAIRS).write_text(
            json.dumps(sorted([first, second, n] for (first, second), n in pairs.items())),
            encoding="utf-8")
        layout.write_concept_vectors(folder / layout.CONCEPT_VECTORS, concepts, concept_vectors)

    manifest = {
        "model": {"name": config.model_name, "dimension": int(dimension)},
        "corpus_hash": chunked.content_hash,
        "config_hash": config.fingerprint(),
        "documents": report.documents,
        "passages": report.passages,
        "dense_index": dense_info,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 3),
        "stats": {"re_embedded": report.re_embedded, "reused": report.reused,
                  "dropped_boilerplate": report.dropped_boilerplate},
    }
    report.path = layout.write_build(index_dir, manifest, write_files, chunked.content_hash)
    report.seconds = time.perf_counter() - started
    return report


def _tqdm_progress(total: int) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc="embedding passages and document cards", unit="text", leave=False)

    def advance(done: int) -> None:
        bar.update(done)
        if bar.n >= total:
            bar.close()

    return advance


def run_build(settings: Settings, if_needed: bool = False, show_progress: bool = False,
              embedder: Embedder | None = None, concept_texts: ConceptTexts | None = None
              ) -> BuildReport:
    """Build unless `if_needed` and the live index already matches corpus, model and settings."""
    config = BuildConfig.from_settings(settings)
    if if_needed and is_up_to_date(config, settings.index_dir):
        return BuildReport(skipped=True)
    embedder = embedder or embedder_from_settings(settings)
    return build_index(config, settings.index_dir, embedder,
                       progress_factory=_tqdm_progress if show_progress else None,
                       concept_texts=concept_texts)


# --- helpers ------------------------------------------------------------------------------------

def _previous_vectors(index_dir: Path, model_name: str) -> dict[str, np.ndarray]:
    """Vectors of the live build (passages and document cards) keyed by text hash, when it
    used the same model; else empty."""
    try:
        previous = layout.load_index(index_dir, expected_model=model_name)
        documents = json.loads((previous.path / layout.DOCUMENTS).read_text(encoding="utf-8"))
    except (IndexLoadError, OSError, ValueError):
        return {}
    cache = {text_key(model_name, p.embedding_text()): np.array(previous.embeddings[row])
             for row, p in enumerate(previous.passages)}
    cards = document_cards.card_texts(previous.passages, {
        doc: document_cards.card_text(str(d.get("title", "")), d.get("summary"))
        for doc, d in documents.items() if isinstance(d, dict)})
    if len(cards) == len(previous.document_vectors):
        cache.update((text_key(model_name, text), np.array(vector))
                     for text, vector in zip(cards, previous.document_vectors))
    return cache


def _documents_json(documents: Sequence[Document]) -> dict[str, dict[str, Any]]:
    return {d.id: {"title": d.title, "summary": d.summary, "reviewed": d.reviewed,
                   "next_review": d.next_review,
                   "topics": list(d.topics), "evidence": d.evidence, "path": d.path,
                   "sources": [{"name": s.name, "url": s.url, "year": s.year} for s in d.sources]}
            for d in documents}
