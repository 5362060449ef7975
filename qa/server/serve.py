"""`qa serve`: uvicorn with production behaviour — structured logs, SIGHUP index reload,
and a bounded graceful drain of in-flight requests on SIGTERM.

One worker: the app runs in this process; SIGHUP (or POST /admin/reload) hot-swaps the index.
Several workers: uvicorn's supervisor spawns them, each building the app with `worker_app`; the
index files are memory-mapped, so the workers share those pages. SIGHUP to the supervisor replaces
the workers one at a time, each new one ready (with the new build) before the old one stops.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

import uvicorn

from qa.server.app import create_app
from qa.encoders import ensure_onnx_export
from qa.engine import QAEngine
from qa.errors import QAError
from qa.indexing.layout import load_index
from qa.server.observability import configure_logging
from qa.settings import Settings

LOG = logging.getLogger("qa.serve")


def serve_forever(settings: Settings) -> None:
    """Load (or refuse with one line), then serve until SIGTERM/SIGINT."""
    configure_logging(settings.log_format, settings.log_level)
    if settings.workers > 1:
        _serve_with_workers(settings)
        return
    engine = QAEngine.from_settings(settings)
    app = create_app(settings, engine)
    holder = app.state.qa.engines

    def reload_in_background(*_: object) -> None:
        def work() -> None:
            try:
                result = holder.reload()
                LOG.info("index reload (SIGHUP)", extra=result)
            except QAError as exc:
                LOG.error("index reload refused (SIGHUP)", extra={"reason": str(exc)})

        threading.Thread(target=work, name="index-reload", daemon=True).start()

    # uvicorn drains in-flight requests, then re-raises the captured signal to this handler:
    # a drained shutdown is a clean exit, not a crash.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, reload_in_background)
    print(f"serving on http://{settings.host}:{settings.port} "
          f"({len(engine.index.passages)} passages)", file=sys.stderr, flush=True)
    uvicorn.Server(uvicorn.Config(app, **_uvicorn_options(settings))).run()


def worker_app():
    """App factory run inside each worker process: settings come from the environment, which
    the supervisor set from its own settings (command-line flags included)."""
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings, QAEngine.from_settings(settings))


def _serve_with_workers(settings: Settings) -> None:
    # Refuse a missing or broken index here, with one line, before spawning anything.
    index = load_index(settings.index_dir, expected_model=settings.model)
    if settings.model_backend == "onnx":
        try:  # export here once, not in every worker at the same time
            ensure_onnx_export(settings)
        except (QAError, OSError) as exc:  # each worker then falls back to PyTorch and says so
            LOG.warning("ONNX export failed", extra={"reason": str(exc)})
    os.environ.update({"QA_INDEX_DIR": str(settings.index_dir), "QA_WORKERS": str(settings.workers),
                       "QA_HOST": settings.host, "QA_PORT": str(settings.port)})
    print(f"serving on http://{settings.host}:{settings.port} with {settings.workers} workers "
          f"({len(index.passages)} passages)", file=sys.stderr, flush=True)
    del index
    uvicorn.run("qa.server.serve:worker_app", factory=True, workers=settings.workers,
                **_uvicorn_options(settings))


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    return dict(
        host=settings.host, port=settings.port, log_level="warning",
        proxy_headers=False,  # the app's own ProxyHeadersMiddleware applies QA_TRUSTED_PROXIES
        server_header=False, timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        # The app answers 431 above its 16 KiB header limit; the HTTP parser's own
        # ceiling sits above that so clients get that clear answer rather than a reset.
        h11_max_incomplete_event_size=64 * 1024,
        # A replacement worker loads the model and verifies the index before it is ready, which
        # takes seconds, not uvicorn's default 5; until then the old worker keeps serving.
        timeout_worker_healthcheck=60)


def _exit_cleanly(*_: object) -> None:
    LOG.info("shut down after draining in-flight requests")
    raise SystemExit(0)
