// The audit log: filter by action, company, user and time range; page through; export the
// same selection as CSV or JSON Lines (the browser downloads it with the session cookie).
import { h, replace, fmtTime, select, empty, localToIso } from "../dom.js";
import { get, url, describe } from "../api.js";

const ACTIONS = ["login_failed", "user_created", "user_updated", "user_deactivated", "user_deleted", "company_created", "company_deleted",
  "config_changed", "api_key_regenerated", "hmac_enabled", "hmac_disabled", "asset_created", "asset_updated", "asset_deleted",
  "incident_assigned", "incident_status_changed", "incident_note_added", "approval_requested", "approval_granted", "approval_denied",
  "approval_expired", "runbook_executed", "runbook_created", "runbook_updated", "runbook_deleted", "compliance_synced", "sns_subscription_received"];

export function mount(ctx) {
  const action = select({ "aria-label": "Action", "data-testid": "audit-action" }, [["", "All actions"], ...ACTIONS.map((a) => [a, a.replaceAll("_", " ")])]);
  const user = h("input", { placeholder: "User id", "aria-label": "User id", size: 14 });
  const since = h("input", { type: "datetime-local", "aria-label": "Since" });
  const until = h("input", { type: "datetime-local", "aria-label": "Until" });
  const body = h("tbody", { "data-testid": "audit-list" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const csv = h("a", { "data-testid": "audit-export-csv", download: "audit.csv" }, "Export CSV");
  const jsonl = h("a", { "data-testid": "audit-export-jsonl", download: "audit.jsonl" }, "Export JSON Lines");
  let cursor = null;

  const filters = () => ({ company_id: ctx.company || undefined, action: action.value, user_id: user.value.trim(), since: localToIso(since.value), until: localToIso(until.value) });
  const row = (e) => h("tr", { "data-testid": "audit-row" }, h("td", {}, fmtTime(e.timestamp)), h("td", {}, h("code", {}, e.action)),
    h("td", {}, e.user_name || "system"), h("td", {}, e.company_id ? ctx.companyName(e.company_id) : "—"),
    h("td", { class: "small mono" }, JSON.stringify(e.details)));
  const load = async (append) => {
    csv.setAttribute("href", url("/api/audit/export", { format: "csv", ...filters() }));
    jsonl.setAttribute("href", url("/api/audit/export", { format: "jsonl", ...filters() }));
    try {
      const page = await get("/api/audit", { ...filters(), limit: 100, cursor: append ? cursor : undefined });
      cursor = page.next_cursor;
      more.hidden = !cursor;
      if (append) body.append(...page.items.map(row));
      else replace(body, page.items.length ? page.items.map(row) : h("tr", {}, h("td", { colspan: 5 }, empty("No entries match."))));
    } catch (e) { replace(body, h("tr", {}, h("td", { colspan: 5, class: "error-text" }, describe(e)))); }
  };
  for (const el of [action, since, until]) el.addEventListener("change", () => load(false));
  user.addEventListener("change", () => load(false));
  more.addEventListener("click", () => load(true));
  load(false);
  return {
    node: h("div", { "data-testid": "page-audit" }, h("div", { class: "row between" }, h("h1", {}, "Audit log"), h("div", { class: "row" }, csv, jsonl)),
      h("section", { class: "panel" }, h("div", { class: "panel-head" }, action, user, h("label", {}, "Since", since), h("label", {}, "Until", until)),
        h("table", {}, h("thead", {}, h("tr", {}, ["Time", "Action", "User", "Company", "Details"].map((t) => h("th", {}, t)))), body), more)),
    refresh: () => load(false),
  };
}
