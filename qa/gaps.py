"""What goes unanswered, without storing questions: counts per concept and outcome, per day.

Curators keeping the library current need to know which topics people ask about that it answers
badly. For every reply the server counts, for today, the concepts the question named (the
conditions, treatments, procedures, drugs, trials and products of the concept table, sorted; "no
recognised topic" when it named none) and each outcome: the answer's kind (answered, no answer,
out of scope, emergency), its triage flags (personal advice, clinic seeking, another language),
and thumbs down. Nothing else about the question is kept — no text, no time of day, no address.
Counts are added up in memory and written to the feedback database (SQLite or PostgreSQL) every
few seconds, so a question costs no database write; the report hides any cell below a minimum
count so that no one person's question stands out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Column, Date, Integer, String, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from qa.domain import Answer
from qa.errors import FeedbackError
from qa.feedback import FeedbackStore, metadata

LOG = logging.getLogger("qa.gaps")
UNRECOGNISED = "no recognised topic"
FLAG_OUTCOMES = ("emergency", "personal_advice", "unproven_clinic", "unsupported_language")
OUTCOME_NAMES = {"answer": "answered", "no_answer": "no answer", "out_of_scope": "out of scope",
                 "emergency": "emergency", "thumbs_down": "thumbs down",
                 "personal_advice": "personal advice", "unproven_clinic": "clinic seeking",
                 "unsupported_language": "other language"}
MAX_KEYS = 10_000  # counts held in memory while the database is away, at most

gap_table = Table(
    "gap_counts", metadata,
    Column("day", Date, primary_key=True),
    Column("concepts", String(500), primary_key=True),
    Column("outcome", String(40), primary_key=True),
    Column("count", Integer, nullable=False),
)


def concepts_key(concepts: Iterable[str]) -> str:
    names = sorted(set(concepts))
    return " + ".join(names) if names else UNRECOGNISED


def outcomes(answer: Answer) -> list[str]:
    """The outcomes one reply counts under: its kind and its triage flags."""
    found: list[str] = [answer.kind]
    found += [flag for flag in FLAG_OUTCOMES if flag in answer.flags and flag != answer.kind]
    return found


@dataclass(frozen=True)
class GapCell:
    concepts: str
    outcome: str
    count: int


class GapCounter:
    """Counts in memory, written to the database now and then (and at shutdown)."""

    def __init__(self, store: FeedbackStore, flush_seconds: float = 10.0,
                 clock: type[datetime] = datetime) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self._clock = clock
        self._counts: Counter[tuple[date, str, str]] = Counter()
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()
        self._failing = False

    def count_answer(self, answer: Answer) -> None:
        self.count(answer.concepts, outcomes(answer))

    def count(self, concepts: Sequence[str], names: Sequence[str]) -> None:
        today = self._clock.now(UTC).date()
        key = concepts_key(concepts)
        with self._lock:
            for name in names:
                if len(self._counts) < MAX_KEYS or (today, key, name) in self._counts:
                    self._counts[(today, key, name)] += 1
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Add the counts held in memory to the database; kept for later if it is away."""
        with self._lock:
            pending, self._counts = self._counts, Counter()
            self._last_flush = time.monotonic()
        if not pending:
            return
        try:
            self._write(pending)
        except (SQLAlchemyError, FeedbackError) as exc:
            with self._lock:
                pending.update(self._counts)
                self._counts = pending
            if not self._failing:
                self._failing = True
                LOG.error("gap counts not written; kept in memory until the database returns",
                          extra={"database": self.store.display_url,
                                 "reason": str(exc).splitlines()[0]})
            return
        self._failing = False

    def _write(self, pending: Counter[tuple[date, str, str]]) -> None:
        engine = self.store.database()
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        with engine.begin() as conn:
            for (day, key, outcome), count in sorted(pending.items()):
                statement = dialect.insert(gap_table).values(
                    day=day, concepts=key, outcome=outcome, count=count)
                conn.execute(statement.on_conflict_do_update(
                    index_elements=["day", "concepts", "outcome"],
                    set_={"count": gap_table.c.count + statement.excluded.count}))

    def report(self, since: date | None = None, min_count: int = 5) -> list[GapCell]:
        """Counts per concepts and outcome since a day, largest first; cells below `min_count`
        are left out."""
        self.flush()
        total = func.sum(gap_table.c.count)
        query = select(gap_table.c.concepts, gap_table.c.outcome, total.label("n")) \
            .group_by(gap_table.c.concepts, gap_table.c.outcome).having(total >= min_count) \
            .order_by(total.desc(), gap_table.c.outcome, gap_table.c.concepts)
        if since is not None:
            query = query.where(gap_table.c.day >= since)
        try:
            with self.store.database().connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise FeedbackError(f"cannot read gap counts from {self.store.display_url}: "
                                f"{exc}") from exc
        return [GapCell(c, o, int(n)) for c, o, n in rows]


def format_gaps(cells: Sequence[GapCell], min_count: int) -> str:
    """"no answer: 41 × {lupus + car-t}; 17 × {cost}" — one line per outcome."""
    by_outcome: dict[str, list[GapCell]] = {}
    for cell in cells:
        by_outcome.setdefault(cell.outcome, []).append(cell)
    if not by_outcome:
        return f"no cell reaches {min_count} yet"
    order = [o for o in OUTCOME_NAMES if o in by_outcome] + \
        sorted(o for o in by_outcome if o not in OUTCOME_NAMES)
    return "\n".join(
        f"{OUTCOME_NAMES.get(outcome, outcome)}: " + "; ".join(
            f"{c.count} × {{{c.concepts}}}" for c in by_outcome[outcome])
        for outcome in order) + f"\n(cells under {min_count} hidden)"
