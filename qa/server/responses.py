"""The one way the server writes an error, and the small ASGI helpers every middleware shares.

Every refusal — from a route, an exception handler or a middleware that answers before the app
sees the request — has the same JSON shape: {"error": {"code", "message"}}.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def error_body(code: str, message: str) -> dict[str, Any]:
    """The one JSON error shape of every HTTP endpoint and middleware."""
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """An error from a route or an exception handler."""
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


async def send_response(send: Send, status: int, body: bytes, content_type: str | None,
                        headers: dict[str, str] | None = None) -> None:
    """A complete response written straight to ASGI, for middleware that answers itself."""
    raw = [(b"x-content-type-options", b"nosniff")]
    if content_type:
        raw += [(b"content-type", content_type.encode("latin-1")),
                (b"content-length", str(len(body)).encode())]
    raw += [(name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, status: int, code: str, message: str,
                     headers: dict[str, str] | None = None) -> None:
    """An error from a middleware, in the same shape as every other."""
    await send_response(send, status, json.dumps(error_body(code, message)).encode(),
                        "application/json", headers)


HeaderEditor = Callable[[MutableHeaders], None]


def editing_headers(send: Send, edit: HeaderEditor) -> Send:
    """`send`, with `edit` applied to the response's headers as they start."""
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            edit(MutableHeaders(scope=message))
        await send(message)

    return wrapped


class HttpMiddleware:
    """Base for this server's ASGI middleware: non-HTTP traffic (lifespan) passes straight
    through, HTTP requests go to `handle`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    def handle(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        raise NotImplementedError
