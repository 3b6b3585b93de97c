// Company chat: rooms per company with unread counts, history (newest last, older pages on
// demand), who is online, Enter to send; new messages and presence arrive over /ws.
import { h, replace, debounce, fmtTime, empty } from "../dom.js";
import { get, post, describe } from "../api.js";
import { toast } from "../ui.js";

let unreadNav = null;

/** Keeps the navigation's chat badge current wherever the user is. */
export function onGlobalEvent(ctx, event) {
  if (event.type !== "chat.message") return;
  if (!unreadNav) unreadNav = debounce(async (c) => {
    try {
      const answer = await get("/api/chat/unread");
      c.setNavCount("chat", answer.items.reduce((sum, i) => sum + i.unread, 0));
    } catch { /* chat not available: leave the badge */ }
  }, 400);
  unreadNav(ctx);
}

export function mount(ctx, params) {
  const companyId = params.company || ctx.companyOrFirst();
  const rooms = h("div", { class: "rooms", "data-testid": "chat-rooms" });
  const messages = h("div", { class: "messages", "data-testid": "chat-messages", "aria-live": "polite" });
  const online = h("ul", { class: "list online", "data-testid": "chat-online" });
  const input = h("textarea", { placeholder: "Type a message, Enter to send (Shift+Enter: new line)", "aria-label": "Message", maxlength: 2000, rows: 2, "data-testid": "chat-input" });
  const older = h("button", { type: "button", hidden: true }, "Load older messages");
  const seen = new Set();
  let cursor = null;

  const bubble = (m) => h("div", { class: `msg ${m.user_id === ctx.user.id ? "mine" : ""}`, "data-testid": "chat-message", "data-id": m.id },
    h("div", { class: "meta" }, `${m.user_name} · ${fmtTime(m.created_at)}`), h("div", { class: "body" }, m.body));
  const add = (m, atTop = false) => {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    const placeholder = messages.querySelector(".empty");
    if (placeholder) placeholder.remove();
    if (atTop) messages.prepend(bubble(m)); else { messages.append(bubble(m)); messages.scrollTop = messages.scrollHeight; }
  };
  const renderOnline = (people) => replace(online, people.length ? people.map((p) => h("li", {}, p.name)) : h("li", { class: "muted" }, "nobody"));
  const markRead = debounce(async () => {
    try { await post(`/api/chat/${encodeURIComponent(companyId)}/read`); loadRooms(); } catch { /* best effort */ }
  }, 300);

  async function loadRooms() {
    let unread = new Map();
    try { unread = new Map((await get("/api/chat/unread")).items.map((i) => [i.company_id, i.unread])); } catch { /* no counts */ }
    ctx.setNavCount("chat", [...unread.values()].reduce((a, b) => a + b, 0));
    replace(rooms, ctx.companies.map((c) => h("a", { href: `#/chat/${encodeURIComponent(c.id)}`, class: c.id === companyId ? "active" : "" },
      c.name, unread.get(c.id) ? h("span", { class: "nav-count" }, String(unread.get(c.id))) : null)));
  }

  async function loadPage(append) {
    try {
      const page = await get(`/api/chat/${encodeURIComponent(companyId)}/messages`, { limit: 50, cursor: append ? cursor : undefined });
      cursor = page.next_cursor;
      older.hidden = !cursor;
      if (!append) {
        messages.replaceChildren();
        if (!page.items.length) messages.append(empty("No messages yet. Say hello!"));
        for (const m of [...page.items].reverse()) add(m);
        renderOnline(page.online || []);
        markRead();
      } else {
        for (const m of page.items) add(m, true);
      }
    } catch (e) { replace(messages, h("p", { class: "error-text" }, describe(e))); }
  }

  async function send() {
    const body = input.value.trim();
    if (!body) return;
    input.disabled = true;
    try {
      const m = await post(`/api/chat/${encodeURIComponent(companyId)}/messages`, { body });
      input.value = "";
      add(m);
    } catch (e) { toast(describe(e), "error"); }
    finally { input.disabled = false; input.focus(); }
  }
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  older.addEventListener("click", () => loadPage(true));

  if (!companyId) {
    return { node: h("div", { "data-testid": "page-chat" }, h("h1", {}, "Chat"), empty("No company to chat in.")) };
  }
  loadRooms();
  loadPage(false);
  return {
    node: h("div", { "data-testid": "page-chat" }, h("h1", {}, `Chat · ${ctx.companyName(companyId)}`),
      h("div", { class: "chat" },
        h("section", { class: "panel" }, h("h2", {}, "Companies"), rooms),
        h("section", { class: "panel" }, older, messages, h("div", { class: "row" }, input, h("button", { type: "button", class: "primary", "data-testid": "chat-send", onclick: send }, "Send"))),
        h("section", { class: "panel" }, h("h2", {}, "Online"), online))),
    refresh: () => { loadRooms(); loadPage(false); },
    onEvent: (e) => {
      const d = e.data || {};
      if (e.type === "chat.message") {
        if (e.company_id === companyId || d.company_id === companyId) { add(d); markRead(); }
        else loadRooms();
      } else if (e.type === "presence" && d.company_id === companyId) renderOnline(d.online || []);
    },
  };
}
