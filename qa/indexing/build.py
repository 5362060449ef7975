"""Settings → a build: wires corpus, model and progress bar to index_store.build_index."""

from __future__ import annotations

from collections.abc import Callable

from qa.ingest.chunking import ChunkingConfig
from qa.encoders.torch_backend import Embedder, embedder_from_settings
from qa.indexing.layout import BuildConfig, BuildReport, build_index, is_up_to_date
from qa.settings import Settings


def build_config(settings: Settings) -> BuildConfig:
    return BuildConfig(
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


def _tqdm_progress(total: int) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc="embedding passages", unit="passage", leave=False)

    def advance(done: int) -> None:
        bar.update(done)
        if bar.n >= total:
            bar.close()

    return advance


def run_build(settings: Settings, if_needed: bool = False, show_progress: bool = False,
              embedder: Embedder | None = None) -> BuildReport:
    """Build unless `if_needed` and the live index already matches corpus, model and settings."""
    config = build_config(settings)
    if if_needed and is_up_to_date(config, settings.index_dir):
        return BuildReport(skipped=True)
    embedder = embedder or embedder_from_settings(settings)
    return build_index(config, settings.index_dir, embedder,
                       progress_factory=_tqdm_progress if show_progress else None)
