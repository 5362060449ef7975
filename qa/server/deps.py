"""What routes are handed: the server's state, and the live engine (swapped by a reload), as
FastAPI dependencies (`Annotated` aliases), never read from globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from qa.engine import QAEngine
from qa.feedback import FeedbackStore
from qa.gaps import GapCounter
from qa.server.engine_holder import EngineHolder
from qa.server.guard import Counters
from qa.server.observability import Metrics
from qa.server.security import OriginPolicy
from qa.settings import Settings


@dataclass(frozen=True)
class ServerState:
    """Everything the routes share, made once by `create_app`."""

    settings: Settings
    engines: EngineHolder
    metrics: Metrics
    feedback: FeedbackStore
    origins: OriginPolicy
    templates: Jinja2Templates
    counters: Counters
    gaps: GapCounter


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.qa
    return state


def current_engine(request: Request) -> QAEngine:
    """The engine to answer this request with: the live one when the request arrived."""
    return server_state(request).engines.engine


StateDep = Annotated[ServerState, Depends(server_state)]
EngineDep = Annotated[QAEngine, Depends(current_engine)]
