"""`qa report gaps`: what people ask that the library answers badly (counts, never questions)."""

from __future__ import annotations

import json
from datetime import date

import click

from qa.cli.options import settings_from


@click.group()
def report() -> None:
    """Reports for the people who keep the library current."""


@report.command()
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Only days from this date (YYYY-MM-DD).")
@click.option("--min-count", type=click.IntRange(1, None),
              help="Hide cells counted fewer times. Default: QA_GAP_MIN_COUNT (5).")
@click.option("--db-url", help="Database URL. Default: QA_FEEDBACK_DB_URL.")
@click.option("--json", "as_json", is_flag=True, help="Print the cells as JSON.")
def gaps(since: object, min_count: int | None, db_url: str | None, as_json: bool) -> None:
    """Counts per concepts and outcome (no answer, thumbs down, each triage category); no
    question text is ever recorded."""
    from qa.feedback import FeedbackStore
    from qa.gaps import GapCounter, format_gaps

    settings = settings_from(feedback_db_url=db_url)
    minimum = min_count or settings.gap_min_count
    day: date | None = since.date() if since is not None else None  # type: ignore[attr-defined]
    store = FeedbackStore.from_settings(settings)
    try:
        cells = GapCounter(store).report(day, minimum)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([cell.__dict__ for cell in cells], indent=2))
    else:
        click.echo(format_gaps(cells, minimum))
