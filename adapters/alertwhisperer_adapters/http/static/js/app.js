// The dashboard's entry point: login, the shell (header, navigation, live indicator, bell),
// hash routing (#/incidents/ID) and the live connection that feeds the open page.
import { h, replace } from "./dom.js";
import { ApiError, describe, get, onUnauthorized, post } from "./api.js";
import { LiveConnection } from "./live.js";
import { Bell } from "./bell.js";
import { toast } from "./ui.js";
import * as overview from "./pages/overview.js";
import * as incidents from "./pages/incidents.js";
import * as incident from "./pages/incident.js";
import * as companies from "./pages/companies.js";
import * as company from "./pages/company.js";
import * as users from "./pages/users.js";
import * as approvals from "./pages/approvals.js";
import * as runbooks from "./pages/runbooks.js";
import * as audit from "./pages/audit.js";
import * as kpis from "./pages/kpis.js";
import * as compliance from "./pages/compliance.js";
import * as chat from "./pages/chat.js";

const ADMIN = ["msp_admin", "company_admin"];
const ROLE_NAMES = { msp_admin: "MSP admin", company_admin: "Company admin", technician: "Technician" };

// [pattern, module, nav label or null, roles allowed (null: everyone)]
const ROUTES = [
  ["", overview, "Dashboard", null],
  ["incidents", incidents, "Incidents", null],
  ["incidents/:id", incident, null, null],
  ["approvals", approvals, "Approvals", null],
  ["runbooks", runbooks, "Runbooks", null],
  ["kpis", kpis, "KPIs", null],
  ["compliance", compliance, "Compliance", null],
  ["chat", chat, "Chat", null],
  ["chat/:company", chat, null, null],
  ["companies", companies, "Companies", ADMIN],
  ["companies/:id", company, null, ADMIN],
  ["technicians", users, "Technicians", ADMIN],
  ["audit", audit, "Audit log", ADMIN],
];

const root = document.getElementById("app");
let ctx = null;
let current = null;
let live = null;
let bell = null;

function match(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  for (const [pattern, module, , roles] of ROUTES) {
    const want = pattern.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    if (want.every((seg, i) => (seg.startsWith(":") ? ((params[seg.slice(1)] = parts[i]), true) : seg === parts[i]))) {
      return { pattern, module, roles, params };
    }
  }
  return null;
}

// ---------------------------------------------------------------- login

function showLogin(message) {
  stopApp();
  const error = h("div", { class: "form-error", role: "alert", "data-testid": "login-error" }, message || "");
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, "data-testid": "login-email" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true, "data-testid": "login-password" });
  const submit = h("button", { type: "submit", class: "primary", "data-testid": "login-submit" }, "Log in");
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      replace(error);
      try {
        const answer = await post("/api/auth/login", { email: email.value.trim(), password: password.value });
        password.value = "";
        await startApp(answer.user);
      } catch (e) {
        replace(error, describe(e));
      } finally {
        submit.disabled = false;
      }
    },
  },
  h("h1", {}, h("img", { src: "/static/favicon.svg", alt: "", width: 28, height: 28 }), "Alert Whisperer"),
  h("p", { class: "muted" }, "Sign in to the real-time dashboard."),
  h("label", {}, "Email", email),
  h("label", {}, "Password", password),
  error, submit);
  replace(root, h("div", { class: "login", "data-testid": "login-page" }, form));
  email.focus();
}

async function logout() {
  try { await post("/api/auth/logout"); } catch { /* the session may already be gone */ }
  showLogin("You are logged out.");
}

// ---------------------------------------------------------------- shell

function stopApp() {
  if (current && current.dispose) current.dispose();
  current = null;
  if (live) live.stop();
  live = null;
  if (bell) bell.dispose();
  bell = null;
  window.removeEventListener("hashchange", route);
  ctx = null;
}

async function loadCompanies() {
  const page = await get("/api/companies");
  ctx.companies = page.items;
  const select = ctx.companySelect;
  const keep = ctx.company;
  replace(select, h("option", { value: "" }, "All companies"),
    ctx.companies.map((c) => h("option", { value: c.id }, c.name)));
  ctx.company = ctx.companies.some((c) => c.id === keep) ? keep : "";
  select.value = ctx.company;
}

