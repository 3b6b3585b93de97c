// DOM helpers. Every string from the server reaches the page as a text node or an attribute
// value, never as HTML (the page's Content-Security-Policy enforces Trusted Types, so an
// assignment of an HTML string would throw).

const SVG_NS = "http://www.w3.org/2000/svg";

function setProps(el, props) {
  let value;
  for (const [key, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (key === "class") el.setAttribute("class", v);
    else if (key === "text") el.textContent = String(v);
    else if (key === "value") value = v;
    else if (key === "checked" || key === "disabled" || key === "selected" || key === "required") el[key] = Boolean(v);
    else if (key === "dataset") Object.assign(el.dataset, v);
    else if (key.startsWith("on") && typeof v === "function") el.addEventListener(key.slice(2), v);
    else el.setAttribute(key, v === true ? "" : String(v));
  }
  return value;
}

function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** An element: h("a", {href: "#/x", class: "y"}, "text", otherNode). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  const value = setProps(el, props);
  appendAll(el, children);
  if (value !== undefined) el.value = String(value);
  return el;
}

/** An SVG element (charts). */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  appendAll(el, children);
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
  return el;
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Runs fn at most once at a time; calls made meanwhile coalesce into one more run. */
export function serialized(fn) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) { again = true; return running; }
    running = (async () => {
      try {
        do { again = false; await fn(); } while (again);
      } finally { running = null; }
    })();
    return running;
  };
  return run;
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function ago(iso) {
  if (!iso) return "";
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

export function timeEl(iso) {
  return h("time", { datetime: iso || "", title: fmtTime(iso) }, ago(iso) || "—");
}

export const sevBadge = (sev) => h("span", { class: `badge sev-${sev}` }, sev);
export const statusBadge = (st) => h("span", { class: `badge st-${st}` }, String(st).replace("_", " "));
export const toolBadge = (tool) => h("span", { class: "badge tool" }, tool);

export function empty(text) {
  return h("div", { class: "empty" }, text);
}

/** A <select> of [value, label] pairs. */
export function select(props, options, current) {
  const el = h("select", props, options.map(([value, label]) => h("option", { value }, label)));
  if (current !== undefined && current !== null) el.value = String(current);
  return el;
}

/** An <input type="datetime-local"> value (local time) → RFC 3339 UTC, or "" when empty. */
export function localToIso(value) {
  if (!value) return "";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

/** Signature globs as runbooks use them (*, ?, [...]). */
export function globMatches(pattern, text) {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) { re += "\\["; continue; }
      let body = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
      if (body.startsWith("!")) body = "^" + body.slice(1);
      re += `[${body}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  try { return new RegExp(`^${re}$`).test(text); } catch { return pattern === text; }
}
