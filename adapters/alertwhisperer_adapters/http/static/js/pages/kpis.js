// KPIs: noise reduction, self-healed share, MTTR (overall, automated, manual) and patch
// compliance with the guide's bands, and a chart of alerts, incidents and noise reduction
// over time: one /api/kpis/series request gives the period's totals and every bucket.
import { h, replace } from "../dom.js";
import { get, describe } from "../api.js";
import { barLineChart } from "../chart.js";

const PERIODS = {
  day: { buckets: 24, bucket: "hour", ms: 3600e3, label: "Last 24 hours (hourly)" },
  week: { buckets: 7, bucket: "day", ms: 86400e3, label: "Last 7 days (daily)" },
  month: { buckets: 30, bucket: "day", ms: 86400e3, label: "Last 30 days (daily)" },
};

function kpiCard(label, kpi, unit, testid) {
  const band = kpi.band ? h("span", { class: `band-${kpi.band.split(" ")[0]}` }, kpi.band) : h("span", { class: "muted" }, "no data");
  return h("div", { class: "card", "data-testid": testid }, h("div", { class: "label" }, label),
    h("div", { class: "value" }, kpi.value === null ? "—" : `${kpi.value.toFixed(1)}${unit}`),
    h("div", { class: "sub" }, band, ` · target ${kpi.target}`));
}

export function mount(ctx) {
  const period = h("select", { "aria-label": "Period", "data-testid": "kpi-period" }, Object.entries(PERIODS).map(([k, p]) => h("option", { value: k }, p.label)));
  period.value = sessionStorage.getItem("aw.kpiPeriod") || "day";
  const cards = h("div", { class: "cards", "data-testid": "kpi-cards" });
  const counts = h("p", { class: "muted" });
  const chart = h("div", { "data-testid": "kpi-chart" }, h("p", { class: "muted" }, "Loading…"));
  const load = async () => {
    sessionStorage.setItem("aw.kpiPeriod", period.value);
    const p = PERIODS[period.value];
    const end = Math.ceil(Date.now() / p.ms) * p.ms;
    const start = end - p.buckets * p.ms;
    const company = ctx.company || undefined;
    try {
      const series = await get("/api/kpis/series", { company_id: company, bucket: p.bucket, since: new Date(start).toISOString(), until: new Date(end).toISOString() });
      const total = series.total;
      replace(cards, kpiCard("Noise reduction", total.noise_reduction, "%", "kpi-noise"), kpiCard("Self-healed", total.self_healed, "%", "kpi-healed"),
        kpiCard("MTTR", total.mttr_minutes, " min", "kpi-mttr"), kpiCard("MTTR automated", total.mttr_auto_minutes, " min", "kpi-mttr-auto"),
        kpiCard("MTTR manual", total.mttr_manual_minutes, " min", "kpi-mttr-manual"), kpiCard("Patch compliance", total.patch_compliance, "%", "kpi-patch"));
      counts.textContent = `${total.alert_count} alerts → ${total.incident_count} incidents; ${total.resolved_count} resolved (${total.self_healed_count} self-healed, ${total.manual_count} by hand, ${total.source_recovered_count} recovered at the source).`;
      const buckets = series.items;
      const labels = buckets.map((b) => {
        const d = new Date(b.since);
        return p.ms < 86400e3 ? `${String(d.getHours()).padStart(2, "0")}:00` : d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
      });
      replace(chart, barLineChart({ labels, barsA: buckets.map((b) => b.alert_count), barsB: buckets.map((b) => b.incident_count), line: buckets.map((b) => b.noise_reduction.value), title: "Alerts, incidents and noise reduction over time" }),
        h("div", { class: "legend" }, h("span", { class: "a" }, "alerts"), h("span", { class: "b" }, "incidents"), h("span", {}, "— noise reduction % (right axis)")));
    } catch (e) { replace(chart, h("p", { class: "error-text" }, describe(e))); }
  };
  period.addEventListener("change", load);
  load();
  return {
    node: h("div", { "data-testid": "page-kpis" }, h("div", { class: "row between" }, h("h1", {}, "KPIs"), period), cards, counts,
      h("section", { class: "panel" }, h("h2", {}, "Over time"), chart)),
    refresh: load,
  };
}
