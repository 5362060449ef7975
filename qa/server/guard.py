"""The request guard: hostile requests and too many questions are refused before any parser or
the model sees them. Two ASGI middlewares, each answering in the project's one error shape.

`RequestGuard`: a body larger than the limit (by Content-Length or while streaming) → 413;
headers over the limit → 431; a body that trickles in slower than the timeout → 408; bytes that
are not UTF-8 → 400; JSON nested deeper than the limit (which would make the JSON parser recurse
without bound) → 400.

`RateLimiter`: per-client limits on the question endpoints, on the maintained `limits` library.
A client is its IP address (the real one: behind a reverse proxy, uvicorn's ProxyHeadersMiddleware
rewrites it from X-Forwarded-For only when the direct peer is a configured trusted proxy) and,
when the widget sends one, its session id. Sessions are limited at `QA_RATE_LIMIT`; an IP as a
whole at `QA_RATE_LIMIT_PER_IP`, so rotating session ids cannot lift the ceiling and many people
behind one NAT address are not throttled by each other. Refusals are 429 with Retry-After: JSON,
or the `429.html` page for a browser's no-JavaScript form post.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import threading
import time
from collections.abc import Callable

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.server.responses import HttpMiddleware, send_error, send_response

LOG = logging.getLogger("qa.server.guard")
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
RETRY_SHARED_SECONDS = 15.0  # after a failure, how long counting stays in this process
SHARED_TIMEOUT_SECONDS = 0.25  # a shared store slower than this counts as unreachable
SESSION_HEADER = b"x-qa-session"
_SESSION_SHAPE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """True when arrays/objects nest deeper than `limit` (brackets inside strings ignored)."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


class RequestGuard(HttpMiddleware):
    """Size, time, encoding and nesting limits for request bodies."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout: float,
                 max_json_depth: int, max_header_bytes: int = 16_384) -> None:
        super().__init__(app)
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.max_json_depth = max_json_depth

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        header_bytes = sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        if header_bytes > self.max_header_bytes:
            await send_error(send, 431, "headers_too_large",
                             f"request headers are larger than {self.max_header_bytes} bytes")
            return
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await send_error(send, 400, "invalid_request", "invalid Content-Length header")
                return
            if int(declared) > self.max_body_bytes:
                await send_error(send, 413, "body_too_large",
                                 f"request body is larger than {self.max_body_bytes} bytes")
                return
        try:
            body = await asyncio.wait_for(self._read(receive), timeout=self.body_timeout)
        except asyncio.TimeoutError:
            await send_error(send, 408, "body_timeout",
                             f"request body not received within {self.body_timeout:g} seconds")
            return
        except _TooLarge:
            await send_error(send, 413, "body_too_large",
                             f"request body is larger than {self.max_body_bytes} bytes")
            return
        except _Disconnected:
            return
        content_type = headers.get("content-type", "")
        if body and ("json" in content_type or "form" in content_type or "text" in content_type):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                await send_error(send, 400, "invalid_encoding", "request body is not valid UTF-8")
                return
        if body and "json" in content_type and json_depth_exceeds(body, self.max_json_depth):
            await send_error(send, 400, "too_deeply_nested",
                             f"JSON nested deeper than {self.max_json_depth} levels")
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


def _replay(body: bytes, original: Receive) -> Receive:
    """Hand the already-read body to the app once; afterwards pass through (disconnects)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive


def parse_rate(value: str) -> RateLimitItem | None:
    """`30/minute` → a limit; `off` → None, meaning no limit (settings validated the text)."""
    if value.strip().lower() == "off":
        return None
    return parse(value)


WaitPage = Callable[[str, int, str], bytes]  # (message, seconds, path asked) -> an HTML page


