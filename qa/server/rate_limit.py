"""Per-client rate limiting for the question endpoints, on the maintained `limits` library.

A client is its IP address (the real one: behind a reverse proxy, uvicorn's ProxyHeadersMiddleware
rewrites it from X-Forwarded-For only when the direct peer is a configured trusted proxy) and, when
the widget sends one, its session id. Sessions are limited at `QA_RATE_LIMIT`; an IP as a whole at
`QA_RATE_LIMIT_PER_IP`, so rotating session ids cannot lift the ceiling and many people behind one
NAT address are not throttled by each other. Refusals are 429 with Retry-After.
"""

from __future__ import annotations

import html
import math
import re
import time
from collections.abc import Callable

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from qa.errors import ConfigError
from qa.server.guard import send_error

SESSION_HEADER = b"x-qa-session"
_SESSION_SHAPE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def parse_rate(value: str) -> RateLimitItem | None:
    """`30/minute` → a limit; `off` (or empty) → None, meaning no limit."""
    if value.strip().lower() in ("", "off", "none", "0"):
        return None
    try:
        return parse(value)
    except ValueError as exc:
        raise ConfigError(f"invalid rate limit '{value}': use e.g. 30/minute or off") from exc


class RateLimiter:
    """ASGI middleware limiting selected (method, path) pairs per client."""

    def __init__(self, app: ASGIApp, rate: str, per_ip_rate: str,
                 limited: set[tuple[str, str]], exempt_ips: set[str] | None = None,
                 on_reject: Callable[[], None] | None = None) -> None:
        self.app = app
        self.session_limit = parse_rate(rate)
        self.ip_limit = parse_rate(per_ip_rate) if self.session_limit else None
        self.limited = limited
        self.exempt_ips = exempt_ips or set()
        self.on_reject = on_reject
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.session_limit is None or \
                (scope["method"], scope["path"]) not in self.limited:
            await self.app(scope, receive, send)
            return
        ip = (scope.get("client") or ("unknown", 0))[0]
        if ip in self.exempt_ips:
            await self.app(scope, receive, send)
            return
        session = dict(scope["headers"]).get(SESSION_HEADER, b"").decode("latin-1")
        checks: list[tuple[RateLimitItem, str]] = []
        if session and _SESSION_SHAPE.match(session):
            checks.append((self.session_limit, f"{ip}|{session}"))
            if self.ip_limit:
                checks.append((self.ip_limit, ip))
        else:
            checks.append((self.session_limit, ip))
        for limit, key in checks:
            if not self._limiter.hit(limit, key):
                reset = self._limiter.get_window_stats(limit, key).reset_time
                retry = max(1, math.ceil(reset - time.time()))
                if self.on_reject:
                    self.on_reject()
                message = (f"Too many questions in a short time. Please wait {retry} seconds "
                           "and try again.")
                accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
                if "text/html" in accept:  # a browser's no-JavaScript form post: a page, not JSON
                    await send_html_page(send, 429, message, retry, back=scope["path"])
                else:
                    await send_error(send, 429, "rate_limited", message,
                                     headers={"Retry-After": str(retry)})
                return
        await self.app(scope, receive, send)


async def send_html_page(send: Send, status: int, message: str, retry: int, back: str) -> None:
    """A minimal, script-free page for form posts (the message is fixed text, nothing echoed)."""
    target = "/embed" if back.startswith("/embed") else "/"
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>Please wait a moment</title><link rel="stylesheet" href="/static/chat.css">'
            f'</head><body><main class="page"><h1>Please wait a moment</h1><p role="alert">'
            f'{html.escape(message)}</p><p><a href="{target}">Back to the questions</a></p>'
            f'</main></body></html>').encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry).encode())]})
    await send({"type": "http.response.body", "body": body})
