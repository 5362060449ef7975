"""`qa serve`: uvicorn with production behaviour — structured logs, SIGHUP index reload,
and a bounded graceful drain of in-flight requests on SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import threading

import uvicorn

from qa.api import create_app
from qa.engine import QAEngine
from qa.errors import QAError
from qa.observability import configure_logging
from qa.settings import Settings

LOG = logging.getLogger("qa.serve")


def serve_forever(settings: Settings) -> None:
    """Load (or refuse with one line), then serve until SIGTERM/SIGINT."""
    configure_logging(settings.log_format, settings.log_level)
    engine = QAEngine.from_settings(settings)
    app = create_app(settings, engine)
    holder = app.state.engine

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
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning",
        proxy_headers=False,  # the app's own ProxyHeadersMiddleware applies QA_TRUSTED_PROXIES
        server_header=False, timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        # The app answers 431 above its 16 KiB header limit; the HTTP parser's own
        # ceiling sits above that so clients get that clear answer rather than a reset.
        h11_max_incomplete_event_size=64 * 1024)
    print(f"serving on http://{settings.host}:{settings.port} "
          f"({len(engine.index.passages)} passages)", file=sys.stderr, flush=True)
    uvicorn.Server(config).run()


def _exit_cleanly(*_: object) -> None:
    LOG.info("shut down after draining in-flight requests")
    raise SystemExit(0)
