"""`qa feedback report`: vote counts and the passages users voted down most often."""

from __future__ import annotations

import json
from pathlib import Path

import click

from qa.cli.options import settings_from
from qa.errors import IndexLoadError
from qa.feedback import FeedbackReport, FeedbackStore


@click.group()
def feedback() -> None:
    """Feedback (thumbs up/down) collected by the chat page and the widget."""


@feedback.command()
@click.option("--db-url", help="SQLAlchemy database URL. Default: QA_FEEDBACK_DB_URL or "
              "sqlite:///var/feedback.sqlite3.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="How many down-voted passages to list.")
@click.option("--index", "index_dir", type=click.Path(path_type=Path),
              help="Index directory, to show each passage's document and section.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def report(db_url: str | None, limit: int, index_dir: Path | None, as_json: bool) -> None:
    """Print vote counts and the most down-voted passages."""
    settings = settings_from(feedback_db_url=db_url, index_dir=index_dir)
    store = FeedbackStore.from_settings(settings)
    try:
        result = store.report(limit=limit)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    click.echo(format_report(result, store.display_url, _passage_labels(settings.index_dir)))


def _passage_labels(index_dir: Path) -> dict[str, str]:
    """passage id → "document id › section", from the live build if there is a sound one."""
    from qa.indexing.layout import load_index

    try:
        index = load_index(index_dir)
    except IndexLoadError:
        return {}
    return {p.id: f"{p.document_id} › {p.section}" for p in index.passages}


def format_report(result: FeedbackReport, where: str, labels: dict[str, str] | None = None) -> str:
    labels = labels or {}
    lines = [f"feedback in {where}",
             f"votes: {result.total} ({result.up} up, {result.down} down)"]
    if result.total:
        rate = 100.0 * result.up / result.total
        lines[-1] += f", {rate:.0f}% helpful"
    for kind, (up, down) in result.by_kind.items():
        lines.append(f"  {kind}: {up} up, {down} down")
    if result.with_question:
        lines.append(f"votes stored with their question: {result.with_question}")
    if result.most_down_voted:
        lines.append("most down-voted passages:")
        width = max(len(p.passage_id) for p in result.most_down_voted)
        for p in result.most_down_voted:
            label = labels.get(p.passage_id, "")
            lines.append(f"  {p.down:>4} down {p.up:>4} up  {p.passage_id:<{width}}  {label}"
                         .rstrip())
    else:
        lines.append("no down-voted passages")
    return "\n".join(lines)
