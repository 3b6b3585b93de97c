// A small SVG chart drawn with DOM calls (no library): bars for two counts per bucket and a
// line for a percentage on its own axis.
import { s } from "./dom.js";

const W = 720, H = 240, L = 44, R = 44, T = 14, B = 30;

export function barLineChart({ labels, barsA, barsB, line, lineMax = 100, title }) {
  const n = labels.length;
  const maxCount = Math.max(1, ...barsA, ...barsB);
  const plotW = W - L - R, plotH = H - T - B;
  const step = plotW / Math.max(1, n);
  const y = (v) => T + plotH - (v / maxCount) * plotH;
  const yLine = (v) => T + plotH - (v / lineMax) * plotH;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title || "chart" });
  for (let i = 0; i <= 4; i++) {
    const gy = T + (plotH * i) / 4;
    svg.append(s("line", { class: "grid", x1: L, x2: W - R, y1: gy, y2: gy }),
      s("text", { x: L - 6, y: gy + 4, "text-anchor": "end" }, String(Math.round(maxCount * (1 - i / 4)))),
      s("text", { x: W - R + 6, y: gy + 4 }, `${Math.round(lineMax * (1 - i / 4))}%`));
  }
  svg.append(s("line", { class: "axis", x1: L, x2: W - R, y1: T + plotH, y2: T + plotH }));
  const barW = Math.max(2, step * 0.35);
  const labelEvery = Math.ceil(n / 12);
  labels.forEach((label, i) => {
    const x0 = L + i * step + step * 0.15;
    svg.append(s("rect", { class: "bar-a", x: x0, y: y(barsA[i]), width: barW, height: T + plotH - y(barsA[i]) }, s("title", {}, `${label}: ${barsA[i]} alerts`)),
      s("rect", { class: "bar-b", x: x0 + barW, y: y(barsB[i]), width: barW, height: T + plotH - y(barsB[i]) }, s("title", {}, `${label}: ${barsB[i]} incidents`)));
    if (i % labelEvery === 0) svg.append(s("text", { x: L + i * step + step / 2, y: H - 10, "text-anchor": "middle" }, label));
  });
  const points = line.map((v, i) => (v === null ? null : [L + i * step + step / 2, yLine(v)]));
  let d = "";
  let pen = false;
  for (const p of points) {
    if (!p) { pen = false; continue; }
    d += `${pen ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)} `;
    pen = true;
  }
  if (d) svg.append(s("path", { class: "line", d }));
  points.forEach((p, i) => { if (p) svg.append(s("circle", { class: "dot", cx: p[0], cy: p[1], r: 3 }, s("title", {}, `${labels[i]}: ${line[i].toFixed(1)}% noise reduction`))); });
  return svg;
}
