"""The index folder: what a build contains, how it is published, verified and loaded.

Layout under the index directory:
    builds/<build-id>/   one immutable build: manifest.json, passages.jsonl, documents.json,
                         embeddings.npy, dense.faiss, bm25/, the per-row facts ranking needs
                         (row_documents.npy, row_reviewed.npy, topic_rows.json) and one
                         vector per document (document_vectors.npy: qa.indexing.document_cards),
                         the speller's words, drug names and word pairs, and one vector per
                         concept of the synonym table (concept_vectors.npz:
                         qa.retrieval.concept_vectors)
    current              a symlink to the live build, replaced with one atomic rename
A crash mid-build leaves only a `builds/.tmp-*` folder behind; `current` still names the last
complete build. The serving path imports this module and never the ingestion stack: making a
build is `qa.indexing.build`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from qa.domain import Passage
from qa.errors import IndexLoadError
from qa.indexing import dense, document_cards
from qa.indexing.bm25 import LexicalIndex
from qa.indexing.passages import PassageStore
from qa.indexing.row_facts import FILES as ROW_FACT_FILES
from qa.indexing.row_facts import RowFacts

# 2: row facts are always stored; 3: the spelling vocabulary too; 4: document cards too;
# 5: the drug names too; 6: the frequent word pairs too; 7: the concept vectors too
FORMAT_VERSION = 7
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
DOCUMENTS = "documents.json"
EMBEDDINGS = "embeddings.npy"
DENSE = "dense.faiss"
BM25_DIR = "bm25"
VOCABULARY = "vocabulary.json"  # word -> count: the spelling dictionary (qa.retrieval.spelling)
DRUG_NAMES = "drug_names.json"  # name -> generic names' first words (qa.indexing.drug_names)
WORD_PAIRS = "word_pairs.json"  # [first, second, count] the library writes often (the speller)
CONCEPT_VECTORS = "concept_vectors.npz"  # text -> vector (qa.retrieval.concept_vectors)
CHECKSUM_LIMIT = 256 * 1024 * 1024  # files above this are checked by size only, to keep start fast
KEEP_BUILDS = 3
REBUILD = "run `qa build` to rebuild it"


@dataclass
class LoadedIndex:
    """A verified build, ready for retrieval; vectors are memory-mapped."""

    path: Path
    manifest: dict[str, Any]
    passages: Sequence[Passage]  # a PassageStore when loaded from disk
    embeddings: np.ndarray
    dense: Any
    lexical: LexicalIndex
    row_facts: RowFacts
    vocabulary: dict[str, int]
    document_vectors: np.ndarray  # one card per document number of `row_facts` (memory-mapped)
    drug_names: dict[str, list[str]] = field(default_factory=dict)
    word_pairs: dict[tuple[str, str], int] = field(default_factory=dict)
    concept_vectors: dict[str, np.ndarray] = field(default_factory=dict)


def current_build(index_dir: Path) -> Path | None:
    """The live build folder, or None when nothing has been built."""
    link = index_dir / "current"
    if link.exists():
        return link.resolve()
    if (index_dir / MANIFEST).exists():  # a bare build folder copied in by an operator
        return index_dir
    return None


def read_manifest(build: Path) -> dict[str, Any]:
    """A build's manifest; unreadable → IndexLoadError."""
    try:
        manifest = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise IndexLoadError(f"index manifest in {build} is unreadable ({exc}); {REBUILD}") from exc
    return manifest


