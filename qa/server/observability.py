"""Prometheus metrics and structured request logs — never the question text unless opted in.

Each app gets its own registry (tests build many apps in one process). The request middleware adds
an X-Request-ID (kept from the client when it looks sane), times the request, counts it by route
template and status, and writes one log line with those facts and nothing from the body.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOG = logging.getLogger("qa.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The service's metrics, on a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("qa_http_requests_total", "HTTP requests by route and status",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("qa_http_request_duration_seconds", "HTTP request latency",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, registry=r)
        self.answers = Counter("qa_answers_total", "Answers by kind", ["kind"], registry=r)
        self.abstentions = Counter("qa_abstentions_total", "Questions answered with no_answer",
                                   registry=r)
        self.triage = Counter("qa_triage_total", "Triage decisions by category", ["category"],
                              registry=r)
        self.rate_limited = Counter("qa_rate_limited_total", "Requests refused by rate limiting",
                                    registry=r)
        self.rate_limit_shared = Gauge(
            "qa_rate_limit_shared", "1 while rate limits are counted in the shared store "
            "(QA_RATE_LIMIT_STORAGE), 0 while this worker counts alone", registry=r)
        self.index_passages = Gauge("qa_index_passages", "Passages in the loaded index", registry=r)
        self.index_documents = Gauge("qa_index_documents", "Documents in the loaded index",
                                     registry=r)
        self.index_build_seconds = Gauge("qa_index_build_seconds",
                                         "Build time of the loaded index", registry=r)
        self.index_size_bytes = Gauge("qa_index_size_bytes", "On-disk size of the loaded index",
                                      registry=r)
        self.index_reloads = Counter("qa_index_reloads_total", "Index hot-swaps by outcome",
                                     ["outcome"], registry=r)

    def observe_answer(self, answer: Any) -> None:
        self.answers.labels(answer.kind).inc()
        self.triage.labels(answer.triage.category).inc()
        if answer.kind == "no_answer":
            self.abstentions.inc()

    def observe_index(self, manifest: dict[str, Any]) -> None:
        self.index_passages.set(manifest.get("passages") or 0)
        self.index_documents.set(manifest.get("documents") or 0)
        self.index_build_seconds.set(manifest.get("build_seconds") or 0)
        files = manifest.get("files") or {}
        self.index_size_bytes.set(sum(int(f.get("bytes", 0)) for f in files.values()))

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RequestObserver:
    """Request id, timing, metrics and one structured log line per request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route, scope["method"]).observe(elapsed)
            LOG.info("request", extra={"request_id": request_id, "method": scope["method"],
                                       "route": route, "status": status,
                                       "duration_ms": round(elapsed * 1000, 2)})


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    """`json`: one JSON object a line (python-json-logger); `text`: a readable line."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"asctime": "time", "levelname": "level"}))
    else:
        handler.setFormatter(_TextWithExtras())
    root = logging.getLogger("qa")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class _TextWithExtras(logging.Formatter):
    _standard = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in record.__dict__.items() if k not in self._standard}
        base = f"{self.formatTime(record)} {record.levelname} {record.name}: {record.getMessage()}"
        return base + "".join(f" {k}={v}" for k, v in extras.items())
