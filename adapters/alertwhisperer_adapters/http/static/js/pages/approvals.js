// Approval requests for medium- and high-risk runbooks: medium needs a company admin (of that
// company) or an MSP admin, high an MSP admin; nobody approves their own request.
import { h, replace, debounce, serialized, select, statusBadge, timeEl, empty } from "../dom.js";
import { get, post, describe } from "../api.js";
import { toast, busy, dialog } from "../ui.js";

function mayDecide(ctx, a) {
  if (a.status !== "pending" || a.requested_by === ctx.user.id) return false;
  if (ctx.user.role === "msp_admin") return true;
  return a.risk === "medium" && ctx.user.role === "company_admin" && ctx.user.company_ids.includes(a.company_id);
}

async function decide(ctx, a, approve, button, done) {
  const notes = h("textarea", { placeholder: "Notes (optional)", "data-testid": "decision-notes" });
  const d = dialog({ title: approve ? "Approve request" : "Reject request", testid: "decision-dialog", body: h("div", { class: "form" }, h("p", {}, approve ? "The runbook starts as soon as you approve." : "The runbook will not run."), notes),
    actions: [["Cancel", false], [approve ? "Approve" : "Reject", true, approve ? "primary" : "danger"]] });
  if (!await d.done) return;
  await busy(button, async () => {
    await post(`/api/approvals/${encodeURIComponent(a.id)}/${approve ? "approve" : "reject"}`, { notes: notes.value });
    toast(approve ? "Approved: the runbook is running" : "Rejected");
    done();
  });
}

export function mount(ctx) {
  const status = select({ "aria-label": "Status", "data-testid": "approvals-status" },
    [["pending", "Pending"], ["", "All"], ["approved", "Approved"], ["executing", "Executing"], ["succeeded", "Succeeded"], ["failed", "Failed"], ["rejected", "Rejected"], ["expired", "Expired"]]);
  const body = h("tbody", { "data-testid": "approval-list" });
  let runbooks = new Map();
  let users = new Map();
  const load = serialized(async () => {
    try {
      const [page, books, people] = await Promise.all([
        get("/api/approvals", { company_id: ctx.company || undefined, status: status.value }),
        runbooks.size ? null : get("/api/runbooks"),
        users.size || !ctx.isAdmin ? null : get("/api/users").catch(() => null),
      ]);
      if (books) runbooks = new Map(books.items.map((r) => [r.id, r]));
      if (people) users = new Map(people.items.map((u) => [u.id, u]));
      replace(body, page.items.length ? page.items.map((a) => h("tr", { "data-testid": "approval-row", "data-id": a.id },
        h("td", {}, timeEl(a.created_at)), h("td", {}, ctx.companyName(a.company_id)),
        h("td", {}, h("a", { href: `#/incidents/${encodeURIComponent(a.incident_id)}` }, "incident")),
        h("td", {}, (runbooks.get(a.runbook_id) || {}).name || a.runbook_id),
        h("td", {}, h("span", { class: `badge ${a.risk === "high" ? "sev-critical" : "sev-medium"}` }, a.risk)),
        h("td", {}, a.requested_by === ctx.user.id ? "you" : (users.get(a.requested_by) || {}).name || a.requested_by),
        h("td", { "data-testid": "approval-status" }, statusBadge(a.status)),
        h("td", { class: "row" }, mayDecide(ctx, a) ? [
          h("button", { type: "button", class: "primary", "data-testid": "approve", onclick: (e) => decide(ctx, a, true, e.target, load) }, "Approve"),
          h("button", { type: "button", class: "danger", "data-testid": "reject", onclick: (e) => decide(ctx, a, false, e.target, load) }, "Reject"),
        ] : h("span", { class: "small muted" }, a.status === "pending" ? (a.requested_by === ctx.user.id ? "your request" : `needs ${a.risk === "high" ? "an MSP admin" : "an admin"}`) : (a.notes || ""))))) :
        h("tr", {}, h("td", { colspan: 8 }, empty("No approval requests."))));
    } catch (e) { replace(body, h("tr", {}, h("td", { colspan: 8, class: "error-text" }, describe(e)))); }
  });
  status.addEventListener("change", load);
  load();
  const soon = debounce(load, 300);
  return {
    node: h("div", { "data-testid": "page-approvals" }, h("h1", {}, "Approvals"),
      h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", {}, "Requests"), status),
        h("table", {}, h("thead", {}, h("tr", {}, ["Requested", "Company", "Incident", "Runbook", "Risk", "By", "Status", ""].map((t) => h("th", {}, t)))), body))),
    refresh: load,
    onEvent: (e) => { if (e.type.startsWith("approval.") || e.type.startsWith("execution.")) soon(); },
  };
}
