// The notification bell: unread count, a dropdown of recent notifications, mark read (one or
// all), and desktop notifications through the browser's Notification API when permitted.
import { h, s, replace, timeEl, serialized } from "./dom.js";
import { get, post, describe } from "./api.js";
import { toast } from "./ui.js";

function linkHash(link) {
  if (!link || !link.id) return null;
  if (link.type === "incident") return `#/incidents/${encodeURIComponent(link.id)}`;
  if (link.type === "approval") return "#/approvals";
  if (link.type === "company") return `#/companies/${encodeURIComponent(link.id)}`;
  return null;
}

export class Bell {
  constructor(ctx) {
    this.ctx = ctx;
    this.open = false;
    this.count = h("span", { class: "count", "data-testid": "bell-count", hidden: true });
    this.button = h("button", {
      type: "button", "aria-label": "Notifications", "aria-haspopup": "true", "data-testid": "bell",
      onclick: (e) => { e.stopPropagation(); this.toggle(); },
    }, s("svg", { viewBox: "0 0 24 24", width: 18, height: 18, "aria-hidden": "true", class: "icon" },
      s("path", { d: "M12 3a6 6 0 0 0-6 6v4l-2 3v1h16v-1l-2-3V9a6 6 0 0 0-6-6zm-2.5 15a2.5 2.5 0 0 0 5 0z" })));
    this.list = h("ul", { class: "list", "data-testid": "bell-list" });
    this.permission = h("div");
    this.drop = h("div", { class: "drop", hidden: true, "data-testid": "bell-drop", onclick: (e) => e.stopPropagation() },
      h("div", { class: "head" }, h("strong", {}, "Notifications"),
        h("button", { type: "button", "data-testid": "bell-read-all", onclick: () => this.readAll() }, "Mark all as read")),
      this.permission, this.list);
    this.node = h("div", { class: "bell" }, this.button, this.count, this.drop);
    this.closeOnOutside = () => this.setOpen(false);
    document.addEventListener("click", this.closeOnOutside);
    this.refresh = serialized(() => this.load());
  }

  dispose() {
    document.removeEventListener("click", this.closeOnOutside);
  }

  toggle() { this.setOpen(!this.open); }

  setOpen(open) {
    this.open = open;
    this.drop.hidden = !open;
    if (open) { this.renderPermission(); this.refresh(); }
  }

  renderPermission() {
    if (!("Notification" in window) || Notification.permission !== "default") {
      replace(this.permission);
      return;
    }
    replace(this.permission, h("div", { class: "small pad" },
      h("button", {
        type: "button", "data-testid": "bell-desktop",
        onclick: async () => { await Notification.requestPermission(); this.renderPermission(); },
      }, "Enable desktop notifications")));
  }

  async load() {
    let page;
    try { page = await get("/api/notifications", { limit: 20 }); } catch { return; }
    this.count.textContent = String(page.unread_count);
    this.count.hidden = page.unread_count === 0;
    if (!page.items.length) { replace(this.list, h("li", { class: "muted" }, "No notifications")); return; }
    replace(this.list, page.items.map((n) => h("li", {
      class: `clickable ${n.read ? "" : "unread"}`, "data-testid": "bell-item",
      onclick: () => this.activate(n),
    }, h("div", { class: "row between" }, h("span", { class: "title" }, n.title), h("span", { class: `badge sev-${n.type === "critical" ? "critical" : n.type === "warning" ? "medium" : "low"}` }, n.type)),
    h("div", { class: "small" }, n.body), h("div", { class: "small muted" }, timeEl(n.created_at)))));
  }

  async activate(n) {
    if (!n.read) {
      try { await post(`/api/notifications/${encodeURIComponent(n.id)}/read`); } catch (e) { toast(describe(e), "error"); }
    }
    this.setOpen(false);
    this.refresh();
    const target = linkHash(n.link);
    if (target) this.ctx.navigate(target);
  }

  async readAll() {
    try { await post("/api/notifications/read-all"); } catch (e) { toast(describe(e), "error"); }
    this.refresh();
  }

  onNotification(event) {
    this.refresh();
    const data = event.data || {};
    if ("Notification" in window && Notification.permission === "granted") {
      const desktop = new Notification(String(data.title || "Alert Whisperer"), { body: String(data.body || ""), tag: String(data.id || "") });
      const target = linkHash(data.link);
      desktop.onclick = () => { window.focus(); if (target) this.ctx.navigate(target); desktop.close(); };
    } else {
      toast(`${data.title || "Notification"}${data.body ? ": " + data.body : ""}`);
    }
  }
}
