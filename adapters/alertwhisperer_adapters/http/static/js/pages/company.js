// One company: correlation, rate-limit and policy settings; assets; webhook security (HMAC,
// API key regeneration); deletion. Company admins manage their own companies' settings and
// assets; creating, regenerating keys and deleting are the MSP admin's.
import { h, replace, empty } from "../dom.js";
import { get, post, put, patch, del, all, describe } from "../api.js";
import { toast, busy, confirmAction, dialog, secretField, showFormError } from "../ui.js";
import { showCredentials } from "./companies.js";

function num(input) { return input.value === "" ? undefined : Number(input.value); }

export function mount(ctx, { id }) {
  const node = h("div", { "data-testid": "page-company" }, h("p", { class: "muted" }, "Loading…"));
  const path = `/api/companies/${encodeURIComponent(id)}`;
  let company = null;

  function settingsForm(settings) {
    const c = settings.correlation, r = settings.rate_limit, p = settings.policy;
    const f = {
      window: h("input", { type: "number", min: 1, max: 1440, value: c.window_minutes, "data-testid": "set-window" }),
      key: h("input", { value: c.aggregation_key, "data-testid": "set-key" }),
      auto: h("input", { type: "checkbox", checked: c.auto_correlate }),
      min: h("input", { type: "number", min: 1, value: c.min_alerts }),
      span: h("input", { type: "number", min: 1, value: c.max_span_minutes }),
      rpm: h("input", { type: "number", min: 1, max: 1000, value: r.requests_per_minute, "data-testid": "set-rpm" }),
      burst: h("input", { type: "number", min: 1, value: r.burst, "data-testid": "set-burst" }),
      approve: h("input", { type: "checkbox", checked: p.auto_approve_low_risk }),
      windows: h("input", { value: p.maintenance_windows.join(", ") }),
      tz: h("input", { value: p.timezone }),
    };
    const error = h("div");
    const form = h("form", { class: "form", "data-testid": "settings-form" },
      h("fieldset", {}, h("legend", {}, "Correlation"), h("div", { class: "cols" },
        h("label", {}, "Time window (minutes, 1–1440)", f.window), h("label", {}, "Aggregation key", f.key),
        h("label", {}, "Minimum alerts", f.min), h("label", {}, "Max incident span (minutes)", f.span),
        h("label", { class: "check" }, f.auto, "Auto-correlate"))),
      h("fieldset", {}, h("legend", {}, "Rate limiting"), h("div", { class: "cols" },
        h("label", {}, "Requests per minute (1–1000)", f.rpm), h("label", {}, "Burst", f.burst))),
      h("fieldset", {}, h("legend", {}, "Policy"), h("div", { class: "cols" },
        h("label", { class: "check" }, f.approve, "Auto-approve low-risk runbooks"),
        h("label", {}, "Maintenance windows (comma-separated)", f.windows), h("label", {}, "Time zone", f.tz))),
      error,
      ctx.isAdmin ? h("div", {}, h("button", { type: "submit", class: "primary", "data-testid": "settings-save" }, "Save settings")) : null);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      replace(error);
      busy(e.submitter, async () => {
        try {
          await put(`${path}/settings`, {
            correlation: { window_minutes: num(f.window), aggregation_key: f.key.value.trim(), auto_correlate: f.auto.checked, min_alerts: num(f.min), max_span_minutes: num(f.span) },
            rate_limit: { requests_per_minute: num(f.rpm), burst: num(f.burst) },
            policy: { auto_approve_low_risk: f.approve.checked, maintenance_windows: f.windows.value.split(",").map((w) => w.trim()).filter(Boolean), timezone: f.tz.value.trim() },
          });
          toast("Settings saved");
        } catch (err) { showFormError(error, err); }
      });
    });
    return form;
  }

  async function assetsSection() {
    const box = h("div", { "data-testid": "assets" });
    const page = await all(`${path}/assets`);  // every asset, not just the first page
    const rows = page.items.map((a) => h("tr", { "data-testid": "asset" },
      h("td", {}, h("strong", {}, a.name)), h("td", {}, a.type), h("td", {}, a.os), h("td", {}, a.environment), h("td", {}, a.instance_id || "—"),
      h("td", {}, ctx.isAdmin ? h("label", { class: "check" }, h("input", {
        type: "checkbox", checked: a.is_critical,
        onchange: (e) => busy(null, async () => { await patch(`${path}/assets/${encodeURIComponent(a.id)}`, { is_critical: e.target.checked }); toast("Asset updated"); }),
      }), "critical") : (a.is_critical ? "critical" : "")),
      h("td", {}, ctx.isAdmin ? h("button", {
        type: "button", class: "danger",
        onclick: async (e) => { if (await confirmAction("Delete asset", `Delete ${a.name}? Its alerts stay and show it as unregistered.`, "Delete")) busy(e.target, async () => { await del(`${path}/assets/${encodeURIComponent(a.id)}`); load(); }); },
      }, "Delete") : null)));
    const add = h("form", { class: "row" },
      h("input", { name: "name", placeholder: "Asset name", required: true, "data-testid": "new-asset-name" }),
      h("input", { name: "type", placeholder: "Type" }), h("input", { name: "os", placeholder: "OS" }),
      h("input", { name: "environment", placeholder: "Environment" }), h("input", { name: "instance_id", placeholder: "EC2 instance id" }),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "is_critical" }), "critical"),
      h("button", { type: "submit", "data-testid": "new-asset-submit" }, "Add asset"));
    add.addEventListener("submit", (e) => {
      e.preventDefault();
      const v = (n) => add.querySelector(`[name=${n}]`);
      busy(e.submitter, async () => {
        await post(`${path}/assets`, { name: v("name").value.trim(), type: v("type").value.trim(), os: v("os").value.trim(), environment: v("environment").value.trim(), instance_id: v("instance_id").value.trim() || null, is_critical: v("is_critical").checked });
        toast("Asset added");
        load();
      });
    });
    replace(box, rows.length ? h("table", {}, h("thead", {}, h("tr", {}, ["Name", "Type", "OS", "Environment", "Instance", "", ""].map((t) => h("th", {}, t)))), h("tbody", {}, rows)) : empty("No assets registered."),
      ctx.isAdmin ? add : null);
    return box;
  }

  function security() {
    const hmacButton = company.hmac_enabled
      ? [h("button", { type: "button", "data-testid": "hmac-rotate", onclick: (e) => enableHmac(e.target, "Rotate HMAC secret") }, "Rotate secret"),
        h("button", { type: "button", class: "danger", onclick: (e) => busy(e.target, async () => { await post(`${path}/hmac/disable`); toast("HMAC signing disabled"); load(); }) }, "Disable HMAC")]
      : h("button", { type: "button", class: "primary", "data-testid": "hmac-enable", onclick: (e) => enableHmac(e.target, "HMAC enabled") }, "Enable HMAC");
    return h("div", { class: "form" },
      h("div", { class: "row" }, "Webhook signing (HMAC-SHA256): ", h("strong", { "data-testid": "hmac-state" }, company.hmac_enabled ? "enabled" : "disabled"), ctx.isAdmin ? hmacButton : null),
      h("p", { class: "small muted" }, "Signed deliveries carry X-Timestamp and X-Signature: sha256=HMAC(secret, \"timestamp.body\"). See the API guide."),
      ctx.isMsp ? h("div", { class: "row" },
        h("button", {
          type: "button", "data-testid": "regenerate-key",
          onclick: async (e) => {
            if (!await confirmAction("Regenerate API key", "The current key stops working at once. Continue?", "Regenerate")) return;
            busy(e.target, async () => { const answer = await post(`${path}/api-key/regenerate`); await showCredentials(ctx, answer, "New API key"); });
          },
        }, "Regenerate API key"),
        h("button", {
          type: "button", class: "danger", "data-testid": "delete-company",
          onclick: async (e) => {
            if (!await confirmAction("Delete company", `Delete ${company.name}, its assets and webhook secrets? Alerts, incidents and audit entries stay as history.`, "Delete")) return;
            busy(e.target, async () => { await del(path); await ctx.reloadCompanies(); ctx.navigate("#/companies"); });
          },
        }, "Delete company")) : null);
  }

  async function enableHmac(button, title) {
    await busy(button, async () => {
      const answer = await post(`${path}/hmac/enable`);
      await dialog({ title, testid: "hmac-dialog", body: h("div", { class: "form" }, h("p", { class: "warning" }, "Copy the secret now: it is shown only once."), secretField("HMAC secret", answer.hmac_secret, "hmac-secret")), actions: [["Done", true, "primary"]] }).done;
      load();
    });
  }

  async function load() {
    try {
      company = await get(path);
      const settings = await get(`${path}/settings`);
      const assets = await assetsSection();
      replace(node,
        h("p", {}, h("a", { href: "#/companies" }, "← Companies")),
        h("h1", { "data-testid": "company-title" }, company.name),
        h("div", { class: "grid2" },
          h("section", { class: "panel" }, h("h2", {}, "Settings"), settingsForm(settings)),
          h("div", {},
            h("section", { class: "panel" }, h("h2", {}, "Webhook security"), security()),
            h("section", { class: "panel" }, h("h2", {}, "Quick links"), h("div", { class: "row" },
              h("a", { href: "#/compliance" }, "Patch compliance"), h("a", { href: `#/chat/${encodeURIComponent(id)}` }, "Company chat"), h("a", { href: "#/kpis" }, "KPIs"))))),
        h("section", { class: "panel" }, h("h2", {}, "Assets"), assets));
    } catch (e) {
      replace(node, h("div", { class: "panel", "data-testid": "company-missing" }, h("h1", {}, "Company not available"), h("p", {}, describe(e))));
    }
  }
  load();
  return { node, refresh: load };
}
