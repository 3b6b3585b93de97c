// The real-time dashboard: four metric cards, the alert list (priority filter, search) and the
// incident list (status filter, priority score, tool sources), refreshed on live events.
import { h, replace, debounce, serialized, select, sevBadge, statusBadge, toolBadge, timeEl, empty } from "../dom.js";
import { get, describe } from "../api.js";

const LIVE_TYPES = new Set(["alert.created", "incident.created", "incident.updated", "execution.finished"]);

function card(cls, label, testid) {
  const value = h("div", { class: "value", "data-testid": testid }, "…");
  const sub = h("div", { class: "sub" });
  return { node: h("div", { class: `card ${cls}` }, h("div", { class: "label" }, h("span", { class: "pip" }), label), value, sub), value, sub };
}

export function alertRow(ctx, a) {
  return h("li", {
    class: a.incident_id ? "clickable" : "", "data-testid": "alert-row", "data-id": a.id,
    onclick: () => { if (a.incident_id) ctx.navigate(`#/incidents/${encodeURIComponent(a.incident_id)}`); },
  },
  h("div", { class: "row between" },
    h("span", { class: "row" }, sevBadge(a.severity), h("strong", {}, a.signature), h("span", { class: "muted" }, "on"), h("span", {}, a.asset_name)),
    h("span", { class: "small muted" }, timeEl(a.event_time))),
  h("div", { class: "small" }, a.message || ""),
  h("div", { class: "row small muted" }, a.status === "resolved" ? statusBadge("resolved") : null,
    a.tool_source ? toolBadge(a.tool_source) : null, h("span", {}, ctx.companyName(a.company_id))));
}

export function incidentRow(ctx, i) {
  return h("li", {
    class: "clickable", "data-testid": "incident-row", "data-id": i.id,
    onclick: () => ctx.navigate(`#/incidents/${encodeURIComponent(i.id)}`),
  },
  h("div", { class: "row between" },
    h("span", { class: "row" }, h("span", { class: "score", title: "Priority score", "data-testid": "incident-score" }, String(i.priority.score)),
      sevBadge(i.severity), h("strong", {}, i.signature), h("span", { class: "muted" }, "on"), h("span", {}, i.asset_name)),
    statusBadge(i.status)),
  h("div", { class: "row small muted" },
    h("span", {}, `${i.alert_count} alert${i.alert_count === 1 ? "" : "s"}`),
    i.tool_sources.map(toolBadge),
    h("span", {}, ctx.companyName(i.company_id)),
    i.in_maintenance ? h("span", { class: "badge" }, "maintenance") : null,
    h("span", {}, "last ", timeEl(i.last_event_at))));
}

export function mount(ctx) {
  const critical = card("critical", "Critical alerts", "metric-critical");
  const high = card("high", "High priority", "metric-high");
  const active = card("incidents", "Active incidents", "metric-incidents");
  const noise = card("noise", "Noise reduction", "metric-noise");
  critical.sub.textContent = "firing, critical severity";
  high.sub.textContent = "firing, high severity";
  active.sub.textContent = "new or in progress";
  noise.sub.textContent = "last 30 days · target 40–70%";

  const severity = select({ "aria-label": "Priority filter", "data-testid": "alert-severity" },
    [["", "All priorities"], ["critical", "Critical"], ["high", "High"], ["medium", "Medium"], ["low", "Low"]]);
  const search = h("input", { type: "search", placeholder: "Search message or signature", "aria-label": "Search alerts", "data-testid": "alert-search" });
  const status = select({ "aria-label": "Status filter", "data-testid": "incident-status" },
    [["", "All statuses"], ["new", "New"], ["in_progress", "In progress"], ["resolved", "Resolved"]]);
  const alerts = h("ul", { class: "list", "data-testid": "alert-list" });
  const incidents = h("ul", { class: "list", "data-testid": "incident-list" });
  const company = ctx.company || undefined;

  const loadMetrics = async () => {
    // Counted by the database: exact however many there are, one request per card group.
    const [a, i, k] = await Promise.allSettled([
      get("/api/alerts/counts", { company_id: company, status: "firing" }),
      get("/api/incidents/counts", { company_id: company }),
      get("/api/kpis", { company_id: company }),
    ]);
    critical.value.textContent = a.status === "fulfilled" ? String(a.value.by_severity.critical) : "—";
    high.value.textContent = a.status === "fulfilled" ? String(a.value.by_severity.high) : "—";
    if (i.status === "fulfilled") {
      const s = i.value.by_status;
      active.value.textContent = String(s.new + s.in_progress);
      active.sub.textContent = `${s.new} new, ${s.in_progress} in progress`;
    } else active.value.textContent = "—";
    if (k.status === "fulfilled") {
      const nr = k.value.noise_reduction;
      noise.value.textContent = nr.value === null ? "—" : `${nr.value.toFixed(1)}%`;
      noise.sub.textContent = `${k.value.alert_count} alerts → ${k.value.incident_count} incidents · ${nr.band || "no data"}`;
    }
  };

  const loadAlerts = async () => {
    try {
      const page = await get("/api/alerts", { company_id: company, severity: severity.value, q: search.value.trim(), limit: 50 });
      replace(alerts, page.items.length ? page.items.map((a) => alertRow(ctx, a)) : empty("No alerts match. New alerts appear here as they arrive."));
    } catch (e) { replace(alerts, h("li", { class: "error-text" }, describe(e))); }
  };

  const loadIncidents = async () => {
    try {
      const query = { company_id: company, status: status.value, limit: 50, sort: "priority" };
      let items;
      if (status.value) items = (await get("/api/incidents", query)).items;
      else {
        // "All": the open ones by priority first, then the most recently resolved.
        const [a, b, r] = await Promise.all([
          get("/api/incidents", { ...query, status: "new" }),
          get("/api/incidents", { ...query, status: "in_progress" }),
          get("/api/incidents", { ...query, status: "resolved", sort: "recent", limit: 10 }),
        ]);
        items = [...a.items, ...b.items].sort((x, y) => y.priority.score - x.priority.score).slice(0, 50).concat(r.items);
      }
      replace(incidents, items.length ? items.map((i) => incidentRow(ctx, i)) : empty("No incidents. Correlated incidents appear here live."));
    } catch (e) { replace(incidents, h("li", { class: "error-text" }, describe(e))); }
  };

  const refresh = serialized(() => Promise.all([loadMetrics(), loadAlerts(), loadIncidents()]));
  const soon = debounce(refresh, 300);
  severity.addEventListener("change", loadAlerts);
  search.addEventListener("input", debounce(loadAlerts, 250));
  status.addEventListener("change", loadIncidents);
  refresh();

  const node = h("div", { "data-testid": "page-overview" },
    h("h1", {}, "Real-time dashboard"),
    h("div", { class: "cards" }, critical.node, high.node, active.node, noise.node),
    h("div", { class: "grid2" },
      h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", {}, "Alerts"), severity, search), alerts),
      h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", {}, "Incidents"), status), incidents)));
  return {
    node,
    refresh,
    onEvent: (event) => { if (LIVE_TYPES.has(event.type)) soon(); },
  };
}
