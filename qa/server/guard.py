"""Refuse hostile requests (oversized headers, hostile bodies) before any parser sees them.

An ASGI middleware, so it runs before FastAPI reads the body: a body larger than the limit (by
Content-Length or while streaming) → 413; headers over the limit → 431; a body that trickles in slower than the timeout → 408;
bytes that are not UTF-8 → 400; JSON nested deeper than the limit (which would make the JSON parser
recurse without bound) → 400. Every refusal uses the project's one error shape.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.errors import error_body

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


async def send_error(send: Send, status: int, code: str, message: str,
                     headers: dict[str, str] | None = None) -> None:
    """Write a complete JSON error response in the shape every endpoint uses."""
    body = json.dumps(error_body(code, message)).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"x-content-type-options", b"nosniff")]
    for name, value in (headers or {}).items():
        raw_headers.append((name.lower().encode(), value.encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


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


class RequestGuard:
    """Size, time, encoding and nesting limits for request bodies."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = 16_384, body_timeout: float = 10.0,
                 max_json_depth: int = 32, max_header_bytes: int = 16_384) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
