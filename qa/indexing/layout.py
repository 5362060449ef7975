"""Build (atomically, incrementally) and load (verified) the self-describing index folder.

Layout under the index directory:
    builds/<build-id>/   one immutable build: manifest.json, passages.jsonl, documents.json,
                         embeddings.npy, dense.faiss, bm25/, and the per-row facts ranking
                         needs (row_documents.npy, row_reviewed.npy, topic_rows.json; builds
                         made before those existed still load, see qa.indexing.row_facts)
    current              a symlink to the live build, replaced with one atomic rename
A crash mid-build leaves only a `builds/.tmp-*` folder behind; `current` still names the last
complete build. Embeddings of the previous build are reused for passages whose text is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from qa.ingest.chunking import BoilerplateFilter, ChunkingConfig, chunk_document
from qa.ingest.readers import corpus_hash, load_corpus
from qa.domain import Document, Passage
from qa.encoders.torch_backend import Embedder
from qa.errors import IndexLoadError
from qa.indexing.bm25 import LexicalIndex
from qa.indexing.passages import PassageStore
from qa.indexing.row_facts import RowFacts

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
DOCUMENTS = "documents.json"
EMBEDDINGS = "embeddings.npy"
DENSE = "dense.faiss"
HNSW_STORAGE = "fp16"
BM25_DIR = "bm25"
CHECKSUM_LIMIT = 256 * 1024 * 1024  # files above this are checked by size only, to keep start fast
KEEP_BUILDS = 3


@dataclass(frozen=True)
class BuildConfig:
    """Everything besides the corpus files that changes what a build produces."""

    corpus: tuple[Path, ...]
    model_name: str
    chunking: ChunkingConfig
    boilerplate_file: Path
    ann_threshold: int = 10_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    batch_size: int = 32

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps([self.chunking.min_words, self.chunking.max_words,
                                  self.chunking.overlap_sentences, self.ann_threshold,
                                  self.hnsw_m, self.hnsw_ef_construction,
                                  HNSW_STORAGE]).encode())
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
class LoadedIndex:
    """A verified build, ready for retrieval; vectors are memory-mapped."""

    path: Path
    manifest: dict[str, Any]
    passages: Sequence[Passage]  # a PassageStore when loaded from disk
    embeddings: np.ndarray
    dense: Any
    lexical: LexicalIndex
    row_facts: RowFacts | None = None  # None: made from the passages when a retriever needs them


def text_key(model_name: str, text: str) -> str:
    """The embedding cache key: a model and the exact text it embedded."""
    return hashlib.sha256(f"{model_name}\0{text}".encode()).hexdigest()


def current_build(index_dir: Path) -> Path | None:
    """The live build folder, or None when nothing has been built."""
    link = index_dir / "current"
    if link.exists():
        return link.resolve()
    if (index_dir / MANIFEST).exists():  # a bare build folder copied in by an operator
        return index_dir
    return None


def is_up_to_date(config: BuildConfig, index_dir: Path) -> bool:
    """True when the live build was made from the same corpus, model and settings."""
    build = current_build(index_dir)
    if build is None:
        return False
    try:
        manifest = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (manifest.get("format_version") == FORMAT_VERSION
            and manifest.get("model", {}).get("name") == config.model_name
            and manifest.get("corpus_hash") == corpus_hash(config.corpus)
            and manifest.get("config_hash") == config.fingerprint())


@dataclass
class ChunkedCorpus:
    """The corpus read and cut into passages, exactly as a build indexes it."""

    documents: list[Document]
    passages: list[Passage]
    dropped_boilerplate: int
    warnings: list[str]


def chunk_corpus(config: BuildConfig) -> ChunkedCorpus:
    """Read every corpus file and cut it into passages (boilerplate dropped and counted)."""
    loaded = load_corpus(config.corpus)
    boilerplate = BoilerplateFilter.from_file(config.boilerplate_file)
    passages: list[Passage] = []
    dropped = 0
    for doc in loaded.documents:
        doc_passages, doc_dropped = chunk_document(doc, config.chunking, boilerplate)
        passages.extend(doc_passages)
        dropped += doc_dropped
    return ChunkedCorpus(loaded.documents, passages, dropped, loaded.warnings)


def build_index(
    config: BuildConfig,
    index_dir: Path,
    embedder: Embedder,
    progress_factory: Callable[[int], Callable[[int], None]] | None = None,
) -> BuildReport:
    """Read, chunk, embed (reusing cached vectors), index and publish a new build atomically."""
    started = time.perf_counter()
    chunked = chunk_corpus(config)
    passages = chunked.passages
    report = BuildReport(documents=len(chunked.documents), passages=len(passages),
                         dropped_boilerplate=chunked.dropped_boilerplate, warnings=chunked.warnings)

    texts = [p.embedding_text() for p in passages]
    keys = [text_key(config.model_name, t) for t in texts]
    cache = _previous_vectors(index_dir, config.model_name)
    missing = [i for i, key in enumerate(keys) if key not in cache]
    report.re_embedded, report.reused = len(missing), len(keys) - len(missing)
    progress = progress_factory(len(missing)) if progress_factory and missing else None
    fresh = embedder.encode([texts[i] for i in missing], batch_size=config.batch_size,
                            progress=progress)
    dimension = fresh.shape[1] if len(missing) else embedder.dimension
    vectors = np.zeros((len(passages), dimension), dtype=np.float32)
    for row, i in enumerate(missing):
        vectors[i] = fresh[row]
    for i, key in enumerate(keys):
        if key in cache:
            vectors[i] = cache[key]

    dense, dense_info = _dense_index(vectors, config)
    report.dense_index = dense_info["type"]
    lexical = LexicalIndex.build(texts)

    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(builds)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=builds))
    try:
        _write_jsonl(tmp / PASSAGES, (p.to_json() for p in passages))
        (tmp / DOCUMENTS).write_text(json.dumps(_documents_json(chunked.documents), ensure_ascii=False),
                                     encoding="utf-8")
        np.save(tmp / EMBEDDINGS, vectors)
        faiss.write_index(dense, str(tmp / DENSE))
        lexical.save(tmp / BM25_DIR)
        RowFacts.of(passages, len(passages)).save(tmp)
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": {"name": config.model_name, "dimension": int(dimension)},
            "corpus_hash": corpus_hash(config.corpus),
            "config_hash": config.fingerprint(),
            "documents": report.documents,
            "passages": report.passages,
            "dense_index": dense_info,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "build_seconds": round(time.perf_counter() - started, 3),
            "stats": {"re_embedded": report.re_embedded, "reused": report.reused,
                      "dropped_boilerplate": report.dropped_boilerplate},
            "versions": _versions(),
            "files": _file_table(tmp),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        # mkdtemp makes the folder private (0700); a published build is read by the service's
        # own user, which in a container is not the user who built it.
        tmp.chmod(0o755)
        _fsync_tree(tmp)
        # Microsecond time first: build ids sort chronologically, which pruning relies on.
        build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + manifest["corpus_hash"][:8] \
            + "-" + tmp.name[-6:]
        final = builds / build_id
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _publish(index_dir, final)
    _prune_builds(builds, keep=final)
    report.path = final
    report.seconds = time.perf_counter() - started
    return report


def load_index(index_dir: Path, expected_model: str | None = None) -> LoadedIndex:
    """Open the live build after checking its manifest and files; any defect → IndexLoadError."""
    build = current_build(index_dir)
    rebuild = "run `qa build` to rebuild it"
    if build is None:
        raise IndexLoadError(f"no index found in {index_dir}; {rebuild}")
    try:
        manifest = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise IndexLoadError(f"index manifest in {build} is unreadable ({exc}); {rebuild}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexLoadError(
            f"index in {build} has format {manifest.get('format_version')}, expected "
            f"{FORMAT_VERSION}; {rebuild}")
    model_name = manifest.get("model", {}).get("name")
    if expected_model is not None and model_name != expected_model:
        raise IndexLoadError(
            f"index in {build} was built with model '{model_name}' but the configured model is "
            f"'{expected_model}'; {rebuild}")
    _verify_files(build, manifest.get("files") or {}, rebuild)
    try:
        # documents.json is a record of the build (verified above), not needed to answer.
        passages = PassageStore.open(build / PASSAGES)
        embeddings = np.load(build / EMBEDDINGS, mmap_mode="r")
        # MMAP_IFC maps the stored vectors and the HNSW graph instead of copying them, so the
        # workers of one machine share those pages (IO_FLAG_MMAP alone still copies them;
        # tests/test_index_store.py checks the file is mapped).
        dense = faiss.read_index(str(build / DENSE),
                                 faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
        lexical = LexicalIndex.load(build / BM25_DIR)
        row_facts = RowFacts.load(build)
    except Exception as exc:  # a corrupt file of any kind is reported as one line
        raise IndexLoadError(f"index in {build} is corrupt ({exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}); {rebuild}") from exc
    count = manifest.get("passages")
    dimension = manifest.get("model", {}).get("dimension")
    if not (len(passages) == count == embeddings.shape[0] == dense.ntotal) or \
            embeddings.shape[1] != dimension or dense.d != dimension or \
            (row_facts is not None and not row_facts.consistent_with(len(passages))):
        raise IndexLoadError(f"index in {build} is inconsistent (passage, vector or row-fact "
                             f"counts or dimensions differ); {rebuild}")
    return LoadedIndex(build, manifest, passages, embeddings, dense, lexical, row_facts)


# --- helpers ------------------------------------------------------------------------------------

def _previous_vectors(index_dir: Path, model_name: str) -> dict[str, np.ndarray]:
    """Vectors of the live build keyed by text hash, when it used the same model; else empty."""
    try:
        previous = load_index(index_dir, expected_model=model_name)
    except IndexLoadError:
        return {}
    return {text_key(model_name, p.embedding_text()): np.array(previous.embeddings[row])
            for row, p in enumerate(previous.passages)}


def _dense_index(vectors: np.ndarray, config: BuildConfig) -> tuple[Any, dict[str, Any]]:
    dimension = vectors.shape[1]
    if len(vectors) < config.ann_threshold:
        index = faiss.IndexFlatIP(dimension)
        info: dict[str, Any] = {"type": "flat"}
    else:
        # Half-precision vectors inside the graph: a query reads half the bytes, which is what
        # costs right after the model has flushed the caches, and gold-set answers are the same
        # (bench/dense_bench.py). Exact similarities still come from embeddings.npy.
        index = faiss.IndexHNSWSQ(dimension, faiss.ScalarQuantizer.QT_fp16, config.hnsw_m,
                                  faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.hnsw_ef_construction
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # building a graph does use every core
        index.train(vectors)
        info = {"type": "hnsw", "storage": HNSW_STORAGE, "m": config.hnsw_m,
                "ef_construction": config.hnsw_ef_construction}
    if len(vectors):
        index.add(vectors)
    return index, info


def _documents_json(documents: Sequence[Document]) -> dict[str, dict[str, Any]]:
    return {d.id: {"title": d.title, "summary": d.summary, "reviewed": d.reviewed,
                   "topics": list(d.topics), "evidence": d.evidence, "path": d.path,
                   "sources": [{"name": s.name, "url": s.url, "year": s.year} for s in d.sources]}
            for d in documents}


def _write_jsonl(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _file_table(root: Path) -> dict[str, dict[str, Any]]:
    table = {}
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        size = file.stat().st_size
        entry: dict[str, Any] = {"bytes": size}
        if size <= CHECKSUM_LIMIT:
            entry["sha256"] = _sha256(file)
        table[file.relative_to(root).as_posix()] = entry
    return table


def _verify_files(build: Path, files: dict[str, Any], rebuild: str) -> None:
    required = {PASSAGES, DOCUMENTS, EMBEDDINGS, DENSE}
    if not required <= set(files):
        raise IndexLoadError(f"index manifest in {build} lists no files; {rebuild}")
    for name, entry in files.items():
        path = build / name
        if not path.is_file():
            raise IndexLoadError(f"index file {path} is missing; {rebuild}")
        if path.stat().st_size != entry.get("bytes"):
            raise IndexLoadError(f"index file {path} has the wrong size (corrupt); {rebuild}")
        if entry.get("sha256") and _sha256(path) != entry["sha256"]:
            raise IndexLoadError(f"index file {path} fails its checksum (corrupt); {rebuild}")


def _fsync_tree(root: Path) -> None:
    for file in root.rglob("*"):
        if file.is_file():
            with file.open("rb") as handle:
                os.fsync(handle.fileno())


def _publish(index_dir: Path, build: Path) -> None:
    """Point `current` at the new build with a single atomic rename of a fresh symlink."""
    link = index_dir / "current"
    tmp_link = index_dir / f".current-{os.getpid()}"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    tmp_link.symlink_to(build.relative_to(index_dir))
    os.replace(tmp_link, link)


def _remove_stale_temporaries(builds: Path) -> None:
    for leftover in builds.glob(".tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _prune_builds(builds: Path, keep: Path) -> None:
    """Keep the newest few builds (a running server may still read the previous one)."""
    finished = sorted((p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: p.name)
    for old in finished[:-KEEP_BUILDS]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def _versions() -> dict[str, str]:
    versions = {}
    for package in ("stemcell-qa", "sentence-transformers", "torch", "faiss-cpu", "bm25s", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions
