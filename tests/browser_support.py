"""Helpers for real-browser tests and the screenshot script: Debian's Chromium through Playwright,
real uvicorn servers and static "host" pages on 127.0.0.1, and in-page checks (contrast, layout).

Nothing here downloads a browser: `playwright install` is never used; Chromium comes from apt.
"""

from __future__ import annotations

import html
import socket
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
MISSING_CHROMIUM = (
    f"{CHROMIUM} not found: the browser tests need Debian's Chromium "
    "(`apt-get install -y chromium`; .ci/run installs it). `playwright install` is not used.")


def launch_chromium(playwright: Any, timeout_ms: int = 60_000) -> Any:
    """Launch Debian's Chromium headless (raises RuntimeError with a clear message if missing)."""
    if not CHROMIUM.exists():
        raise RuntimeError(MISSING_CHROMIUM)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                      timeout=timeout_ms)


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class UvicornThread:
    """A real uvicorn server for an ASGI app, in a daemon thread, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = _bound_socket()
        self.port = self.sock.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name=f"uvicorn-{self.port}", daemon=True)

    def start(self, timeout: float = 30.0) -> UvicornThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.origin} within {timeout}s")
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()


class StaticHost:
    """A tiny HTTP server for host pages (another origin than the app): path → HTML."""

    def __init__(self, pages: Mapping[str, str] | None = None) -> None:
        self.pages: dict[str, str] = dict(pages or {})
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path = self.path.split("?", 1)[0]
                owner.requests.append(path)
                body = owner.pages.get(path)
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={
            "poll_interval": 0.1}, name=f"host-{self.port}", daemon=True)

    def start(self) -> StaticHost:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def host_page(widget_src: str | None, attrs: Mapping[str, str] | None = None, css: str = "",
              title: str = "Host page", inline_target: bool = False) -> str:
    """A plain third-party page; with `widget_src`, the one tag that embeds the widget."""
    tag = ""
    if widget_src:
        data = "".join(f' data-{k}="{html.escape(v, quote=True)}"'
                       for k, v in (attrs or {}).items())
        tag = f'<script src="{html.escape(widget_src, quote=True)}"{data}></script>'
    target = '<div id="qa-inline"></div>' if inline_target else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<style>
body {{ font-family: Georgia, serif; margin: 0; padding: 24px; background: #fffdf7; color: #222; }}
header a {{ margin-right: 12px; }}
.box {{ width: 300px; height: 120px; background: #e4eef7; margin: 16px 0; }}
{css}
</style>
</head>
<body>
<header id="top"><a id="first-link" href="#one">First link</a><a id="second-link" href="#two">Second link</a></header>
<main id="content">
<h1 id="heading">A clinic's information page</h1>
<p id="para">This page belongs to another site. It embeds the assistant with one script tag. The
text here must not move when the widget loads or opens.</p>
<div class="box" id="box"></div>
<ul id="list"><li>One</li><li>Two</li><li>Three</li></ul>
{target}
</main>
<footer id="footer"><p>Footer text of the host page.</p></footer>
{tag}
</body>
</html>"""


# Every visible text run on the page (or in a frame), its colour and effective background:
# returns the runs below WCAG 2.1 AA (4.5:1, or 3:1 for large text).
CONTRAST_JS = r"""
() => {
  function parse(c) {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  function over(top, bottom) {
    const a = top[3] + bottom[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    return [0, 1, 2].map(i => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a).concat([a]);
  }
  function lum(c) {
    const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function background(el) {
    const layers = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const bg = parse(getComputedStyle(n).backgroundColor);
      if (bg[3] > 0) layers.push(bg);
      if (bg[3] >= 1) break;
    }
    let base = matchMedia('(prefers-color-scheme: dark)').matches ? [18, 18, 18, 1] : [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base;
  }
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (!el || seen.has(el)) continue;
    seen.add(el);
    if (el.closest('template, script, style, [hidden], [aria-hidden="true"]')) continue;
    const rect = el.getBoundingClientRect();
    if (rect.width <= 1 || rect.height <= 1) continue;  // visually hidden (screen-reader only)
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none' || Number(style.opacity) === 0) continue;
    const bg = background(el);
    const fg = over(parse(style.color), bg);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(style.fontSize);
    const bold = parseInt(style.fontWeight, 10) >= 700;
    const needed = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < needed) {
      failures.push({ text: node.textContent.trim().slice(0, 60), ratio: Math.round(ratio * 100) / 100,
                      needed, color: style.color, cls: el.className || el.tagName });
    }
  }
  return failures;
}
"""

# Geometry and look of every host element outside the widget, to prove the widget changes nothing.
LAYOUT_JS = r"""
() => {
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('[data-stemcell-qa]') || el.tagName === 'SCRIPT') continue;
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    out.push([el.tagName, el.id, Math.round(r.x * 10) / 10, Math.round(r.y * 10) / 10,
              Math.round(r.width * 10) / 10, Math.round(r.height * 10) / 10,
              s.fontSize, s.fontFamily, s.color, s.backgroundColor, s.margin, s.padding]);
  }
  const b = getComputedStyle(document.body);
  return {
    elements: out,
    scroll: [document.documentElement.scrollWidth, document.documentElement.scrollHeight],
    body: [b.margin, b.padding, b.fontSize, b.fontFamily, b.color, b.backgroundColor, b.overflow],
    html: [getComputedStyle(document.documentElement).fontSize,
           getComputedStyle(document.documentElement).overflow],
    styleSheets: document.styleSheets.length,
    adopted: (document.adoptedStyleSheets || []).length,
  };
}
"""
