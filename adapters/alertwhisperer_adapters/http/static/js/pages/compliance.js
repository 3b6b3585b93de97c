// Patch compliance from AWS Systems Manager Patch Manager: summary, environments, instances,
// and "Sync with AWS" (answers 503 with a clear message when AWS is not configured).
import { h, replace, fmtTime, empty, select } from "../dom.js";
import { get, post, describe } from "../api.js";
import { busy, toast } from "../ui.js";

function card(label, value, sub, testid) {
  return h("div", { class: "card", "data-testid": testid }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);
}

export function mount(ctx) {
  const box = h("div", { "data-testid": "compliance" });
  const pick = select({ "aria-label": "Company", "data-testid": "compliance-company" }, ctx.companies.map((c) => [c.id, c.name]), ctx.companyOrFirst());
  const render = (c) => {
    const band = c.percent === null ? "no data" : c.percent >= 95 ? "Excellent" : c.percent >= 90 ? "Good" : "Needs Improvement";
    replace(box,
      h("div", { class: "cards" },
        card("Compliance", c.percent === null ? "—" : `${c.percent.toFixed(1)}%`, `${band} · target 95%+`, "compliance-percent"),
        card("Instances", String(c.total), `${c.compliant} compliant · ${c.noncompliant} non-compliant`),
        card("Critical patches missing", String(c.critical_missing), `${c.security_missing} security · ${c.missing} missing in all`),
        card("Last scan", c.last_scan_at ? fmtTime(c.last_scan_at) : "—", c.synced_at ? `synced ${fmtTime(c.synced_at)}` : "never synced")),
      h("section", { class: "panel" }, h("h2", {}, "By environment"), c.environments.length ? h("table", {}, h("thead", {}, h("tr", {}, ["Environment", "Instances", "Compliant", "%"].map((t) => h("th", {}, t)))),
        h("tbody", {}, c.environments.map((e) => h("tr", {}, h("td", {}, e.environment || "—"), h("td", {}, String(e.total)), h("td", {}, String(e.compliant)), h("td", {}, e.percent === null ? "—" : `${e.percent.toFixed(1)}%`))))) : empty("No data yet.")),
      h("section", { class: "panel" }, h("h2", {}, "Instances"), c.instances.length ? h("table", {}, h("thead", {}, h("tr", {}, ["Instance", "Environment", "State", "Installed", "Missing", "Critical", "Security", "Failed", "Last operation"].map((t) => h("th", {}, t)))),
        h("tbody", {}, c.instances.map((i) => h("tr", {}, h("td", { class: "mono" }, i.instance_id), h("td", {}, i.environment || "—"),
          h("td", {}, i.compliant ? h("span", { class: "badge st-resolved" }, "compliant") : h("span", { class: "badge st-failed" }, "non-compliant")),
          h("td", {}, String(i.installed)), h("td", {}, String(i.missing)), h("td", {}, String(i.critical_missing)), h("td", {}, String(i.security_missing)), h("td", {}, String(i.failed)), h("td", {}, fmtTime(i.last_operation_at)))))) :
        empty("No instances recorded. Sync with AWS to fetch them from Patch Manager.")));
  };
  const load = async () => {
    if (!pick.value) { replace(box, empty("No company to show.")); return; }
    try { render(await get(`/api/companies/${encodeURIComponent(pick.value)}/compliance`)); } catch (e) { replace(box, h("p", { class: "error-text" }, describe(e))); }
  };
  const sync = h("button", {
    type: "button", class: "primary", "data-testid": "compliance-sync",
    onclick: (e) => busy(e.target, async () => { render(await post(`/api/companies/${encodeURIComponent(pick.value)}/compliance/sync`)); toast("Synced with AWS Patch Manager"); }),
  }, "Sync with AWS");
  pick.addEventListener("change", load);
  load();
  return {
    node: h("div", { "data-testid": "page-compliance" }, h("div", { class: "row between" }, h("h1", {}, "Patch compliance"), h("div", { class: "row" }, pick, ctx.isAdmin ? sync : null)), box),
    refresh: load,
  };
}
