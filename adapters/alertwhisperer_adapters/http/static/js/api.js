// The REST API over the session cookie set at login. Writes echo the CSRF token (the readable
// aw_csrf cookie) in X-CSRF-Token, as the server requires for cookie-authenticated writes.

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.detail) || `Request failed (HTTP ${status})`);
    this.status = status;
    this.body = body;
    this.errors = (body && Array.isArray(body.errors)) ? body.errors : [];
    this.retryAfter = retryAfter;
  }
}

let unauthorizedHandler = () => {};
export function onUnauthorized(fn) { unauthorizedHandler = fn; }

export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "aw_csrf") return decodeURIComponent(rest.join("="));
  }
  return "";
}

export function url(path, query) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, String(v));
  }
  return u.pathname + u.search;
}

export async function request(method, path, { body, query } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  const response = await fetch(url(path, query), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const error = new ApiError(response.status, data, response.headers.get("Retry-After"));
    if (response.status === 401 && path !== "/api/auth/login") unauthorizedHandler();
    throw error;
  }
  return data;
}

export const get = (path, query) => request("GET", path, { query });
export const post = (path, body) => request("POST", path, { body });
export const put = (path, body) => request("PUT", path, { body });
export const patch = (path, body) => request("PATCH", path, { body });
export const del = (path) => request("DELETE", path);

/** Every item of a paginated list, up to `cap` items. */
export async function all(path, query, cap = 2000) {
  const items = [];
  let cursor = null;
  do {
    const page = await get(path, { ...query, limit: 500, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < cap);
  return { items, more: Boolean(cursor) };
}

/** A human message for an error, naming the fields a 422 named. */
export function describe(error) {
  if (!(error instanceof ApiError)) return String(error && error.message ? error.message : error);
  if (error.status === 429 && error.retryAfter) return `${error.message} (try again in ${error.retryAfter} s)`;
  return error.message;
}