def load_index(index_dir: Path, expected_model: str | None = None) -> LoadedIndex:
    """Open the live build after checking its manifest and files; any defect → IndexLoadError."""
    build = current_build(index_dir)
    rebuild = REBUILD
    if build is None:
        raise IndexLoadError(f"no index found in {index_dir}; {rebuild}")
    manifest = read_manifest(build)
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
        dense_index = dense.load(build / DENSE)
        lexical = LexicalIndex.load(build / BM25_DIR)
        row_facts = RowFacts.load(build)
        document_vectors = np.load(build / document_cards.VECTORS, mmap_mode="r")
        vocabulary = json.loads((build / VOCABULARY).read_text(encoding="utf-8"))
        if not isinstance(vocabulary, dict):
            raise ValueError(f"{VOCABULARY} is not a JSON object")
        drug_names = json.loads((build / DRUG_NAMES).read_text(encoding="utf-8"))
        if not isinstance(drug_names, dict):
            raise ValueError(f"{DRUG_NAMES} is not a JSON object")
        word_pairs = {(str(first), str(second)): int(count) for first, second, count in
                      json.loads((build / WORD_PAIRS).read_text(encoding="utf-8"))}
        concept_vectors = read_concept_vectors(build / CONCEPT_VECTORS)
    except Exception as exc:  # a corrupt file of any kind is reported as one line
        raise IndexLoadError(f"index in {build} is corrupt ({exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}); {rebuild}") from exc
    count = manifest.get("passages")
    dimension = manifest.get("model", {}).get("dimension")
    if not (len(passages) == count == embeddings.shape[0] == dense_index.ntotal) or \
            embeddings.shape[1] != dimension or dense_index.d != dimension or \
            not row_facts.consistent_with(len(passages)) or \
            document_vectors.shape != (row_facts.document_count(), dimension) or \
            any(v.shape != (dimension,) for v in concept_vectors.values()):
        raise IndexLoadError(f"index in {build} is inconsistent (passage, vector, row-fact, "
                             f"document-card or concept counts or dimensions differ); {rebuild}")
    return LoadedIndex(build, manifest, passages, embeddings, dense_index, lexical, row_facts,
                       vocabulary, document_vectors, drug_names, word_pairs, concept_vectors)


# --- helpers ------------------------------------------------------------------------------------

def write_build(index_dir: Path, manifest: dict[str, Any], write_files: Callable[[Path], None],
                corpus_hash: str) -> Path:
    """Write a build into a private temporary folder (`write_files` fills it), add the manifest
    with every file's size and checksum, make it durable, rename it into `builds/` and point
    `current` at it. Anything failing leaves the live build untouched."""
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(builds)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=builds))
    try:
        write_files(tmp)
        manifest = {"format_version": FORMAT_VERSION, **manifest, "versions": _versions(),
                    "files": _file_table(tmp)}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        # mkdtemp makes the folder private (0700); a published build is read by the service's
        # own user, which in a container is not the user who built it.
        tmp.chmod(0o755)
        _fsync_tree(tmp)
        # Microsecond time first: build ids sort chronologically, which pruning relies on.
        build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + corpus_hash[:8] \
            + "-" + tmp.name[-6:]
        final = builds / build_id
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _publish(index_dir, final)
    _prune_builds(builds, keep=final)
    return final


def write_passages(path: Path, passages: Iterable[Passage]) -> None:
    _write_jsonl(path, (p.to_json() for p in passages))


def write_vectors(directory: Path, vectors: np.ndarray, dense_index: Any,
                  document_vectors: np.ndarray) -> None:
    np.save(directory / EMBEDDINGS, vectors)
    dense.save(dense_index, directory / DENSE)
    np.save(directory / document_cards.VECTORS, document_vectors)


def write_concept_vectors(path: Path, texts: Sequence[str], vectors: np.ndarray) -> None:
    """Texts as one JSON string beside their vectors: no pickles in a build."""
    np.savez(path, texts=np.array(json.dumps(list(texts), ensure_ascii=False)),
             vectors=np.asarray(vectors, dtype=np.float32))


def read_concept_vectors(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        texts = json.loads(str(data["texts"]))
        vectors = np.array(data["vectors"])
    if not isinstance(texts, list) or vectors.shape[:1] != (len(texts),):
        raise ValueError(f"{CONCEPT_VECTORS} holds {len(texts)} texts and {len(vectors)} vectors")
    return {str(text): vector for text, vector in zip(texts, vectors)}


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
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
    required = {PASSAGES, DOCUMENTS, EMBEDDINGS, DENSE, VOCABULARY, document_cards.VECTORS,
                *ROW_FACT_FILES}
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
