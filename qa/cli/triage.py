"""`qa triage train | eval | explain`: rebuild the triage model, measure it, read one decision."""

from __future__ import annotations

import json
from pathlib import Path

import click

from qa.cli.options import settings_from


@click.group()
def triage() -> None:
    """Safety triage: the learned classifier, the red-flag layer and languages."""


@triage.command()
@click.option("--out", type=click.Path(path_type=Path),
              help="Where to write the model. Default: QA_TRIAGE_MODEL_FILE.")
def train(out: Path | None) -> None:
    """Train the classifier on the training split (deterministic) and print its
    cross-validated figures."""
    from qa.encoders import embedder_from_settings
    from qa.evaluation import format_triage_report
    from qa.safety.red_flags import RedFlags
    from qa.safety.training import train as fit

    settings = settings_from()
    target = out or settings.triage_model_file
    result = fit(settings.triage_training_data, embedder_from_settings(settings), target,
                 RedFlags.from_files(settings.red_flags_file, settings.crisis_lexicon_file))
    cases = [{"category": e.category, "subtype": e.subtype, "language": e.language,
              "kind": "answer", "flags": [], "predicted": max(s, key=lambda c: s[c])}
             for e, s in zip(result["examples"], result["cross_validated"])]
    click.echo(f"trained on {result['meta']['examples']} examples -> {target}")
    click.echo(f"thresholds: {json.dumps(result['meta']['thresholds'])}")
    click.echo("five-fold cross-validation on the training split (category by highest score):")
    click.echo(format_triage_report(cases))


@triage.command(name="eval")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory.")
@click.option("--predictions", type=click.Path(path_type=Path),
              help="Also write each message's reply (kind, category, flags) as JSON lines.")
def evaluate(files: tuple[Path, ...], index_dir: Path | None, predictions: Path | None) -> None:
    """Recall and precision per category, with Wilson 95 % intervals and a confusion matrix, of
    labelled messages answered exactly as a user would meet them (`ask`)."""
    from qa.engine import QAEngine
    from qa.evaluation import format_triage_report, read_jsonl, triage_reply

    engine = QAEngine.from_settings(settings_from(index_dir=index_dir))
    cases = [triage_reply(engine.ask, case)
             for file in files
             for path in (sorted(file.glob("*.jsonl")) if file.is_dir() else [file])
             for case in read_jsonl(path, required=("text", "category"))]
    if predictions:
        predictions.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases),
                               encoding="utf-8")
    click.echo(format_triage_report(cases))


@triage.command()
@click.argument("question")
@click.option("--history", multiple=True, help="An earlier message of the conversation "
              "(repeatable, oldest first).")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory.")
def explain(question: str, history: tuple[str, ...], index_dir: Path | None) -> None:
    """Why triage decided what it did for one message: each layer's reading."""
    from qa.engine import QAEngine
    from qa.safety.triage import Triager

    settings = settings_from(index_dir=index_dir)
    engine = QAEngine.from_settings(settings)
    triager = Triager.from_settings(settings, engine.speller.is_known, engine.embedder)
    understanding = engine.understand(question, history, as_typed=True)
    vectors = engine.embedder.encode([understanding.typed, *understanding.earlier])
    click.echo(json.dumps(triager.explain(understanding.typed, vectors[0], understanding.earlier,
                                          list(vectors[1:])), indent=2, ensure_ascii=False))