async function startApp(user) {
  stopApp();
  const indicator = h("span", { class: "live", "data-state": "connecting", "data-testid": "live-indicator", title: "Live connection" },
    h("span", { class: "dot" }), h("span", { class: "text" }, "Connecting…"));
  const companySelect = h("select", { "aria-label": "Company", "data-testid": "company-filter" });
  const nav = h("nav", { class: "side", "aria-label": "Main" });
  const main = h("main", { id: "main", tabindex: "-1" });
  ctx = {
    user,
    isMsp: user.role === "msp_admin",
    isAdmin: ADMIN.includes(user.role),
    companies: [],
    company: sessionStorage.getItem("aw.company") || "",
    companySelect,
    companyName: (id) => (ctx.companies.find((c) => c.id === id) || {}).name || id || "—",
    companyOrFirst: () => ctx.company || (ctx.companies[0] && ctx.companies[0].id) || "",
    navigate: (hash) => { if (location.hash === hash) route(); else location.hash = hash; },
    reloadCompanies: () => loadCompanies(),
    setNavCount: (name, count) => {
      const badge = nav.querySelector(`[data-count="${name}"]`);
      if (badge) { badge.textContent = String(count); badge.hidden = !count; }
    },
    live: null,
  };
  companySelect.addEventListener("change", () => {
    ctx.company = companySelect.value;
    sessionStorage.setItem("aw.company", ctx.company);
    route();
  });
  bell = new Bell(ctx);
  const header = h("header", { class: "topbar" },
    h("a", { class: "brand", href: "#/" }, h("img", { src: "/static/favicon.svg", alt: "" }), "Alert Whisperer"),
    companySelect, h("span", { class: "spacer" }), indicator, bell.node,
    h("span", { class: "who", "data-testid": "whoami" }, `${user.name} · ${ROLE_NAMES[user.role] || user.role}`),
    h("button", { class: "ghost", type: "button", onclick: logout, "data-testid": "logout" }, "Log out"));
  for (const [pattern, , label, roles] of ROUTES) {
    if (!label || (roles && !roles.includes(user.role))) continue;
    nav.append(h("a", { href: `#/${pattern}`, "data-nav": pattern }, label,
      pattern === "chat" ? h("span", { class: "nav-count", "data-count": "chat", hidden: true }) : null));
  }
  replace(root, h("div", { class: "shell" }, header, nav, main));
  ctx.main = main;
  ctx.nav = nav;
  try {
    await loadCompanies();
  } catch (e) {
    toast(describe(e), "error");
  }

  live = new LiveConnection({ checkSession });
  ctx.live = live;
  live.addEventListener("state", (e) => {
    indicator.dataset.state = e.detail;
    indicator.querySelector(".text").textContent =
      e.detail === "live" ? "Live" : e.detail === "connecting" ? "Connecting…" : "Offline";
  });
  live.addEventListener("event", (e) => dispatchLive(e.detail));
  live.addEventListener("reload", () => {
    bell.refresh();
    if (current && current.refresh) current.refresh();
  });
  live.addEventListener("unauthorized", () => showLogin("Your session has ended. Please log in again."));
  window.addEventListener("hashchange", route);
  route();
  bell.refresh();
  live.start();
}

function dispatchLive(event) {
  if (event.type === "notification") bell.onNotification(event);
  if (event.type === "chat.message" || event.type === "company.deleted") chat.onGlobalEvent(ctx, event);
  if (current && current.onEvent) {
    try { current.onEvent(event); } catch (e) { console.error(e); }
  }
}

async function checkSession() {
  try { await get("/api/auth/me"); return true; } catch (e) { return !(e instanceof ApiError && e.status === 401); }
}

function route() {
  if (!ctx) return;
  const found = match(location.hash);
  if (current && current.dispose) current.dispose();
  current = null;
  for (const a of ctx.nav.querySelectorAll("a[data-nav]")) {
    const pattern = a.dataset.nav;
    const here = found && (found.pattern === pattern || found.pattern.startsWith(pattern + "/")) && pattern !== "";
    a.classList.toggle("active", Boolean(here) || (pattern === "" && found && found.pattern === ""));
  }
  if (!found) {
    replace(ctx.main, h("div", { class: "panel", "data-testid": "not-found" }, h("h1", {}, "Page not found"), h("a", { href: "#/" }, "Back to the dashboard")));
    return;
  }
  if (found.roles && !found.roles.includes(ctx.user.role)) {
    replace(ctx.main, h("div", { class: "panel", "data-testid": "forbidden" }, h("h1", {}, "Not available"),
      h("p", {}, "This page is for administrators. Your role does not include it.")));
    return;
  }
  current = found.module.mount(ctx, found.params);
  replace(ctx.main, current.node);
}

onUnauthorized(() => {
  if (ctx) showLogin("Your session has ended. Please log in again.");
});

async function boot() {
  try {
    await startApp(await get("/api/auth/me"));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) showLogin();
    else replace(root, h("p", { class: "boot error-text" }, `The server did not answer: ${describe(e)}`));
  }
}

boot();
