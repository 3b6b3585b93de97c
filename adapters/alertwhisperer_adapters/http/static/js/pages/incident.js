// One incident: its alerts, priority breakdown, timeline, notes, assignment, status and the
// runbooks that can act on it (run now, or ask for approval), with their executions.
import { h, replace, debounce, serialized, sevBadge, statusBadge, toolBadge, timeEl, fmtTime, empty, globMatches } from "../dom.js";
import { get, post, patch, describe, ApiError } from "../api.js";
import { toast, busy } from "../ui.js";

const MOVES = {
  new: [["in_progress", "Start work"], ["resolved", "Resolve"]],
  in_progress: [["new", "Back to new"], ["resolved", "Resolve"]],
  resolved: [],
};
const TERMINAL = new Set(["Success", "Failed", "TimedOut", "Cancelled"]);
const EXECUTION_PAGE = 20;

export function mount(ctx, { id }) {
  const node = h("div", { "data-testid": "page-incident" }, h("p", { class: "muted" }, "Loading incident…"));
  let incident = null;
  let users = new Map();
  let runbookNames = new Map();
  let executionLimit = EXECUTION_PAGE;

  const userName = (uid) => (uid === ctx.user.id ? `${ctx.user.name} (you)` : (users.get(uid) || {}).name || uid);

  async function loadUsers(companyId) {
    if (!ctx.isAdmin) return;
    try {
      const page = await get("/api/users", { company_id: companyId });
      users = new Map(page.items.filter((u) => u.active).map((u) => [u.id, u]));
    } catch { users = new Map(); }
  }

  function statusActions() {
    return MOVES[incident.status].map(([to, label]) => h("button", {
      type: "button", class: to === "resolved" ? "primary" : "", "data-testid": `status-${to}`,
      onclick: (e) => busy(e.currentTarget, async () => {
        incident = await patch(`/api/incidents/${encodeURIComponent(id)}`, { status: to });
        toast(`Incident ${to.replace("_", " ")}`);
        render();
      }),
    }, label));
  }

  function assignment() {
    const assign = (to) => busy(null, async () => {
      incident = await patch(`/api/incidents/${encodeURIComponent(id)}`, { assigned_to: to });
      toast(to ? `Assigned to ${userName(to)}` : "Unassigned");
      render();
    });
    const current = h("strong", { "data-testid": "assigned-to" }, incident.assigned_to ? userName(incident.assigned_to) : "Unassigned");
    if (ctx.isAdmin) {
      const options = [["", "Unassigned"], ...[...users.values()].map((u) => [u.id, `${u.name} (${u.role.replace("_", " ")})`])];
      const picker = h("select", { "aria-label": "Assign to", "data-testid": "assign-select", onchange: () => assign(picker.value || null) },
        options.map(([v, l]) => h("option", { value: v }, l)));
      picker.value = incident.assigned_to || "";
      return h("div", { class: "row" }, "Assigned to", current, picker);
    }
    const mine = incident.assigned_to === ctx.user.id;
    return h("div", { class: "row" }, "Assigned to", current,
      h("button", { type: "button", "data-testid": "assign-me", onclick: () => assign(mine ? null : ctx.user.id) }, mine ? "Unassign me" : "Assign to me"));
  }

  function breakdown() {
    const b = incident.priority.breakdown;
    const rows = [["Severity base", b.severity_base], ["Critical asset", b.critical_asset], ["Duplicates", b.duplicates], ["Several tools", b.multi_tool], ["Age", -Math.abs(b.age_decay || 0)]];
    return h("table", { class: "breakdown" }, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("td", { class: "muted" }, k), h("td", {}, v > 0 ? `+${v}` : String(v ?? 0)))),
      h("tr", {}, h("td", {}, h("strong", {}, "Score")), h("td", {}, h("strong", {}, String(incident.priority.score))))));
  }

  const alertsBox = h("div", { "data-testid": "incident-alerts" });
  const runbooksBox = h("div", { "data-testid": "incident-runbooks" });
  const executionsBox = h("div", { "data-testid": "incident-executions" });

  async function loadAlerts() {
    try {
      const page = await get("/api/alerts", { incident_id: id, limit: 100 });
      replace(alertsBox, page.items.length ? h("table", {}, h("thead", {}, h("tr", {}, ["Time", "Severity", "Status", "Message", "Tool"].map((t) => h("th", {}, t)))),
        h("tbody", {}, page.items.map((a) => h("tr", { "data-testid": "incident-alert" }, h("td", {}, fmtTime(a.event_time)), h("td", {}, sevBadge(a.severity)),
          h("td", {}, statusBadge(a.status)), h("td", {}, a.message || a.signature), h("td", {}, a.tool_source ? toolBadge(a.tool_source) : ""))))) : empty("No alerts"),
        page.next_cursor ? h("p", { class: "small muted" }, "Showing the latest 100 alerts.") : null);
    } catch (e) { replace(alertsBox, h("p", { class: "error-text" }, describe(e))); }
  }

  async function loadRunbooks() {
    try {
      const [books, approvals] = await Promise.all([
        get("/api/runbooks", { company_id: incident.company_id }),
        get("/api/approvals", { company_id: incident.company_id }),
      ]);
      runbookNames = new Map(books.items.map((b) => [b.id, b.name]));
      const mine = approvals.items.filter((a) => a.incident_id === id);
      const items = books.items.map((r) => ({ r, match: globMatches(r.signature, incident.signature) }))
        .sort((a, b) => Number(b.match) - Number(a.match));
      const closed = incident.status === "resolved";
      replace(runbooksBox, items.length ? h("ul", { class: "list" }, items.map(({ r, match }) => h("li", { "data-testid": "runbook-option" },
        h("div", { class: "row between" }, h("span", { class: "row" }, h("strong", {}, r.name), match ? h("span", { class: "badge st-resolved" }, "suggested") : null,
          h("span", { class: `badge ${r.risk === "high" ? "sev-critical" : r.risk === "medium" ? "sev-medium" : "sev-low"}` }, `${r.risk} risk`)),
        h("button", {
          type: "button", disabled: closed, "data-testid": "runbook-execute",
          onclick: (e) => busy(e.currentTarget, async () => {
            const answer = await post(`/api/incidents/${encodeURIComponent(id)}/runbooks/${encodeURIComponent(r.id)}/execute`);
            if (answer.execution) toast(`Running "${r.name}"`);
            else toast(`Approval requested for "${r.name}" (${r.risk} risk)`);
            loadRunbooks();
            refreshExecutions();
          }),
        }, r.risk === "low" ? "Run" : "Request approval")),
        h("div", { class: "small muted" }, r.description || "", " · signature ", h("code", {}, r.signature))))) : empty("No runbooks for this company."),
      mine.length ? h("div", {}, h("h3", {}, "Approval requests"), h("ul", { class: "list" }, mine.map((a) => h("li", { "data-testid": "incident-approval" },
        h("div", { class: "row between" }, h("span", {}, (books.items.find((b) => b.id === a.runbook_id) || {}).name || a.runbook_id, " · ", `${a.risk} risk`), statusBadge(a.status)),
        h("div", { class: "small muted" }, "requested ", timeEl(a.created_at)))))) : null);
    } catch (e) { replace(runbooksBox, h("p", { class: "error-text" }, describe(e))); }
  }

  // Every execution of the incident, whoever started it (a person, an approval, or the
  // automatic low-risk run), newest first; live execution.* events refresh the list.
  async function loadExecutions() {
    try {
      const page = await get(`/api/incidents/${encodeURIComponent(id)}/executions`, { limit: executionLimit });
      const pending = page.items.some((x) => !TERMINAL.has(x.status));
      const by = (x) => (x.requested_by === "system" ? "automatic" : `by ${userName(x.requested_by)}`);
      replace(executionsBox, page.items.length ? h("ul", { class: "list" }, page.items.map((x) => h("li", { "data-testid": "execution", "data-id": x.id },
        h("div", { class: "row between" }, h("span", {}, h("strong", {}, runbookNames.get(x.runbook_id) || x.runbook_id), ` · ${by(x)} · ${x.executor || "not started"}`, x.command_id ? ` · command ${x.command_id}` : ""),
          h("span", { "data-testid": "execution-status" }, statusBadge(x.status))),
        h("div", { class: "small muted" }, x.started_at ? `started ${fmtTime(x.started_at)}` : `queued ${fmtTime(x.created_at)}`, x.duration_seconds !== null ? ` · ${x.duration_seconds.toFixed(1)} s` : "",
          x.health_check_passed === null ? "" : ` · health check ${x.health_check_passed ? "passed" : "failed"}`),
        x.output ? h("pre", {}, x.output) : null))) : empty("No runbook has run for this incident yet."),
      page.next_cursor ? h("button", { type: "button", "data-testid": "executions-more", onclick: () => { executionLimit += EXECUTION_PAGE; refreshExecutions(); } }, "Show older executions") : null);
      // Without a live connection nothing announces the end of a run: look again shortly.
      if (pending && !(ctx.live && ctx.live.state === "live")) setTimeout(() => { if (incident) refreshExecutions(); }, 1500);
    } catch (e) { replace(executionsBox, h("p", { class: "error-text" }, describe(e))); }
  }
  const refreshExecutions = serialized(loadExecutions);

  function notesSection() {
    const text = h("textarea", { placeholder: "Add a note (findings, actions taken…)", "aria-label": "Note", "data-testid": "note-text", maxlength: 5000 });
    const form = h("form", {
      class: "form",
      onsubmit: (e) => {
        e.preventDefault();
        if (!text.value.trim()) return;
        busy(e.submitter, async () => {
          incident = await post(`/api/incidents/${encodeURIComponent(id)}/notes`, { text: text.value });
          render();
        });
      },
    }, text, h("div", {}, h("button", { type: "submit", class: "primary", "data-testid": "note-submit" }, "Add note")));
    return h("div", {},
      incident.notes.length ? h("ul", { class: "list", "data-testid": "notes" }, incident.notes.map((n) => h("li", {},
        h("div", { class: "small muted" }, `${n.author_name} · ${fmtTime(n.created_at)}`), h("div", { class: "msg-body" }, n.text)))) : h("p", { class: "muted" }, "No notes yet."),
      form);
  }

  function render() {
    const i = incident;
    replace(node,
      h("p", {}, h("a", { href: "#/incidents" }, "← Incidents")),
      h("div", { class: "row between" },
        h("h1", { "data-testid": "incident-title" }, `${i.signature} on ${i.asset_name}`),
        h("div", { class: "row" }, sevBadge(i.severity), h("span", { "data-testid": "incident-status-badge" }, statusBadge(i.status)), i.in_maintenance ? h("span", { class: "badge" }, "maintenance") : null)),
      h("div", { class: "grid2" },
        h("section", { class: "panel" },
          h("h2", {}, "Summary"),
          h("dl", { class: "kv" },
            h("dt", {}, "Company"), h("dd", {}, ctx.companyName(i.company_id)),
            h("dt", {}, "Priority"), h("dd", { "data-testid": "incident-priority" }, String(i.priority.score)),
            h("dt", {}, "Alerts"), h("dd", {}, String(i.alert_count)),
            h("dt", {}, "Tool sources"), h("dd", { class: "row" }, i.tool_sources.map(toolBadge)),
            h("dt", {}, "First / last event"), h("dd", {}, `${fmtTime(i.first_event_at)} – ${fmtTime(i.last_event_at)}`),
            h("dt", {}, "Asset"), h("dd", {}, i.asset_registered && i.asset ? `${i.asset.name} (${i.asset.type || "asset"}${i.asset.is_critical ? ", critical" : ""})` : `${i.asset_name} (unregistered)`),
            h("dt", {}, "Resolution"), h("dd", {}, i.resolution || "—"),
            i.merged_into ? [h("dt", {}, "Merged into"), h("dd", {}, h("a", { href: `#/incidents/${encodeURIComponent(i.merged_into)}` }, i.merged_into))] : null),
          h("div", { class: "row", "data-testid": "status-actions" }, statusActions()),
          h("h3", {}, "Assignment"), assignment()),
        h("section", { class: "panel" }, h("h2", {}, "Priority breakdown"), breakdown(),
          h("h3", {}, "Timeline"),
          h("ul", { class: "list", "data-testid": "timeline" }, i.timeline.map((t) => h("li", { class: "small" },
            h("span", { class: "muted" }, fmtTime(t.at)), " · ", h("strong", {}, t.kind), t.detail ? ` · ${t.kind === "assigned" ? userName(t.detail) : t.detail}` : ""))))),
      h("section", { class: "panel" }, h("h2", {}, "Runbooks"), runbooksBox, h("h3", {}, "Executions"), executionsBox),
      h("section", { class: "panel" }, h("h2", {}, "Notes"), notesSection()),
      h("section", { class: "panel" }, h("h2", {}, "Correlated alerts"), alertsBox));
  }

  const load = serialized(async () => {
    try {
      const fresh = await get(`/api/incidents/${encodeURIComponent(id)}`);
      if (!incident || users.size === 0) await loadUsers(fresh.company_id);
      incident = fresh;
      render();
      // Executions name their runbooks, which loadRunbooks looks up.
      await Promise.all([loadAlerts(), loadRunbooks().then(refreshExecutions)]);
    } catch (e) {
      replace(node, h("div", { class: "panel", "data-testid": "incident-missing" }, h("h1", {}, e instanceof ApiError && e.status === 404 ? "Incident not found" : "Could not load the incident"),
        h("p", {}, describe(e)), h("a", { href: "#/incidents" }, "Back to incidents")));
    }
  });
  load();
  const soon = debounce(load, 300);
  return {
    node,
    refresh: load,
    onEvent: (e) => {
      const d = e.data || {};
      if ((e.type.startsWith("incident.") && d.id === id) || (e.type === "alert.created" && d.incident_id === id)) soon();
      else if (e.type.startsWith("execution.") && d.incident_id === id) refreshExecutions();
      else if (e.type.startsWith("approval.") && d.incident_id === id) soon();
    },
  };
}
