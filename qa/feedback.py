"""Thumbs up/down on answers, stored with SQLAlchemy (SQLite by default, any SQL database by URL).

What is kept, by design: the vote, the answer kind, the ids of the quoted passages (in rank
order) and the corpus hash of the index that answered — enough to find passages that mislead or
disappoint.
The question text is stored only when the operator opts in (`QA_FEEDBACK_STORE_QUESTIONS=true`).
No IP address, user agent or other identifier is recorded.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import (Column, DateTime, Engine, ForeignKey, Integer, MetaData, String, Table,
                        Text, case, create_engine, func, insert, select)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from qa.errors import ConfigError, FeedbackError
from qa.settings import Settings

LOG = logging.getLogger("qa.feedback")

Vote = Literal["up", "down"]
VOTES = ("up", "down")
MAX_PASSAGES = 20

metadata = MetaData()

feedback_table = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("vote", String(8), nullable=False),
    Column("answer_kind", String(32), nullable=False),
    Column("corpus_hash", String(128), nullable=True),
    Column("question", Text, nullable=True),
)

feedback_passage_table = Table(
    "feedback_passage", metadata,
    Column("feedback_id", Integer, ForeignKey("feedback.id", ondelete="CASCADE"),
           primary_key=True),
    Column("rank", Integer, primary_key=True),
    Column("passage_id", String(200), nullable=False, index=True),
)


@dataclass(frozen=True)
class PassageVotes:
    passage_id: str
    down: int
    up: int


@dataclass(frozen=True)
class FeedbackReport:
    total: int
    up: int
    down: int
    by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind → (up, down)
    most_down_voted: list[PassageVotes] = field(default_factory=list)
    with_question: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "total": self.total, "up": self.up, "down": self.down,
            "by_kind": {k: {"up": u, "down": d} for k, (u, d) in self.by_kind.items()},
            "most_down_voted": [{"passage_id": p.passage_id, "down": p.down, "up": p.up}
                                for p in self.most_down_voted],
            "with_question": self.with_question,
        }


def _engine_for(url: str) -> Engine:
    """A SQLAlchemy engine; SQLite files get their folder created and thread-safe connections."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"invalid feedback database URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            return create_engine(url, connect_args={"check_same_thread": False},
                                 poolclass=StaticPool)
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return create_engine(url, connect_args={"check_same_thread": False})
    try:
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:  # e.g. a database driver that is not installed
        raise ConfigError(f"cannot use feedback database URL {url!r}: {exc}") from exc


class FeedbackStore:
    """Writes votes and summarises them; the schema is created on first use."""

    def __init__(self, url: str, store_questions: bool = False) -> None:
        self.url = url
        self.store_questions = store_questions
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._failing = False

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedbackStore:
        return cls(settings.feedback_db_url, settings.feedback_store_questions)

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for messages."""
        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except ArgumentError:
            return "(invalid URL)"

    def database(self) -> Engine:
        with self._lock:
            if self._engine is None:
                try:
                    engine = _engine_for(self.url)
                except OSError as exc:  # e.g. the SQLite directory cannot be created
                    raise FeedbackError(
                        f"cannot open the feedback database {self.display_url}: {exc}") from exc
                try:
                    metadata.create_all(engine)
                except SQLAlchemyError as exc:
                    engine.dispose()
                    raise FeedbackError(
                        f"cannot open the feedback database {self.display_url}: {exc}") from exc
                self._engine = engine
            return self._engine

    def record(self, vote: str, passage_ids: list[str] | tuple[str, ...], answer_kind: str,
               question: str | None = None, corpus_hash: str | None = None) -> int:
        """Store one vote; the question only if the operator opted in. Returns the row id."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}")
        ids = list(dict.fromkeys(passage_ids))[:MAX_PASSAGES]
        kept_question = question if (self.store_questions and question) else None
        try:
            with self.database().begin() as conn:
                row = conn.execute(insert(feedback_table).values(
                    created_at=datetime.now(UTC), vote=vote, answer_kind=answer_kind,
                    corpus_hash=corpus_hash, question=kept_question))
                key = row.inserted_primary_key
                assert key is not None  # an INSERT always reports the key it made
                feedback_id = int(key[0])
                if ids:
                    conn.execute(insert(feedback_passage_table), [
                        {"feedback_id": feedback_id, "rank": rank, "passage_id": pid}
                        for rank, pid in enumerate(ids, start=1)])
        except (SQLAlchemyError, FeedbackError) as exc:
            self._log_outage_once(exc)
            if isinstance(exc, FeedbackError):
                raise
            raise FeedbackError(f"cannot store feedback in {self.display_url}: {exc}") from exc
        if self._failing:
            self._failing = False
            LOG.info("feedback database available again", extra={"database": self.display_url})
        return feedback_id

    def _log_outage_once(self, exc: Exception) -> None:
        """One error line per outage, not one per vote (answers keep flowing meanwhile)."""
        if not self._failing:
            self._failing = True
            LOG.error("feedback database unavailable; votes get 503 until it returns",
                      extra={"database": self.display_url, "reason": str(exc).splitlines()[0]})

    def report(self, limit: int = 10) -> FeedbackReport:
        """Vote counts overall and by answer kind, and the passages most often voted down."""
        up = func.sum(case((feedback_table.c.vote == "up", 1), else_=0))
        down = func.sum(case((feedback_table.c.vote == "down", 1), else_=0))
        try:
            with self.database().connect() as conn:
                by_kind = {
                    kind: (int(u or 0), int(d or 0))
                    for kind, u, d in conn.execute(
                        select(feedback_table.c.answer_kind, up, down)
                        .group_by(feedback_table.c.answer_kind)
                        .order_by(feedback_table.c.answer_kind))}
                with_question = conn.execute(
                    select(func.count()).select_from(feedback_table)
                    .where(feedback_table.c.question.is_not(None))).scalar_one()
                joined = feedback_passage_table.join(feedback_table)
                p_down = func.sum(case((feedback_table.c.vote == "down", 1), else_=0))
                p_up = func.sum(case((feedback_table.c.vote == "up", 1), else_=0))
                rows = conn.execute(
                    select(feedback_passage_table.c.passage_id, p_down.label("down"),
                           p_up.label("up"))
                    .select_from(joined)
                    .group_by(feedback_passage_table.c.passage_id)
                    .having(p_down > 0)
                    .order_by(p_down.desc(), p_up.asc(), feedback_passage_table.c.passage_id)
                    .limit(limit)).all()
        except SQLAlchemyError as exc:
            raise FeedbackError(f"cannot read feedback from {self.display_url}: {exc}") from exc
        total_up = sum(u for u, _ in by_kind.values())
        total_down = sum(d for _, d in by_kind.values())
        return FeedbackReport(
            total=total_up + total_down, up=total_up, down=total_down, by_kind=by_kind,
            most_down_voted=[PassageVotes(pid, int(d), int(u)) for pid, d, u in rows],
            with_question=int(with_question))

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
