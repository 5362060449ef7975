"""The `qa` command: a thin wrapper over the engine, the build and the server. Any QAError
becomes one line on stderr and exit status 1 (qa.cli.options)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from qa.cli.feedback import feedback
from qa.cli.triage import triage
from qa.cli.options import OneLineErrors, settings_from
from qa.cli.report import report


@click.group(cls=OneLineErrors)
@click.version_option(package_name="stemcell-qa")
def main() -> None:
    """Answer questions on stem-cell therapy for autoimmune disease by quoting a curated corpus."""


@main.command()
@click.option("--corpus", "corpus", multiple=True, type=click.Path(path_type=Path),
              help="Corpus file or directory (repeatable). Default: QA_CORPUS or ./corpus.")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory.")
@click.option("--model", help="sentence-transformers model name or local path.")
@click.option("--if-needed", is_flag=True, help="Do nothing when the index is already up to date.")
def build(corpus: tuple[Path, ...], index_dir: Path | None, model: str | None,
          if_needed: bool) -> None:
    """Build (or incrementally rebuild) the index from the corpus."""
    from qa.indexing.build import run_build
    from qa.retrieval.concept_vectors import texts_for_build

    settings = settings_from(corpus=list(corpus) or None, index_dir=index_dir, model=model)
    report = run_build(settings, if_needed=if_needed, show_progress=True,
                       concept_texts=texts_for_build(settings.synonyms_file))
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.skipped:
        click.echo(f"index is up to date: {settings.index_dir}")
        return
    click.echo(
        f"built {report.path}: {report.documents} documents, {report.passages} passages, "
        f"{report.re_embedded} re-embedded, {report.reused} reused, "
        f"{report.dropped_boilerplate} boilerplate sentences dropped, "
        f"{report.dense_index} dense index, {report.seconds:.1f}s")


@main.command()
@click.argument("question")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly the API's JSON.")
@click.option("--timings", is_flag=True, help="Also print milliseconds per stage (to stderr).")
def ask(question: str, index_dir: Path | None, as_json: bool, timings: bool) -> None:
    """Ask one question."""
    from qa.engine import QAEngine
    from qa.answering.plain_text import answer_as_text
    from qa.stage_clock import StageClock

    engine = QAEngine.from_settings(settings_from(index_dir=index_dir))
    clock = StageClock()
    answer = engine.ask(question, clock=clock)
    if timings:
        click.echo("  ".join(f"{stage} {ms:.2f} ms" for stage, ms in clock.laps.items()), err=True)
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(answer_as_text(answer))


@main.command()
@click.option("--queries", "queries_file", required=True, type=click.Path(path_type=Path),
              help='JSONL file of {"qid": ..., "question": ...} lines.')
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory.")
@click.option("--top-k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--format", "fmt", default="trec", show_default=True,
              type=click.Choice(["trec", "jsonl"]))
@click.option("--tag", default="qa", show_default=True, help="Run tag for TREC output.")
def search(queries_file: Path, index_dir: Path | None, top_k: int, fmt: str, tag: str) -> None:
    """Batch document-level retrieval (TREC run or JSONL), for evaluation on any corpus."""
    from qa.engine import QAEngine
    from qa.evaluation import read_jsonl

    queries = read_jsonl(queries_file, required=("qid", "question"))
    engine = QAEngine.from_settings(settings_from(index_dir=index_dir))
    for query in queries:
        ranking = engine.rank_documents(str(query["question"]), k=top_k)
        if fmt == "trec":
            for rank, (doc_id, score) in enumerate(ranking, start=1):
                click.echo(f"{query['qid']} Q0 {doc_id} {rank} {score:.6f} {tag}")
        else:
            click.echo(json.dumps({"qid": query["qid"], "results": [
                {"document_id": d, "rank": r, "score": round(s, 6)}
                for r, (d, s) in enumerate(ranking, start=1)]}, ensure_ascii=False))


@main.command(name="eval")
@click.argument("gold_file", type=click.Path(path_type=Path))
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def evaluate(gold_file: Path, index_dir: Path | None, as_json: bool) -> None:
    """Retrieval quality on a gold set: hit@1, hit@3, MRR@10, nDCG@10, abstention rates."""
    from qa.engine import QAEngine
    from qa.evaluation import evaluate_gold, format_report, read_gold

    gold = read_gold(gold_file)
    engine = QAEngine.from_settings(settings_from(index_dir=index_dir))
    report = evaluate_gold(engine, gold)
    click.echo(json.dumps(report.summary(), indent=2) if as_json else format_report(report))


@main.command()
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory.")
@click.option("--host", help="Bind address (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default 1).")
def serve(index_dir: Path | None, host: str | None, port: int | None,
          workers: int | None) -> None:
    """Serve the chat page, widget and API on the loaded index (SIGHUP reloads the index)."""
    from qa.server.serve import serve_forever

    serve_forever(settings_from(index_dir=index_dir, host=host, port=port, workers=workers))


main.add_command(feedback)
main.add_command(triage)
main.add_command(report)

if __name__ == "__main__":  # pragma: no cover
    main()
