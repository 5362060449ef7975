"""Browser security in one place: the Content-Security-Policy, the other security headers, and
who may embed the widget and call the API from a browser (one allow-list of origins).

Every HTML page gets one CSP (`content_security_policy`): scripts, styles, connections, frames
and form posts only from this origin, no inline script or style, no plugins. Pages differ only in
`frame-ancestors`: this server for ordinary pages, plus the allowed origins for /embed.

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

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Receive, Scope, Send

from qa.server.responses import HttpMiddleware, editing_headers, send_error, send_response
from qa.settings import DEFAULT_PORTS, normalise_origin, normalise_origins

SAME_ORIGIN_FRAMING = "frame-ancestors 'self'"


def content_security_policy(frame_ancestors: str = SAME_ORIGIN_FRAMING) -> str:
    """The one CSP of every HTML page; only who may frame the page varies."""
    return "; ".join((
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        "connect-src 'self'", "font-src 'self'", "frame-src 'self'", "form-action 'self'",
        "base-uri 'none'", "object-src 'none'", frame_ancestors))


class SecurityHeaders(HttpMiddleware):
    """nosniff, a referrer policy, no powerful features, and — for HTML that does not set its
    own (the /embed page, which allowed sites may frame, does) — the one CSP."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        def add(headers: MutableHeaders) -> None:
            headers.setdefault("X-Content-Type-Options", "nosniff")
            headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
            headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
            headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
            if headers.get("content-type", "").startswith("text/html"):
                headers.setdefault("Content-Security-Policy", content_security_policy())

        await self.app(scope, receive, editing_headers(send, add))

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIX = "/api/"
PREFLIGHT_MAX_AGE = "600"


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

    def embed_csp(self) -> str:
        return content_security_policy(self.frame_ancestors())


class OriginMiddleware(HttpMiddleware):
    """Applies an OriginPolicy: CORS for /api/*, 403 for foreign origins."""

    def __init__(self, app: ASGIApp, policy: OriginPolicy) -> None:
        super().__init__(app)
        self.policy = policy

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        path: str = scope["path"]
        method: str = scope["method"]
        is_api = path.startswith(API_PREFIX)
        origin = headers.get("origin")
        vary = editing_headers(send, lambda out: out.add_vary_header("Origin")) if is_api else send
        if origin is None:
            await self.app(scope, receive, vary)
            return
        host = headers.get("host")
        same = self.policy.is_same_origin(origin, host)
        allowed = same or self.policy.is_allowed(origin, host)
        if not allowed and (is_api or method not in SAFE_METHODS):
            await send_error(send, 403, "origin_not_allowed",
                             "requests from this origin are not allowed; the operator can add it "
                             "to QA_ALLOWED_ORIGINS", {"vary": "Origin"})
            return
        if not is_api or same:
            await self.app(scope, receive, vary)
            return
        # An allowed cross-origin browser request to the API.
        if method == "OPTIONS" and "access-control-request-method" in headers:
            await send_response(send, 204, b"", None, {
                "access-control-allow-origin": origin,
                "access-control-allow-methods": "GET, POST, OPTIONS",
                "access-control-allow-headers": "Content-Type, X-QA-Session",
                "access-control-max-age": PREFLIGHT_MAX_AGE,
                "vary": "Origin",
            })
            return

        def allow(out: MutableHeaders) -> None:
            out["access-control-allow-origin"] = origin
            out.add_vary_header("Origin")

        await self.app(scope, receive, editing_headers(send, allow))
