// Companies: the list, "Add Company" (name, policy, assets) and the one-time API key dialog
// with the webhook URL and integration instructions for each monitoring tool.
import { h, replace, fmtTime, empty } from "../dom.js";
import { get, post, describe } from "../api.js";
import { dialog, secretField, showFormError } from "../ui.js";

const TOOL_NAMES = { generic: "Generic JSON / curl", datadog: "Datadog", zabbix: "Zabbix", alertmanager: "Prometheus Alertmanager", cloudwatch: "AWS CloudWatch (SNS)" };

/** The dialog after creating a company or regenerating its key: the key is shown only here. */
export function showCredentials(ctx, answer, title = "Company created") {
  const integrations = Object.entries(answer.integrations || {}).map(([tool, spec]) => h("details", { "data-testid": `integration-${tool}` },
    h("summary", {}, TOOL_NAMES[tool] || tool),
    spec.instructions ? h("p", { class: "small" }, spec.instructions) : null,
    h("div", { class: "small muted" }, "Webhook URL"), h("pre", {}, spec.webhook_url || answer.webhook_url),
    ["payload", "parameters", "config", "script"].filter((k) => spec[k]).map((k) => [h("div", { class: "small muted" }, k), h("pre", {}, spec[k])])));
  const d = dialog({
    title,
    testid: "credentials-dialog",
    body: h("div", { class: "form" },
      h("p", { class: "warning", role: "alert" }, "Copy the API key now: it is shown only once. The server keeps only its hash."),
      secretField("API key", answer.api_key, "api-key"),
      secretField("Webhook URL", answer.webhook_url, "webhook-url"),
      h("h3", {}, "Integration instructions"), integrations),
    actions: [["I have saved the key", true, "primary"]],
  });
  return d.done;
}

function assetRow() {
  const row = h("div", { class: "cols", "data-testid": "asset-row" },
    h("label", {}, "Asset name", h("input", { name: "name", placeholder: "srv-app-01" })),
    h("label", {}, "Type", h("input", { name: "type", placeholder: "webserver" })),
    h("label", {}, "OS", h("input", { name: "os", placeholder: "Ubuntu 22.04" })),
    h("label", {}, "Environment", h("input", { name: "environment", placeholder: "production" })),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "is_critical" }), "Critical"),
    h("button", { type: "button", class: "danger", onclick: () => row.remove() }, "Remove"));
  return row;
}

export function openCreate(ctx, onCreated) {
  const name = h("input", { name: "name", required: true, maxlength: 200, "data-testid": "company-name" });
  const autoApprove = h("input", { type: "checkbox", checked: true, "data-testid": "company-auto-approve" });
  const windows = h("input", { placeholder: "Sat 22:00-02:00, Mon-Fri 01:00-03:00", "data-testid": "company-windows" });
  const timezone = h("input", { value: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC", "data-testid": "company-timezone" });
  const assets = h("div", { class: "form" });
  const error = h("div");
  const submit = h("button", { type: "submit", class: "primary", "data-testid": "company-submit" }, "Create Company");
  const form = h("form", { class: "form", "data-testid": "company-form" },
    h("label", {}, "Company name", name),
    h("fieldset", {}, h("legend", {}, "Policy"),
      h("div", { class: "cols" }, h("label", { class: "check" }, autoApprove, "Auto-approve low-risk runbooks"),
        h("label", {}, "Maintenance windows (comma-separated)", windows), h("label", {}, "Time zone (IANA)", timezone))),
    h("fieldset", {}, h("legend", {}, "Assets"), assets,
      h("button", { type: "button", "data-testid": "add-asset-row", onclick: () => assets.append(assetRow()) }, "+ Add asset")),
    error, h("div", { class: "row" }, submit));
  const d = dialog({ title: "Add Company", body: form, actions: [["Cancel", null]], testid: "company-dialog" });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      name: name.value.trim(),
      policy: {
        auto_approve_low_risk: autoApprove.checked,
        maintenance_windows: windows.value.split(",").map((w) => w.trim()).filter(Boolean),
        timezone: timezone.value.trim() || "UTC",
      },
      assets: [...assets.querySelectorAll("[data-testid=asset-row]")].map((row) => {
        const field = (n) => row.querySelector(`[name=${n}]`);
        return { name: field("name").value.trim(), type: field("type").value.trim(), os: field("os").value.trim(), environment: field("environment").value.trim(), is_critical: field("is_critical").checked };
      }).filter((a) => a.name),
    };
    submit.disabled = true;
    try {
      const answer = await post("/api/companies", body);
      d.close(true);
      await ctx.reloadCompanies();
      await showCredentials(ctx, answer);
      onCreated(answer.company);
    } catch (e) {
      showFormError(error, e);
    } finally {
      submit.disabled = false;
    }
  });
  name.focus();
}

export function mount(ctx) {
  const list = h("tbody", { "data-testid": "company-list" });
  const load = async () => {
    try {
      await ctx.reloadCompanies();
      replace(list, ctx.companies.length ? ctx.companies.map((c) => h("tr", {
        class: "clickable", "data-testid": "company-row", onclick: () => ctx.navigate(`#/companies/${encodeURIComponent(c.id)}`),
      }, h("td", {}, h("strong", {}, c.name)), h("td", {}, fmtTime(c.created_at)),
        h("td", {}, `${c.settings.correlation.window_minutes} min · ${c.settings.correlation.aggregation_key}`),
        h("td", {}, `${c.settings.rate_limit.requests_per_minute}/min, burst ${c.settings.rate_limit.burst}`),
        h("td", {}, c.hmac_enabled ? h("span", { class: "badge st-resolved" }, "HMAC on") : h("span", { class: "badge" }, "HMAC off")))) :
        h("tr", {}, h("td", { colspan: 5 }, empty("No companies yet. Add your first company to get its API key."))));
    } catch (e) { replace(list, h("tr", {}, h("td", { colspan: 5, class: "error-text" }, describe(e)))); }
  };
  load();
  return {
    node: h("div", { "data-testid": "page-companies" },
      h("div", { class: "row between" }, h("h1", {}, "Companies"),
        ctx.isMsp ? h("button", { type: "button", class: "primary", "data-testid": "add-company", onclick: () => openCreate(ctx, (c) => ctx.navigate(`#/companies/${encodeURIComponent(c.id)}`)) }, "Add Company") : null),
      h("section", { class: "panel" }, h("table", {}, h("thead", {}, h("tr", {}, ["Name", "Created", "Correlation", "Rate limit", "Webhook security"].map((t) => h("th", {}, t)))), list))),
    refresh: load,
  };
}