class Counters:
    """Where the rate limiter counts: in this process (`memory://`), or in a store every worker
    and replica shares (`redis://…`, the limits library's own storage), so N replicas allow the
    limit once, not N times. When the shared store cannot be reached the limiter counts in this
    process instead — logged once, reported by `shared_ok` (/readyz and a metric) — and tries the
    shared store again a little later. A request is never refused or failed because of it."""

    def __init__(self, uri: str, on_status: Callable[[bool], None] | None = None) -> None:
        self.uri = uri
        self.on_status = on_status
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        if not uri.startswith("memory://"):
            storage = storage_from_string(uri, socket_timeout=SHARED_TIMEOUT_SECONDS,
                                          socket_connect_timeout=SHARED_TIMEOUT_SECONDS)
            self._shared = MovingWindowRateLimiter(storage)
        self._failed_at: float | None = None
        self._lock = threading.Lock()

    @property
    def shared(self) -> bool:
        return self._shared is not None

    @property
    def shared_ok(self) -> bool:
        return self._shared is not None and self._failed_at is None

    def describe(self) -> dict[str, object]:
        kind = self.uri.split("://", 1)[0]
        return {"storage": kind, "shared": self.shared,
                "counting": "shared" if self.shared_ok else "this process"}

    def hit(self, limit: RateLimitItem, key: str) -> tuple[bool, float]:
        """(allowed, when the window resets)."""
        shared = self._usable_shared()
        if shared is not None:
            try:
                allowed = shared.hit(limit, key)
                reset = shared.get_window_stats(limit, key).reset_time
                self._recovered()
                return allowed, reset
            except Exception as exc:  # any store failure: count here instead, never fail
                self._failed(exc)
        allowed = self._local.hit(limit, key)
        return allowed, self._local.get_window_stats(limit, key).reset_time

    def _usable_shared(self) -> MovingWindowRateLimiter | None:
        if self._shared is None:
            return None
        failed = self._failed_at
        if failed is not None and time.monotonic() - failed < RETRY_SHARED_SECONDS:
            return None
        return self._shared

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            first = self._failed_at is None
            self._failed_at = time.monotonic()
        if first:
            LOG.warning("shared rate-limit store unreachable; counting in this process",
                        extra={"storage": self.uri.split("://", 1)[0],
                               "reason": f"{exc.__class__.__name__}"})
            if self.on_status:
                self.on_status(False)

    def _recovered(self) -> None:
        if self._failed_at is None:
            return
        with self._lock:
            self._failed_at = None
        LOG.info("shared rate-limit store reachable again")
        if self.on_status:
            self.on_status(True)


class RateLimiter(HttpMiddleware):
    """Limits selected (method, path) pairs per client."""

    def __init__(self, app: ASGIApp, rate: str, per_ip_rate: str,
                 limited: set[tuple[str, str]], wait_page: WaitPage, counters: Counters,
                 exempt_ips: set[str] | None = None,
                 on_reject: Callable[[], None] | None = None) -> None:
        super().__init__(app)
        self.wait_page = wait_page
        self.session_limit = parse_rate(rate)
        self.ip_limit = parse_rate(per_ip_rate) if self.session_limit else None
        self.limited = limited
        self.exempt_ips = exempt_ips or set()
        self.on_reject = on_reject
        self.counters = counters

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.session_limit is None or (scope["method"], scope["path"]) not in self.limited:
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
            allowed, reset = self.counters.hit(limit, key)
            if not allowed:
                retry = max(1, math.ceil(reset - time.time()))
                if self.on_reject:
                    self.on_reject()
                message = (f"Too many questions in a short time. Please wait {retry} seconds "
                           "and try again.")
                accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
                if "text/html" in accept:  # a browser's no-JavaScript form post: a page, not JSON
                    await send_response(send, 429, self.wait_page(message, retry, scope["path"]),
                                        "text/html; charset=utf-8", {"Retry-After": str(retry)})
                else:
                    await send_error(send, 429, "rate_limited", message,
                                     headers={"Retry-After": str(retry)})
                return
        await self.app(scope, receive, send)
