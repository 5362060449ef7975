"""Who may embed the widget and call the API from a browser: one allow-list of origins.

`QA_ALLOWED_ORIGINS` names the sites (scheme://host[:port]) an operator allows. The same list
drives three checks, so they can never disagree:

* CORS: `/api/*` answers cross-origin browser requests (and their preflights) only from those
  origins, echoing the one origin back, never `*`;
* the Origin check: a browser request that carries a foreign `Origin` is refused with 403 on
  `/api/*` and on every state-changing method (POST, PUT, PATCH, DELETE) anywhere;
* framing: `/embed` sends `Content-Security-Policy: frame-ancestors 'self' <origins>`.

An empty list means same-origin only. Requests without an `Origin` header (curl, server-side
clients) are not browser cross-origin requests and pass. "Same origin" compares the `Origin`
header's host and port with the request's `Host` header (so a TLS-terminating proxy that keeps the
Host header needs no extra setting).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.errors import error_body

DEFAULT_PORTS = {"http": 80, "https": 443}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIX = "/api/"
PREFLIGHT_MAX_AGE = "600"


def normalise_origin(value: str) -> str:
    """`HTTPS://Example.org:443/` → `https://example.org`; anything but an origin is refused."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not an origin: {value!r} ({exc})") from exc
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an origin: {value!r} (expected scheme://host[:port], http or https)")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username \
            or parts.password:
        raise ValueError(f"not an origin: {value!r} (no path, query or credentials allowed)")
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def normalise_origins(value: object) -> object:
    """A list of origins, normalised and de-duplicated in order (other values pass to pydantic)."""
    if not isinstance(value, list | tuple):
        return value
    seen: dict[str, None] = {}
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"not an origin: {item!r}")
        seen.setdefault(normalise_origin(item), None)
    return list(seen)


def _host_port(netloc: str, scheme: str) -> str | None:
    """`Example.org:443` (for https) → `example.org`; None when unparsable."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS.get(scheme):
        return host
    return f"{host}:{port}"


class OriginPolicy:
    """The operator's allow-list and the decisions derived from it."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        normalised = normalise_origins(list(allowed))
        self.allowed: tuple[str, ...] = tuple(normalised)  # type: ignore[arg-type]

    def is_same_origin(self, origin: str, host_header: str | None) -> bool:
        """The browser's Origin names this server (host and port as the client addressed it)."""
        if not host_header:
            return False
        try:
            origin = normalise_origin(origin)
        except ValueError:
            return False
        scheme, _, netloc = origin.partition("://")
        return _host_port(netloc, scheme) == _host_port(host_header, scheme)

    def is_allowed(self, origin: str, host_header: str | None) -> bool:
        """Same-origin, or listed by the operator. `null` (sandboxed, file:) is never allowed."""
        if self.is_same_origin(origin, host_header):
            return True
        try:
            return normalise_origin(origin) in self.allowed
        except ValueError:
            return False

    def may_frame(self, origin: str) -> bool:
        """Whether `origin` is one the operator allows to frame /embed (besides this server)."""
        try:
            return normalise_origin(origin) in self.allowed
        except ValueError:
            return False

    def frame_ancestors(self) -> str:
        """The CSP directive for pages that may be embedded (/embed)."""
        return " ".join(("frame-ancestors", "'self'", *self.allowed))


def _error(code: str, message: str) -> bytes:
    return json.dumps(error_body(code, message)).encode()


class OriginMiddleware:
    """ASGI middleware applying an OriginPolicy: CORS for /api/*, 403 for foreign origins."""

    def __init__(self, app: ASGIApp, policy: OriginPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope["path"]
        method: str = scope["method"]
        is_api = path.startswith(API_PREFIX)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send if not is_api else _vary_origin(send))
            return
        host = headers.get("host")
        same = self.policy.is_same_origin(origin, host)
        allowed = same or self.policy.is_allowed(origin, host)
        if not allowed and (is_api or method not in SAFE_METHODS):
            await _respond(send, 403, _error(
                "origin_not_allowed",
                "requests from this origin are not allowed; the operator can add it to "
                "QA_ALLOWED_ORIGINS"), {"vary": "Origin"})
            return
        if not is_api or same:
            await self.app(scope, receive, send if not is_api else _vary_origin(send))
            return
        # An allowed cross-origin browser request to the API.
        if method == "OPTIONS" and "access-control-request-method" in headers:
            await _respond(send, 204, b"", {
                "access-control-allow-origin": origin,
                "access-control-allow-methods": "GET, POST, OPTIONS",
                "access-control-allow-headers": "Content-Type, X-QA-Session",
                "access-control-max-age": PREFLIGHT_MAX_AGE,
                "vary": "Origin",
            })
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["access-control-allow-origin"] = origin
                out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _vary_origin(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).add_vary_header("Origin")
        await send(message)

    return wrapped


async def _respond(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    if body:
        raw += [(b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def install_origin_policy(app: ASGIApp, policy: OriginPolicy) -> None:
    """Add the middleware to a Starlette/FastAPI app (before it starts)."""
    app.add_middleware(OriginMiddleware, policy=policy)  # type: ignore[attr-defined]
