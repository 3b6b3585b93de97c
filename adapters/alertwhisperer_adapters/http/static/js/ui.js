// Toasts, dialogs and forms shared by the pages.
import { h, replace } from "./dom.js";
import { ApiError, describe } from "./api.js";

let toastBox = null;

export function toast(message, kind = "info") {
  if (!toastBox) {
    toastBox = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(toastBox);
  }
  const el = h("div", { class: `toast ${kind}`, "data-testid": "toast" }, message);
  toastBox.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}

/** A modal <dialog>; resolves with the value passed to close(), or null when dismissed. */
export function dialog({ title, body, actions, testid }) {
  const el = h("dialog", { "data-testid": testid || "dialog" });
  let settle;
  const done = new Promise((resolve) => { settle = resolve; });
  const close = (value = null) => {
    if (el.open) el.close();
    el.remove();
    settle(value);
  };
  el.addEventListener("cancel", (e) => { e.preventDefault(); close(null); });
  const foot = h("div", { class: "dlg-foot" }, (actions || [["Close", null]]).map(([label, value, cls]) =>
    h("button", { type: "button", class: cls || "", onclick: () => close(typeof value === "function" ? value() : value) }, label)));
  el.append(h("div", { class: "dlg-body" }, h("h2", {}, title), body), foot);
  document.body.append(el);
  el.showModal();
  return { el, done, close };
}

export async function confirmAction(title, text, label = "Confirm", cls = "danger") {
  const d = dialog({ title, body: h("p", {}, text), actions: [["Cancel", false], [label, true, cls]], testid: "confirm" });
  return Boolean(await d.done);
}

/** A read-only secret with a copy button (API keys, HMAC secrets: shown once). */
export function secretField(label, value, testid) {
  const input = h("input", { readonly: true, value, "data-testid": testid, "aria-label": label, spellcheck: "false" });
  const copy = h("button", {
    type: "button",
    onclick: async () => {
      input.select();
      try { await navigator.clipboard.writeText(value); copy.textContent = "Copied"; }
      catch { copy.textContent = "Select + Ctrl+C"; }
    },
  }, "Copy");
  return h("label", {}, label, h("div", { class: "secret" }, input, copy));
}

/** Shows an error from an ApiError in a form's error area, naming the fields it names. */
export function showFormError(box, error) {
  const items = error instanceof ApiError ? error.errors : [];
  replace(box, h("div", { class: "form-error", role: "alert", "data-testid": "form-error" }, describe(error),
    items.length > 1 ? h("ul", {}, items.map((e) => h("li", {}, `${e.field}: ${e.message}`))) : null));
}

/** Wraps an async action: disables the button meanwhile, shows errors as a toast. */
export async function busy(button, fn) {
  if (button) button.disabled = true;
  try { return await fn(); }
  catch (error) { toast(describe(error), "error"); return undefined; }
  finally { if (button) button.disabled = false; }
}
