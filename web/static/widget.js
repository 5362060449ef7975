/* Stem-cell therapy questions — the embeddable widget. One tag on any page:

     <script src="https://QA-HOST/widget.js" data-title="…" defer></script>

   adds a launcher button and a chat panel. Isolation both ways: the launcher lives in a shadow
   root whose styles are !important px values (the host's CSS cannot reach in, and nothing here
   styles the host), and the conversation runs in an <iframe> of QA-HOST/embed, a separate
   document the host page cannot script or style. The operator's allow-list decides who may frame
   /embed (CSP frame-ancestors). Plain JavaScript (ES2017), no dependencies, no build step, no HTML strings.

   data- attributes (all optional):
     data-title           panel title                    data-greeting    first message
     data-starters        starter questions, "|"-separated (up to 5)
     data-color           primary colour, #rgb or #rrggbb   data-position  bottom-right | bottom-left
     data-open            "true": open the panel on load (focus is not moved)
     data-target          CSS selector: render inline into that element (no launcher)
     data-height          inline height in px (default 560)
     data-launcher-label  visible launcher text (default "Ask a question")
*/
(() => {
  "use strict";

  const NS = "stemcell-qa";
  let script = document.currentScript;
  if (!script) {
    const candidates = document.querySelectorAll('script[src*="widget.js"]:not([data-qa-mounted])');
    script = candidates[candidates.length - 1];
  }
  if (!script || script.hasAttribute("data-qa-mounted")) return;
  script.setAttribute("data-qa-mounted", "true");

  let origin;
  try {
    origin = new URL(script.src, location.href).origin;
  } catch (error) {
    return;
  }
  const data = script.dataset;

  function clip(value, limit) {
    return String(value || "").replace(/\s+/g, " ").trim().slice(0, limit);
  }

  const options = {
    title: clip(data.title, 80) || "Questions about stem-cell therapy",
    greeting: clip(data.greeting, 400),
    starters: String(data.starters || "").split("|").map((s) => { return clip(s, 200); })
      .filter(Boolean).slice(0, 5),
    color: /^#(?:[0-9a-fA-F]{3}){1,2}$/.test(data.color || "") ? data.color : "#0b5d7a",
    left: data.position === "bottom-left",
    open: data.open === "true" || data.open === "",
    target: data.target || "",
    height: Math.max(320, Math.min(1200, parseInt(data.height, 10) || 560)),
    launcherLabel: clip(data.launcherLabel, 40) || "Ask a question"
  };

  function readableOn(hex) {
    let h = hex.slice(1);
    if (h.length === 3) h = h.replace(/./g, (c) => { return c + c; });
    const lin = [0, 2, 4].map((i) => {
      const c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    let l = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? "#ffffff" : "#000000";
  }

  function embedUrl(mode) {
    const query = new URLSearchParams();
    query.set("title", options.title);
    if (options.greeting) query.set("greeting", options.greeting);
    options.starters.forEach((s) => { query.append("starter", s); });
    query.set("color", options.color);
    query.set("mode", mode);
    query.set("parent", location.origin);
    return origin + "/embed?" + query.toString();
  }

  // Every rule is !important and in px: the host's CSS (even `* { all: unset !important }` or a
  // huge root font size) cannot change it, and it applies to nothing outside the shadow root.
  const CSS = [
    ":host { all: initial !important; display: block !important; position: fixed !important;",
    "  bottom: 0 !important; right: 0 !important; width: 0 !important; height: 0 !important;",
    "  margin: 0 !important; padding: 0 !important; border: 0 !important;",
    "  z-index: 2147483000 !important; transform: none !important; filter: none !important;",
    "  contain: none !important; visibility: visible !important; opacity: 1 !important; }",
    ":host([data-mode=\"inline\"]) { position: relative !important; width: 100% !important;",
    "  height: auto !important; z-index: auto !important; }",
    "* { box-sizing: border-box !important; }",
    ".launcher { all: initial !important; position: fixed !important; bottom: 20px !important;",
    "  right: 20px !important; display: inline-flex !important; align-items: center !important;",
    "  gap: 8px !important; height: 52px !important; padding: 0 20px 0 16px !important;",
    "  border: 0 !important; border-radius: 26px !important; cursor: pointer !important;",
    "  background: var(--qa-primary) !important; color: var(--qa-on-primary) !important;",
    "  font: 600 16px/1 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif !important;",
    "  letter-spacing: 0 !important; text-transform: none !important;",
    "  box-shadow: 0 4px 14px rgba(0,0,0,.28) !important; }",
    ":host([data-side=\"left\"]) .launcher { right: auto !important; left: 20px !important; }",
    ".launcher:hover { filter: brightness(1.08) !important; }",
    ".launcher:focus-visible { outline: 3px solid #0b57d0 !important; outline-offset: 3px !important;",
    "  box-shadow: 0 0 0 3px #ffffff, 0 4px 14px rgba(0,0,0,.28) !important; }",
    ".launcher svg { display: block !important; width: 24px !important; height: 24px !important;",
    "  fill: currentColor !important; flex: none !important; }",
    ".sr { position: absolute !important; width: 1px !important; height: 1px !important;",
    "  overflow: hidden !important; clip-path: inset(50%) !important; white-space: nowrap !important; }",
    ".panel { all: initial !important; position: fixed !important; bottom: 88px !important;",
    "  right: 20px !important; width: 390px !important; height: 640px !important;",
    "  max-height: calc(100vh - 108px) !important; display: block !important;",
    "  border-radius: 14px !important; overflow: hidden !important; background: #f4f7f8 !important;",
    "  box-shadow: 0 12px 40px rgba(0,0,0,.3), 0 0 0 1px rgba(0,0,0,.08) !important; }",
    ":host([data-side=\"left\"]) .panel { right: auto !important; left: 20px !important; }",
    ".inline { all: initial !important; display: block !important; position: relative !important;",
    "  width: 100% !important; border-radius: 12px !important; overflow: hidden !important;",
    "  box-shadow: 0 0 0 1px rgba(0,0,0,.14) !important; background: #f4f7f8 !important; }",
    "iframe { all: initial !important; display: block !important; width: 100% !important;",
    "  height: 100% !important; border: 0 !important; }",
    ".notice { all: initial !important; display: block !important; padding: 20px !important;",
    "  font: 400 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif !important;",
    "  color: #16252d !important; background: #ffffff !important; }",
    ".notice a { color: #075a84 !important; text-decoration: underline !important; cursor: pointer !important; }",
    ".notice a:focus-visible { outline: 3px solid #0b57d0 !important; outline-offset: 2px !important; }",
    "@media (prefers-color-scheme: dark) {",
    "  .panel, .inline { background: #0d161b !important; }",
    "  .notice { color: #e6eef1 !important; background: #142129 !important; }",
    "  .notice a { color: #8fd4f0 !important; } }",
    "@media (max-width: 480px), (max-height: 520px) {",
    "  .panel, :host([data-side=\"left\"]) .panel { top: 0 !important; left: 0 !important;",
    "    right: 0 !important; bottom: 0 !important; width: 100% !important; height: 100% !important;",
    "    max-height: none !important; border-radius: 0 !important; } }",
    ".panel[hidden], .notice[hidden], iframe[hidden], .launcher[hidden] { display: none !important; }"
  ].join("\n");

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach((name) => { node.setAttribute(name, attrs[name]); });
    if (text) node.textContent = text;
    return node;
  }

  function chatIcon() {
    const svgNS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(svgNS, "path");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-4.3 3.4A.5.5 0 0 1 4 21V18a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 5v2h10V9H7zm0 4v2h7v-2H7z");
    svg.appendChild(path);
    return svg;
  }

  function makeHost(mode) {
    const host = document.createElement("div");
    host.setAttribute("data-" + NS, "");
    host.setAttribute("data-mode", mode);
    if (options.left) host.setAttribute("data-side", "left");
    // The same guarantees as :host, through the CSSOM (allowed under a strict style-src CSP).
    const fixed = mode === "inline"
      ? { display: "block", position: "relative", width: "100%", margin: "0", padding: "0", border: "0" }
      : { display: "block", position: "fixed", bottom: "0", right: "0", width: "0", height: "0",
          margin: "0", padding: "0", border: "0", "z-index": "2147483000", transform: "none" };
    Object.keys(fixed).forEach((name) => { host.style.setProperty(name, fixed[name], "important"); });
    let root = host.attachShadow({ mode: "open" });
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
      try {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
      } catch (error) {
        root.appendChild(el("style", {}, CSS));
      }
    } else {
      root.appendChild(el("style", {}, CSS));
    }
    host.style.setProperty("--qa-primary", options.color);
    host.style.setProperty("--qa-on-primary", readableOn(options.color));
    return { host: host, root: root };
  }

  function makeFrame(mode) {
    let frame = el("iframe", {
      src: embedUrl(mode),
      title: options.title,
      referrerpolicy: "strict-origin-when-cross-origin",
      allow: ""
    });
    return frame;
  }

  function blockedNotice() {
    let notice = el("div", { "class": "notice", role: "status" });
    notice.appendChild(document.createTextNode(
      "This assistant cannot be shown on this site (the site is not on its allow-list). "));
    const link = el("a", { href: origin + "/", target: "_blank", rel: "noopener" }, "Open it in a new tab");
    notice.appendChild(link);
    notice.appendChild(document.createTextNode("."));
    notice.hidden = true;
    return notice;
  }

  function watchFrame(frame, notice, onReady) {
    let ready = false;
    window.addEventListener("message", (event) => {
      if (event.origin !== origin || event.source !== frame.contentWindow) return;
      const message = event.data;
      if (!message || message.source !== NS) return;
      if (message.type === "ready") {
        ready = true;
        notice.hidden = true;
        frame.hidden = false;
        onReady("ready");
      } else {
        onReady(message.type);
      }
    });
    frame.addEventListener("load", () => {
      window.setTimeout(() => {
        if (!ready) { notice.hidden = false; frame.hidden = true; }
      }, 1500);
    });
    return () => { return ready; };
  }

  // --- inline mode -------------------------------------------------------------------------------

  function mountInline() {
    const target = document.querySelector(options.target);
    if (!target) {
      if (window.console) window.console.warn("[" + NS + "] data-target matches no element: " + options.target);
      return;
    }
    let made = makeHost("inline");
    const box = el("div", { "class": "inline" });
    box.style.setProperty("height", options.height + "px", "important");
    let frame = makeFrame("inline");
    let notice = blockedNotice();
    box.appendChild(frame);
    box.appendChild(notice);
    made.root.appendChild(box);
    watchFrame(frame, notice, () => {});
    target.appendChild(made.host);
  }

  // --- launcher mode -----------------------------------------------------------------------------

  function mountLauncher() {
    let made = makeHost("launcher");
    let root = made.root;
    const openKey = NS + ":open:" + origin;
    const panelId = NS + "-panel";

    const launcher = el("button", {
      "class": "launcher", type: "button", "aria-expanded": "false", "aria-controls": panelId,
      "aria-haspopup": "dialog"
    });
    launcher.appendChild(chatIcon());
    launcher.appendChild(el("span", {}, options.launcherLabel));
    launcher.appendChild(el("span", { "class": "sr" }, " – " + options.title));

    let panel = el("div", { "class": "panel", id: panelId, role: "dialog", "aria-label": options.title });
    panel.hidden = true;
    let notice = blockedNotice();
    let frame = null;
    let isReady = () => { return false; };
    let focusWhenReady = false;

    function focusFrame() {
      if (!frame || !frame.contentWindow) return;
      frame.focus();
      frame.contentWindow.postMessage({ source: NS, type: "focus" }, origin);
    }

    function remember(open) {
      try {
        if (open) window.sessionStorage.setItem(openKey, "1");
        else window.sessionStorage.removeItem(openKey);
      } catch (error) { /* storage unavailable: nothing to remember */ }
    }

    function ensureFrame() {
      if (frame) return;
      frame = makeFrame("launcher");
      panel.appendChild(frame);
      panel.appendChild(notice);
      isReady = watchFrame(frame, notice, (type) => {
        if (type === "ready" && focusWhenReady) {
          focusWhenReady = false;
          focusFrame();
        } else if (type === "close") {
          close();
        }
      });
    }

    function open(moveFocus) {
      ensureFrame();
      panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
      remember(true);
      if (moveFocus) {
        if (isReady()) focusFrame();
        else focusWhenReady = true;
      }
    }

    function close() {
      if (panel.hidden) return;
      panel.hidden = true;
      focusWhenReady = false;
      launcher.setAttribute("aria-expanded", "false");
      remember(false);
      launcher.focus();
    }

    launcher.addEventListener("click", () => {
      if (panel.hidden) open(true); else close();
    });
    root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !panel.hidden) {
        event.stopPropagation();
        close();
      }
    });

    root.appendChild(launcher);
    root.appendChild(panel);
    document.body.appendChild(made.host);

    let wasOpen = false;
    try { wasOpen = window.sessionStorage.getItem(openKey) === "1"; } catch (error) { wasOpen = false; }
    if (options.open || wasOpen) open(false);
  }

  function start() {
    if (options.target) mountInline(); else mountLauncher();
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
