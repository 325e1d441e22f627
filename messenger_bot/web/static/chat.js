// The web chat page: sends what the person types or taps to /api/chat and shows the replies.
// Every text is put on the page with textContent (never innerHTML), so nothing in a message
// can become markup. *bold*, "• " bullets and line breaks are rebuilt as elements, and the
// numbers in an emergency alert become tel: links.
"use strict";

(function () {
  const STORE_KEY = "messenger-bot-user";
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const sendButton = document.getElementById("send");
  // The page's own words, in the page's language (flows/webchat.yaml, filled in by the server).
  const words = document.body.dataset;
  let busy = false;

  // A random key that stays in this browser, so the bot remembers the conversation.
  function userKey() {
    let key = null;
    try {
      key = window.localStorage.getItem(STORE_KEY);
    } catch (e) { /* storage blocked: keep the key for this page only */ }
    if (!key || !/^[A-Za-z0-9_-]{8,64}$/.test(key)) {
      const bytes = new Uint8Array(18);
      window.crypto.getRandomValues(bytes);
      key = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      try {
        window.localStorage.setItem(STORE_KEY, key);
      } catch (e) { /* as above */ }
    }
    return key;
  }
  const user = userKey();

  // Where this browser is, sent with every message: its time zone (and, failing that, its
  // first language's region) tells the bot which emergency number an alert should name.
  function place() {
    const where = {};
    try {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone) where.time_zone = zone;
    } catch (e) { /* no Intl: the bot names the general numbers */ }
    const languages = navigator.languages && navigator.languages.length
      ? navigator.languages : [navigator.language];
    where.languages = Array.from(languages).filter(Boolean).slice(0, 10);
    return where;
  }
  const where = place();

  // In an alert, each emergency number (3 to 5 digits: 112, 999, 10177) is a link that dials it.
  function withCallLinks(parent, text) {
    text.split(/\b(\d{3,5})\b/).forEach((part, index) => {
      if (!part) return;
      if (index % 2 === 1) {
        const link = document.createElement("a");
        link.className = "call";
        link.href = "tel:" + part;
        link.textContent = part;
        parent.appendChild(link);
      } else {
        parent.appendChild(document.createTextNode(part));
      }
    });
  }

  // "*word*" becomes <strong>word</strong>; everything else stays plain text.
  function inline(parent, text, callLinks) {
    const parts = text.split(/\*([^*\n]+)\*/);
    parts.forEach((part, index) => {
      if (!part) return;
      if (index % 2 === 1) {
        const strong = document.createElement("strong");
        strong.textContent = part;
        parent.appendChild(strong);
      } else if (callLinks) {
        withCallLinks(parent, part);
      } else {
        parent.appendChild(document.createTextNode(part));
      }
    });
  }

  // Paragraphs split on blank lines; lines starting with "• " become a list.
  function formatted(text, callLinks) {
    const box = document.createElement("div");
    box.className = "text";
    let list = null;
    let para = null;
    for (const raw of String(text).replace(/\s+$/, "").split("\n")) {
      const line = raw.trimEnd();
      if (line.startsWith("• ")) {
        if (!list) {
          list = document.createElement("ul");
          box.appendChild(list);
        }
        const item = document.createElement("li");
        inline(item, line.slice(2), callLinks);
        list.appendChild(item);
        para = null;
      } else if (line === "") {
        list = null;
        para = null;
      } else {
        list = null;
        if (para) {
          para.appendChild(document.createElement("br"));
        } else {
          para = document.createElement("p");
          box.appendChild(para);
        }
        inline(para, line, callLinks);
      }
    }
    return box;
  }

  function emergencyBadge() {
    const badge = document.createElement("p");
    badge.className = "badge";
    const icon = document.createElement("span");
    icon.className = "icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = "⚠";
    const word = document.createElement("strong");
    word.textContent = words.emergency;
    badge.append(icon, word);
    return badge;
  }

  function botMessage(reply) {
    const item = document.createElement("article");
    item.className = "msg bot kind-" + reply.kind;
    item.dataset.kind = reply.kind;
    if (reply.topic) item.dataset.topic = reply.topic;
    item.tabIndex = -1;
    if (reply.kind === "alert") {
      item.setAttribute("role", "alert");
      item.appendChild(emergencyBadge());
    }
    item.appendChild(formatted(reply.text, reply.kind === "alert"));
    for (const file of reply.files || []) item.appendChild(attachment(file));
    const buttons = reply.buttons || [];
    if (buttons.length) {
      const group = document.createElement("div");
      group.className = "choices";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", words.choices);
      for (const choice of buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "choice";
        button.textContent = choice.label;
        button.addEventListener("click", () => send({ button: choice.payload }, choice.label));
        group.appendChild(button);
      }
      item.appendChild(group);
    }
    return item;
  }

  // A chart is shown in the chat; a PDF is a link that opens it. Only links from this server
  // (relative, or this page's own origin) are followed, so a reply cannot point the page elsewhere.
  function attachment(file) {
    const url = new URL(file.url, window.location.href);
    const box = document.createElement("p");
    box.className = "file";
    if (url.origin !== window.location.origin) return box;
    const link = document.createElement("a");
    link.href = url.href;
    link.target = "_blank";
    link.rel = "noopener";
    if (file.type === "image/png") {
      const image = document.createElement("img");
      image.src = url.href;
      image.alt = file.label || "";
      image.className = "chart";
      link.appendChild(image);
    } else {
      link.textContent = file.label || url.pathname;
    }
    box.appendChild(link);
    return box;
  }

  function userMessage(text) {
    const item = document.createElement("p");
    item.className = "msg me";
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = words.you;
    item.append(who, document.createTextNode(text));
    log.appendChild(item);
  }

  function note(text) {
    const item = document.createElement("p");
    item.className = "msg note";
    item.tabIndex = -1;
    item.textContent = text;
    log.appendChild(item);
    return item;
  }

  function setBusy(value) {
    busy = value;
    log.setAttribute("aria-busy", value ? "true" : "false");
    sendButton.disabled = value;
    status.textContent = value ? words.answering : "";
  }

  // Show the replies; focus moves to the first new message so a screen reader starts there.
  function show(replies, focus) {
    let first = null;
    for (const reply of replies) {
      const item = botMessage(reply);
      log.appendChild(item);
      first = first || item;
    }
    if (first && focus) {
      first.focus({ preventScroll: true });
      first.scrollIntoView({ block: "start", behavior: "smooth" });
    }
  }

  async function send(message, shown) {
    if (busy) return false;
    if (shown) userMessage(shown);
    setBusy(true);
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(Object.assign({ user: user }, where, message)),
      });
      const data = await response.json().catch(() => ({}));
      if (response.ok && Array.isArray(data.replies)) {
        show(data.replies, shown !== null);
        return true;
      }
      note(data.message || words.failed).focus();
    } catch (e) {
      note(words.offline).focus();
    } finally {
      setBusy(false);
    }
    return false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    if (!(await send({ text: text }, text))) input.value = text;
  });

  send({ text: "start" }, null);
})();
