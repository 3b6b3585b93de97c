// Every incident, filtered by status, severity, assignee and text, highest priority first.
import { h, replace, debounce, serialized, select, empty } from "../dom.js";
import { get, describe } from "../api.js";
import { incidentRow } from "./overview.js";

export function mount(ctx) {
  const status = select({ "aria-label": "Status", "data-testid": "incidents-status" },
    [["", "All statuses"], ["new", "New"], ["in_progress", "In progress"], ["resolved", "Resolved"]]);
  const severity = select({ "aria-label": "Severity", "data-testid": "incidents-severity" },
    [["", "All severities"], ["critical", "Critical"], ["high", "High"], ["medium", "Medium"], ["low", "Low"]]);
  const mine = h("input", { type: "checkbox", "data-testid": "incidents-mine" });
  const sort = select({ "aria-label": "Sort" }, [["priority", "Highest priority"], ["recent", "Most recent"]]);
  const q = h("input", { type: "search", placeholder: "Signature or asset", "aria-label": "Search incidents" });
  const list = h("ul", { class: "list", "data-testid": "incidents-list" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  let cursor = null;

  const query = () => ({
    company_id: ctx.company || undefined, status: status.value, severity: severity.value,
    assigned_to: mine.checked ? ctx.user.id : undefined, q: q.value.trim(), sort: sort.value, limit: 50,
  });
  const load = async (append) => {
    try {
      const page = await get("/api/incidents", { ...query(), cursor: append ? cursor : undefined });
      cursor = page.next_cursor;
      more.hidden = !cursor;
      const rows = page.items.map((i) => incidentRow(ctx, i));
      if (append) list.append(...rows);
      else replace(list, rows.length ? rows : empty("No incidents match."));
    } catch (e) { replace(list, h("li", { class: "error-text" }, describe(e))); }
  };
  const refresh = serialized(() => load(false));
  more.addEventListener("click", () => load(true));
  for (const el of [status, severity, mine, sort]) el.addEventListener("change", refresh);
  q.addEventListener("input", debounce(refresh, 250));
  refresh();
  const soon = debounce(refresh, 400);
  return {
    node: h("div", { "data-testid": "page-incidents" }, h("h1", {}, "Incidents"),
      h("section", { class: "panel" },
        h("div", { class: "panel-head" }, status, severity, sort, q, h("label", { class: "check" }, mine, "Assigned to me")),
        list, more)),
    refresh,
    onEvent: (e) => { if (e.type.startsWith("incident.")) soon(); },
  };
}
