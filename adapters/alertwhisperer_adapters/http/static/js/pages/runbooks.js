// The runbook library: every runbook the user may see; MSP admins add and delete them.
import { h, replace, empty, select } from "../dom.js";
import { get, post, del, describe } from "../api.js";
import { toast, busy, confirmAction, dialog, showFormError } from "../ui.js";

function openAdd(ctx, onDone) {
  const f = {
    name: h("input", { required: true, "data-testid": "rb-name" }),
    description: h("input", { "data-testid": "rb-description" }),
    signature: h("input", { required: true, placeholder: "disk_full or service_down:*", "data-testid": "rb-signature" }),
    risk: select({ "data-testid": "rb-risk" }, [["low", "Low (runs automatically)"], ["medium", "Medium (company admin approves)"], ["high", "High (MSP admin approves)"]]),
    actions: h("textarea", { required: true, placeholder: "one shell command per line", "data-testid": "rb-actions" }),
    checkKind: select({}, [["", "No health check"], ["http", "HTTP"], ["command", "Command"]]),
    checkTarget: h("input", { placeholder: "http://localhost/healthz or a command" }),
    checkStatus: h("input", { type: "number", value: 200 }),
    timeout: h("input", { type: "number", value: 300, min: 1 }),
    company: select({ "data-testid": "rb-company" }, [["", "All companies (global)"], ...ctx.companies.map((c) => [c.id, c.name])]),
  };
  const error = h("div");
  const form = h("form", { class: "form" },
    h("div", { class: "cols" }, h("label", {}, "Name", f.name), h("label", {}, "Trigger signature (exact or glob)", f.signature), h("label", {}, "Risk", f.risk), h("label", {}, "Company", f.company)),
    h("label", {}, "Description", f.description),
    h("label", {}, "Actions", f.actions),
    h("div", { class: "cols" }, h("label", {}, "Health check", f.checkKind), h("label", {}, "URL or command", f.checkTarget), h("label", {}, "Expected status", f.checkStatus), h("label", {}, "Timeout (s)", f.timeout)),
    error, h("div", {}, h("button", { type: "submit", class: "primary", "data-testid": "rb-submit" }, "Save runbook")));
  const d = dialog({ title: "Add Runbook", body: form, actions: [["Cancel", null]], testid: "runbook-dialog" });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const kind = f.checkKind.value;
    const check = kind === "http" ? { kind, url: f.checkTarget.value.trim(), expected_status: Number(f.checkStatus.value) }
      : kind === "command" ? { kind, command: f.checkTarget.value.trim() } : null;
    try {
      await post("/api/runbooks", {
        name: f.name.value.trim(), description: f.description.value.trim(), signature: f.signature.value.trim(), risk: f.risk.value,
        actions: f.actions.value.split("\n").map((l) => l.trim()).filter(Boolean), health_check: check,
        timeout_seconds: Number(f.timeout.value), company_id: f.company.value || null,
      });
      d.close(true);
      toast("Runbook saved");
      onDone();
    } catch (err) { showFormError(error, err); }
  });
}

export function mount(ctx) {
  const list = h("div", { "data-testid": "runbook-list" });
  const load = async () => {
    try {
      const page = await get("/api/runbooks", { company_id: ctx.company || undefined });
      replace(list, page.items.length ? page.items.map((r) => h("section", { class: "panel", "data-testid": "runbook" },
        h("div", { class: "row between" }, h("h2", {}, r.name), h("div", { class: "row" },
          h("span", { class: `badge ${r.risk === "high" ? "sev-critical" : r.risk === "medium" ? "sev-medium" : "sev-low"}` }, `${r.risk} risk`),
          h("span", { class: "badge" }, r.company_id ? ctx.companyName(r.company_id) : "global"),
          ctx.isMsp ? h("button", { type: "button", class: "danger", onclick: async (e) => { if (await confirmAction("Delete runbook", `Delete "${r.name}"?`, "Delete")) busy(e.target, async () => { await del(`/api/runbooks/${encodeURIComponent(r.id)}`); load(); }); } }, "Delete") : null)),
        h("p", { class: "muted" }, r.description || ""),
        h("div", { class: "small" }, "Trigger: ", h("code", {}, r.signature), ` · timeout ${r.timeout_seconds} s`,
          r.health_check ? ` · health check: ${r.health_check.kind} ${r.health_check.url || r.health_check.command || ""}${r.health_check.kind === "http" ? ` → ${r.health_check.expected_status}` : ""}` : " · no health check"),
        h("pre", {}, r.actions.map((a) => `$ ${a}`).join("\n")))) : empty("No runbooks yet."));
    } catch (e) { replace(list, h("p", { class: "error-text" }, describe(e))); }
  };
  load();
  return {
    node: h("div", { "data-testid": "page-runbooks" },
      h("div", { class: "row between" }, h("h1", {}, "Runbooks"),
        h("div", { class: "row" }, h("a", { href: `/api/runbooks/export${ctx.company ? `?company_id=${encodeURIComponent(ctx.company)}` : ""}`, download: "runbooks.yaml" }, "Export YAML"),
          ctx.isMsp ? h("button", { type: "button", class: "primary", "data-testid": "add-runbook", onclick: () => openAdd(ctx, load) }, "Add Runbook") : null)),
      list),
    refresh: load,
  };
}
