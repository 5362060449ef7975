/* Stem-cell therapy questions — progressive enhancement of the chat page (/) and the widget
   panel (/embed). Without this script the forms post to the server, which renders the same
   answers. With it, questions go to /api/ask and answers are built with DOM APIs only
   (textContent, setAttribute): no answer or question text is ever parsed as HTML.
   Configuration comes from <script type="application/json" id="qa-config">; no inline script. */
(function () {
  "use strict";

  var configNode = document.getElementById("qa-config");
  var form = document.getElementById("composer");
  var transcript = document.getElementById("transcript");
  if (!configNode || !form || !transcript) return;

  var config = JSON.parse(configNode.textContent);
  var S = config.strings;
  var input = document.getElementById("question");
  var sendButton = form.querySelector(".composer__send");
  var status = form.querySelector('[data-role="status"]');
  var scroller = document.querySelector('[data-role="scroller"]');
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var MAX_TURNS = 30;
  var REQUEST_TIMEOUT_MS = 30000;
  var conversation = [];
  var busy = false;
  var pending = null;

  // --- small DOM helpers ----------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) return;
        if (name === "text") node.textContent = value;
        else if (name === "class") node.className = value;
        else node.setAttribute(name, value === true ? "" : String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function icon(name) {
    var store = document.getElementById("qa-icons");
    var holder = store && store.content.querySelector('[data-icon="' + name + '"] svg');
    return holder ? holder.cloneNode(true) : null;
  }

  function isHttpUrl(value) {
    return typeof value === "string" && /^https?:\/\//i.test(value);
  }

  function segments(text, highlights) {
    var spans = (highlights || []).map(function (pair) {
      return [Math.max(0, pair[0] | 0), Math.min(text.length, pair[1] | 0)];
    }).sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    var merged = [];
    spans.forEach(function (span) {
      if (span[1] <= span[0]) return;
      var last = merged[merged.length - 1];
      if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
      else merged.push([span[0], span[1]]);
    });
    var out = [];
    var cursor = 0;
    merged.forEach(function (span) {
      if (span[0] > cursor) out.push([text.slice(cursor, span[0]), false]);
      out.push([text.slice(span[0], span[1]), true]);
      cursor = span[1];
    });
    if (cursor < text.length) out.push([text.slice(cursor), false]);
    return out;
  }

  function humanDate(value) {
    var match = /^(\d{4})-(\d{2})-(\d{2})/.exec(value || "");
    if (!match) return value || "";
    var month = config.months[parseInt(match[2], 10) - 1];
    return month ? parseInt(match[3], 10) + " " + month + " " + match[1] : value;
  }

  function evidenceLabel(code) {
    if (!code) return "";
    if (config.evidenceLabels[code]) return config.evidenceLabels[code];
    var words = code.replace(/[-_]/g, " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  function chip(text) {
    return el("li", null, [el("button", {
      "class": "chip", type: "submit", form: "starters", name: "starter", value: text, text: text
    })]);
  }

  function newTabHint() {
    return el("span", { "class": "visually-hidden", text: " " + S.opensNewTab });
  }

  // --- rendering: mirrors web/templates/_answer.html ------------------------------------------

  function renderQuestion(question) {
    return el("div", { "class": "turn turn--user" }, [
      el("p", { "class": "question" }, [
        el("span", { "class": "visually-hidden", text: S.you + ": " }), question
      ])
    ]);
  }

  function renderQuote(quote) {
    var source = quote.source || {};
    var paragraph = el("p");
    segments(quote.text || "", quote.highlights).forEach(function (part) {
      paragraph.appendChild(part[1] ? el("mark", { text: part[0] }) : document.createTextNode(part[0]));
    });
    var hasUrl = isHttpUrl(source.url);
    var caption = el("figcaption", { "class": "quote__source" }, [
      hasUrl
        ? el("a", { "class": "quote__title", href: source.url, target: "_blank", rel: "noopener noreferrer" },
             [source.title || source.url, newTabHint()])
        : el("span", { "class": "quote__title", text: source.title || "" }),
      source.section && source.section !== source.title
        ? el("span", { "class": "quote__section", text: source.section }) : null,
      el("span", { "class": "quote__meta" }, [
        source.reviewed
          ? el("span", { "class": "quote__reviewed" }, [S.reviewed + " ",
              el("time", { datetime: source.reviewed, text: humanDate(source.reviewed) })])
          : el("span", { "class": "quote__reviewed", text: S.undated }),
        source.evidence
          ? el("span", { "class": "evidence evidence--" + String(source.evidence).replace(/[^\w-]/g, ""),
              text: S.evidence + ": " + evidenceLabel(source.evidence) })
          : null
      ])
    ]);
    return el("li", { "class": "quote", "data-passage-id": quote.passage_id }, [
      el("figure", { "class": "quote__figure" }, [
        el("blockquote", { "class": "quote__text", cite: hasUrl ? source.url : null }, [paragraph]),
        caption
      ])
    ]);
  }

  function renderAnswer(answer, question) {
    var kind = String(answer.kind || "answer");
    var emergency = kind === "emergency" || (answer.triage && answer.triage.category === "emergency");
    var article = el("article", { "class": "answer answer--" + kind, "data-kind": kind, "aria-label": S.assistant });

    if (emergency) {
      article.appendChild(el("div", { "class": "emergency", role: "alert" }, [
        el("span", { "class": "emergency__icon" }, [icon("alert")]),
        el("div", { "class": "emergency__body" }, [
          el("p", { "class": "emergency__title", text: S.emergencyTitle }),
          el("p", { "class": "emergency__message", text: answer.message }),
          el("p", { "class": "emergency__actions" }, [
            el("a", { "class": "button button--emergency", href: "tel:" + config.emergencyNumber,
                      text: S.call + " " + config.emergencyNumber })
          ])
        ])
      ]));
    } else {
      article.appendChild(el("p", { "class": "answer__message", text: answer.message }));
    }

    var quotes = answer.quotes || [];
    if (quotes.length) {
      article.appendChild(el("ol", { "class": "quotes", "aria-label": S.quotes }, quotes.map(renderQuote)));
    }

    if (kind === "no_answer" || kind === "out_of_scope") {
      var help = el("div", { "class": "help" }, [
        el("p", { "class": "help__label", text: S.tryThese }),
        el("ul", { "class": "chips" }, config.starters.map(chip))
      ]);
      if (kind === "no_answer") {
        help.appendChild(el("p", { "class": "help__label", text: S.registries }));
        help.appendChild(el("ul", { "class": "links" }, config.registries.map(function (pair) {
          return el("li", null, [el("a", { href: pair[1], target: "_blank", rel: "noopener noreferrer" },
                                    [pair[0], newTabHint()])]);
        })));
      }
      article.appendChild(help);
    }

    if (answer.related && answer.related.length) {
      article.appendChild(el("div", { "class": "related" }, [
        el("p", { "class": "related__label", text: S.related }),
        el("ul", { "class": "chips" }, answer.related.map(chip))
      ]));
    }

    if (answer.disclaimers && answer.disclaimers.length) {
      article.appendChild(el("div", { "class": "disclaimers" }, answer.disclaimers.map(function (d) {
        return el("p", { "class": "disclaimer", "data-code": d.code }, [icon("info"), el("span", { text: d.text })]);
      })));
    }

    if (!emergency) {
      var ids = quotes.map(function (q) { return q.passage_id; }).join(" ");
      article.appendChild(el("form", { "class": "feedback", method: "post", action: "/feedback",
                                       "data-question": config.sendQuestion ? question : null }, [
        el("input", { type: "hidden", name: "passage_ids", value: ids }),
        el("input", { type: "hidden", name: "kind", value: kind }),
        el("input", { type: "hidden", name: "next", value: location.pathname + location.search }),
        el("span", { "class": "feedback__label", text: S.helpful }),
        el("button", { "class": "feedback__button", type: "submit", name: "vote", value: "up", "aria-pressed": "false" },
           [icon("up"), el("span", { text: S.yes })]),
        el("button", { "class": "feedback__button", type: "submit", name: "vote", value: "down", "aria-pressed": "false" },
           [icon("down"), el("span", { text: S.no })]),
        el("span", { "class": "feedback__status", role: "status" })
      ]));
    }
    return article;
  }

  // --- conversation state (sessionStorage; quietly in memory when storage is unavailable) ----

  function loadConversation() {
    try {
      var raw = window.sessionStorage.getItem(config.storageKey);
      var parsed = raw ? JSON.parse(raw) : [];
      return Array.isArray(parsed) ? parsed.filter(function (t) {
        return t && typeof t.question === "string" && t.answer && typeof t.answer === "object";
      }) : [];
    } catch (error) {
      return [];
    }
  }

  function saveConversation() {
    try {
      window.sessionStorage.setItem(config.storageKey, JSON.stringify(conversation.slice(-MAX_TURNS)));
    } catch (error) { /* private mode or blocked third-party storage: keep it in memory */ }
  }

  function clearConversation() {
    conversation = [];
    try { window.sessionStorage.removeItem(config.storageKey); } catch (error) { /* ignore */ }
  }

  // A random id for this tab, sent as X-QA-Session so the server's rate limit counts this
  // conversation on its own (people sharing one IP address are not throttled together). It is
  // not stored with feedback and lives only as long as the tab.
  function sessionId() {
    var key = "stemcell-qa:session";
    var id = "";
    try { id = window.sessionStorage.getItem(key) || ""; } catch (error) { id = ""; }
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      var bytes = new Uint8Array(16);
      (window.crypto || window.msCrypto).getRandomValues(bytes);
      id = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      try { window.sessionStorage.setItem(key, id); } catch (error) { /* in memory only */ }
    }
    return id;
  }
  var session = sessionId();

  // --- asking -----------------------------------------------------------------------------------

  function announce(text) {
    if (!status) return;
    status.textContent = "";
    if (text) window.setTimeout(function () { status.textContent = text; }, 50);
  }

  function scrollIntoView(node, block) {
    if (!node) return;
    var behavior = reduceMotion ? "auto" : "smooth";
    if (scroller) {  // the panel scrolls inside itself: never scroll the frame's document
      var offset = node.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
      if (block === "nearest" && offset >= 0 && offset < scroller.clientHeight - 40) return;
      scroller.scrollTo({ top: scroller.scrollTop + offset - 8, behavior: behavior });
    } else if (node.scrollIntoView) {
      node.scrollIntoView({ block: block || "start", behavior: behavior });
    }
  }

  function showPending() {
    pending = el("div", { "class": "pending", "aria-hidden": "true" }, [
      el("span", { "class": "pending__dots" }, [el("span"), el("span"), el("span")]),
      el("span", { text: S.searching })
    ]);
    transcript.parentNode.insertBefore(pending, transcript.nextSibling);
    scrollIntoView(pending, "nearest");
  }

  function hidePending() {
    if (pending && pending.parentNode) pending.parentNode.removeChild(pending);
    pending = null;
  }

  function showError(message) {
    var box = form.querySelector(".composer__error");
    if (!box) {
      box = el("p", { id: "question-error", "class": "composer__error", role: "alert" });
      form.insertBefore(box, form.querySelector(".composer__row"));
    }
    box.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "question-error question-hint");
  }

  function clearError() {
    var box = form.querySelector(".composer__error");
    if (box) box.parentNode.removeChild(box);
    input.removeAttribute("aria-invalid");
    input.setAttribute("aria-describedby", "question-hint");
  }

  function errorMessage(body, statusCode) {
    if (body && body.error && typeof body.error.message === "string") {
      if (statusCode === 429) return body.error.message;  // "Too many questions… wait N seconds"
      return statusCode === 422 ? "Please check your question: " + body.error.message + "." : S.failed;
    }
    return S.failed;
  }

  function appendTurn(question, answer) {
    var fragment = document.createDocumentFragment();
    var article = renderAnswer(answer, question);
    fragment.appendChild(renderQuestion(question));
    fragment.appendChild(article);
    transcript.appendChild(fragment);
    return article;
  }

  function ask(question) {
    if (busy) return;
    busy = true;
    clearError();
    sendButton.disabled = true;
    sendButton.setAttribute("aria-disabled", "true");
    var questionNode = renderQuestion(question);
    transcript.appendChild(questionNode);
    input.value = "";
    showPending();
    announce(S.searching);

    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    fetch(config.api.ask, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-QA-Session": session },
      body: JSON.stringify({ question: question }),
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        return { ok: response.ok, status: response.status, body: body };
      });
    }).then(function (result) {
      hidePending();
      if (result.ok && result.body && result.body.kind) {
        var article = renderAnswer(result.body, question);
        transcript.appendChild(article);
        conversation.push({ question: question, answer: result.body });
        saveConversation();
        announce("");
        // an emergency reply is what must be seen first; otherwise read from the question down
        scrollIntoView(article.querySelector(".emergency") ? article : questionNode, "start");
      } else {
        transcript.removeChild(questionNode);
        input.value = question;
        showError(errorMessage(result.body, result.status));
        announce("");
      }
    }).catch(function () {
      hidePending();
      if (questionNode.parentNode) transcript.removeChild(questionNode);
      input.value = question;
      showError(S.offline);
      announce("");
    }).then(function () {
      if (timer) window.clearTimeout(timer);
      busy = false;
      sendButton.disabled = false;
      sendButton.removeAttribute("aria-disabled");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question) {
      showError(S.empty);
      input.focus();
      return;
    }
    ask(question);
  });

  var starters = document.getElementById("starters");
  if (starters) {
    starters.addEventListener("submit", function (event) {
      event.preventDefault();
      var submitter = event.submitter;
      var question = submitter && submitter.name === "starter" ? submitter.value.trim() : "";
      if (question) ask(question);
    });
  }

  // --- feedback -----------------------------------------------------------------------------

  document.addEventListener("submit", function (event) {
    var target = event.target;
    if (!target.classList || !target.classList.contains("feedback")) return;
    event.preventDefault();
    var submitter = event.submitter;
    if (!submitter || submitter.name !== "vote") return;
    var buttons = target.querySelectorAll(".feedback__button");
    var note = target.querySelector(".feedback__status");
    var payload = {
      vote: submitter.value,
      passage_ids: (target.elements.passage_ids.value || "").split(" ").filter(Boolean),
      kind: target.elements.kind.value
    };
    var question = target.getAttribute("data-question") ||
      (target.elements.question ? target.elements.question.value : "");
    if (config.sendQuestion && question) payload.question = question;
    Array.prototype.forEach.call(buttons, function (button) {
      button.setAttribute("aria-pressed", button === submitter ? "true" : "false");
      button.disabled = true;
    });
    fetch(config.api.feedback, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-QA-Session": session },
      body: JSON.stringify(payload),
      credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) throw new Error("feedback " + response.status);
      note.textContent = S.thanks;
    }).catch(function () {
      note.textContent = S.feedbackFailed;
      Array.prototype.forEach.call(buttons, function (button) {
        button.disabled = false;
        button.setAttribute("aria-pressed", "false");
      });
    });
  });

  // --- new chat, close, messages from the host page -----------------------------------------

  function newChat() {
    clearConversation();
    while (transcript.firstChild) transcript.removeChild(transcript.firstChild);
    Array.prototype.forEach.call(document.querySelectorAll(".notice"), function (node) {
      node.parentNode.removeChild(node);
    });
    hidePending();
    clearError();
    input.value = "";
    if (window.history && window.history.replaceState && location.search.indexOf("thanks=1") !== -1) {
      window.history.replaceState(null, "", location.pathname + location.search.replace(/[?&]thanks=1/, ""));
    }
    if (scroller) scroller.scrollTop = 0; else window.scrollTo(0, 0);
    input.focus();
    announce(S.newChat);
  }

  Array.prototype.forEach.call(document.querySelectorAll('[data-action="new-chat"]'), function (control) {
    control.addEventListener("click", function (event) {
      event.preventDefault();
      newChat();
    });
  });

  var inFrame = window.parent && window.parent !== window;
  var parentOrigin = config.mode === "embed" && inFrame ? config.parentOrigin : "";

  function tellParent(type) {
    if (parentOrigin) window.parent.postMessage({ source: "stemcell-qa", type: type }, parentOrigin);
  }

  if (config.mode === "embed") {
    var panel = document.querySelector(".panel");
    var primary = panel && panel.getAttribute("data-primary");
    if (primary && /^#[0-9a-fA-F]{3,6}$/.test(primary)) {
      document.documentElement.style.setProperty("--primary", primary);
      document.documentElement.style.setProperty("--on-primary", panel.getAttribute("data-on-primary") || "#ffffff");
    }
    var closeButton = document.querySelector('[data-action="close"]');
    if (closeButton && config.closable && parentOrigin) {
      closeButton.hidden = false;
      closeButton.addEventListener("click", function () { tellParent("close"); });
      document.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && !event.defaultPrevented) {
          event.preventDefault();
          tellParent("close");
        }
      });
    }
    window.addEventListener("message", function (event) {
      if (!parentOrigin || event.source !== window.parent || event.origin !== parentOrigin) return;
      var data = event.data;
      if (!data || data.source !== "stemcell-qa") return;
      if (data.type === "focus") input.focus();
    });
  }

  // --- restore the conversation of this tab ---------------------------------------------------

  var serverRendered = transcript.querySelector(".answer");
  if (!serverRendered) {
    conversation = loadConversation();
    if (conversation.length) {
      transcript.setAttribute("aria-live", "off");  // restoring is not news: do not read it out
      conversation.forEach(function (turn) { appendTurn(turn.question, turn.answer); });
      window.setTimeout(function () { transcript.setAttribute("aria-live", "polite"); }, 500);
      var last = transcript.lastElementChild;
      if (scroller && last) scroller.scrollTop = scroller.scrollHeight;
    }
  }
  document.documentElement.setAttribute("data-enhanced", "true");
  tellParent("ready");
})();
