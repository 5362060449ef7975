/* Stem-cell therapy questions — progressive enhancement of the chat page (/) and the widget
   panel (/embed). Without this script the forms post to the server, which renders the page. With
   it, the same forms are posted in the background and the server answers with the rendered turn
   (the markup of web/templates/_turns.html): there is one renderer, on the server, and nothing the
   user typed is ever turned into markup here. Configuration comes from
   <script type="application/json" id="qa-config">; no inline script. */
(() => {
  "use strict";

  const configNode = document.getElementById("qa-config");
  const form = document.getElementById("composer");
  const transcript = document.getElementById("transcript");
  if (!configNode || !form || !transcript) return;

  const config = JSON.parse(configNode.textContent);
  const S = config.strings;
  const input = document.getElementById("question");
  const sendButton = form.querySelector(".composer__send");
  const status = form.querySelector('[data-role="status"]');
  const scroller = document.querySelector('[data-role="scroller"]');
  const reduceMotion = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
  const MAX_TURNS = 30;
  const MAX_HISTORY = 6;
  const REQUEST_TIMEOUT_MS = 30000;
  let turns = [];  // [{question, html}]: what a reload restores
  let busy = false;
  let pending = null;

  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  };

  // --- the conversation of this tab (sessionStorage; in memory when storage is blocked) --------

  const history = () => turns.map((turn) => turn.question).slice(-MAX_HISTORY);

  const loadTurns = () => {
    try {
      const parsed = JSON.parse(window.sessionStorage.getItem(config.storageKey) || "[]");
      return Array.isArray(parsed)
        ? parsed.filter((t) => t && typeof t.question === "string" && typeof t.html === "string")
        : [];
    } catch (error) {
      return [];
    }
  };

  const saveTurns = () => {
    try {
      window.sessionStorage.setItem(config.storageKey, JSON.stringify(turns.slice(-MAX_TURNS)));
    } catch (error) { /* private mode or blocked third-party storage: keep it in memory */ }
  };

  const clearTurns = () => {
    turns = [];
    try { window.sessionStorage.removeItem(config.storageKey); } catch (error) { /* ignore */ }
  };

  // A random id for this tab, sent as X-QA-Session so the server's rate limit counts this
  // conversation on its own (people sharing one IP address are not throttled together). It is
  // not stored with feedback and lives only as long as the tab.
  const sessionId = () => {
    const key = "stemcell-qa:session";
    let id = "";
    try { id = window.sessionStorage.getItem(key) || ""; } catch (error) { id = ""; }
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      try { window.sessionStorage.setItem(key, id); } catch (error) { /* in memory only */ }
    }
    return id;
  };
  const session = sessionId();

  // --- showing ----------------------------------------------------------------------------------

  // The server's markup for one turn, parsed into an inert document (DOMParser runs no script
  // and loads nothing) and moved into the transcript.
  const appendMarkup = (html) => {
    const parsed = new DOMParser().parseFromString(html, "text/html");
    const nodes = Array.from(parsed.body.children);
    transcript.append(...nodes);
    return nodes;
  };

  const announce = (text) => {
    if (!status) return;
    status.textContent = "";
    if (text) window.setTimeout(() => { status.textContent = text; }, 50);
  };

  const scrollIntoView = (node, block = "start") => {
    if (!node) return;
    const behavior = reduceMotion ? "auto" : "smooth";
    if (scroller) {  // the panel scrolls inside itself: never scroll the frame's document
      const offset = node.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
      if (block === "nearest" && offset >= 0 && offset < scroller.clientHeight - 40) return;
      scroller.scrollTo({ top: scroller.scrollTop + offset - 8, behavior });
    } else {
      node.scrollIntoView({ block, behavior });
    }
  };

  const showPending = (question) => {
    const echo = el("div", "turn turn--user");
    const line = el("p", "question");
    line.append(el("span", "visually-hidden", `${S.you}: `), question);
    echo.append(line);
    transcript.append(echo);
    pending = el("div", "pending");
    pending.setAttribute("aria-hidden", "true");
    const dots = el("span", "pending__dots");
    dots.append(el("span"), el("span"), el("span"));
    pending.append(dots, el("span", null, S.searching));
    transcript.after(pending);
    scrollIntoView(pending, "nearest");
    return echo;
  };

  const hidePending = (echo) => {
    pending?.remove();
    pending = null;
    echo?.remove();
  };

  const showError = (message) => {
    let box = form.querySelector(".composer__error");
    if (!box) {
      box = el("p", "composer__error");
      box.id = "question-error";
      box.setAttribute("role", "alert");
      form.insertBefore(box, form.querySelector(".composer__row"));
    }
    box.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "question-error question-hint");
  };

  const clearError = () => {
    form.querySelector(".composer__error")?.remove();
    input.removeAttribute("aria-invalid");
    input.setAttribute("aria-describedby", "question-hint");
  };

  const errorMessage = (body, statusCode) => {
    const message = body?.error?.message;
    if (typeof message !== "string") return S.failed;
    if (statusCode === 429 || statusCode === 422) return message;  // written for people
    return S.failed;
  };

  // --- asking -----------------------------------------------------------------------------------

  // One turn: the form fields a no-JavaScript post would send, answered as a fragment.
  const ask = async (question, { asTyped = false, earlier = history() } = {}) => {
    if (busy) return;
    busy = true;
    clearError();
    sendButton.disabled = true;
    sendButton.setAttribute("aria-disabled", "true");
    input.value = "";
    const echo = showPending(question);
    announce(S.searching);
    const body = new URLSearchParams({ question });
    earlier.forEach((message) => body.append("history", message));
    if (asTyped) body.append("as_typed", "1");
    const controller = new AbortController();
    const timer = window.setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(form.getAttribute("action") || window.location.pathname, {
        method: "POST",
        headers: { "X-QA-Fragment": "turn", "X-QA-Session": session, Accept: "text/html" },
        body,
        credentials: "same-origin",
        signal: controller.signal,
      });
      if (!response.ok) {
        const problem = await response.json().catch(() => null);
        throw Object.assign(new Error("refused"), { message: errorMessage(problem, response.status) });
      }
      const html = await response.text();
      hidePending(echo);
      const nodes = appendMarkup(html);
      turns.push({ question, html });
      saveTurns();
      announce("");
      const answer = nodes.find((node) => node.matches(".answer"));
      // an emergency reply is what must be seen first; otherwise read from the question down
      scrollIntoView(answer?.querySelector(".emergency") ? answer : nodes[0]);
    } catch (error) {
      hidePending(echo);
      input.value = question;
      showError(error.name === "AbortError" || error.name === "TypeError" ? S.offline
        : error.message || S.failed);
      announce("");
    } finally {
      window.clearTimeout(timer);
      busy = false;
      sendButton.disabled = false;
      sendButton.removeAttribute("aria-disabled");
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question) {
      showError(S.empty);
      input.focus();
      return;
    }
    ask(question);
  });

  document.getElementById("starters")?.addEventListener("submit", (event) => {
    event.preventDefault();
    const submitter = event.submitter;
    const question = submitter?.name === "starter" ? submitter.value.trim() : "";
    if (question) ask(question);
  });

  // "Search instead for …": the same message again, exactly as typed, with its own history.
  transcript.addEventListener("submit", (event) => {
    const target = event.target;
    if (!target.matches?.(".understood")) return;
    event.preventDefault();
    const earlier = Array.from(target.querySelectorAll('input[name="history"]'), (i) => i.value);
    ask(target.elements.question.value, { asTyped: true, earlier });
  });

  // --- feedback -----------------------------------------------------------------------------

  document.addEventListener("submit", async (event) => {
    const target = event.target;
    if (!target.classList?.contains("feedback")) return;
    event.preventDefault();
    const submitter = event.submitter;
    if (submitter?.name !== "vote") return;
    const buttons = Array.from(target.querySelectorAll(".feedback__button"));
    const note = target.querySelector(".feedback__status");
    const payload = {
      vote: submitter.value,
      passage_ids: (target.elements.passage_ids.value || "").split(" ").filter(Boolean),
      kind: target.elements.kind.value,
      concepts: (target.elements.concepts?.value || "").split("|").filter(Boolean),
    };
    const question = target.elements.question?.value;
    if (config.sendQuestion && question) payload.question = question;
    buttons.forEach((button) => {
      button.setAttribute("aria-pressed", button === submitter ? "true" : "false");
      button.disabled = true;
    });
    try {
      const response = await fetch(config.api.feedback, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-QA-Session": session },
        body: JSON.stringify(payload),
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`feedback ${response.status}`);
      note.textContent = S.thanks;
    } catch (error) {
      note.textContent = S.feedbackFailed;
      buttons.forEach((button) => {
        button.disabled = false;
        button.setAttribute("aria-pressed", "false");
      });
    }
  });

  // --- new chat, close, messages from the host page -----------------------------------------

  const newChat = () => {
    clearTurns();
    transcript.replaceChildren();
    document.querySelectorAll(".notice").forEach((node) => node.remove());
    form.querySelector('[data-role="history"]')?.replaceChildren();
    document.querySelectorAll('#starters input[name="history"]').forEach((node) => node.remove());
    hidePending();
    clearError();
    input.value = "";
    if (window.location.search.includes("thanks=1")) {
      window.history.replaceState(null, "", window.location.pathname
        + window.location.search.replace(/[?&]thanks=1/, ""));
    }
    if (scroller) scroller.scrollTop = 0; else window.scrollTo(0, 0);
    input.focus();
    announce(S.newChat);
  };

  document.querySelectorAll('[data-action="new-chat"]').forEach((control) => {
    control.addEventListener("click", (event) => {
      event.preventDefault();
      newChat();
    });
  });

  const inFrame = window.parent && window.parent !== window;
  const parentOrigin = config.mode === "embed" && inFrame ? config.parentOrigin : "";
  const tellParent = (type) => {
    if (parentOrigin) window.parent.postMessage({ source: "stemcell-qa", type }, parentOrigin);
  };

  if (config.mode === "embed") {
    const panel = document.querySelector(".panel");
    const primary = panel?.getAttribute("data-primary");
    if (primary && /^#[0-9a-fA-F]{3,6}$/.test(primary)) {
      document.documentElement.style.setProperty("--primary", primary);
      document.documentElement.style.setProperty("--on-primary",
        panel.getAttribute("data-on-primary") || "#ffffff");
    }
    const closeButton = document.querySelector('[data-action="close"]');
    if (closeButton && config.closable && parentOrigin) {
      closeButton.hidden = false;
      closeButton.addEventListener("click", () => tellParent("close"));
      document.addEventListener("keydown", (event) => {
        if (event.key === "Escape" && !event.defaultPrevented) {
          event.preventDefault();
          tellParent("close");
        }
      });
    }
    window.addEventListener("message", (event) => {
      if (!parentOrigin || event.source !== window.parent || event.origin !== parentOrigin) return;
      if (event.data?.source === "stemcell-qa" && event.data.type === "focus") input.focus();
    });
  }

  // --- restore the conversation of this tab ---------------------------------------------------

  // A page the server rendered after a no-JavaScript post already shows its turn; otherwise the
  // turns of this tab come back from sessionStorage (markup the server rendered for them).
  if (!transcript.querySelector(".answer")) {
    turns = loadTurns();
    if (turns.length) {
      transcript.setAttribute("aria-live", "off");  // restoring is not news: do not read it out
      turns.forEach((turn) => appendMarkup(turn.html));
      window.setTimeout(() => transcript.setAttribute("aria-live", "polite"), 500);
      if (scroller) scroller.scrollTop = scroller.scrollHeight;
    }
  }
  document.documentElement.setAttribute("data-enhanced", "true");
  tellParent("ready");
})();
