// Technicians and other users: list, add (name, e-mail, password, role, companies),
// deactivate and delete. Company admins manage their companies' technicians.
import { h, replace, empty } from "../dom.js";
import { get, post, patch, del, describe } from "../api.js";
import { toast, busy, confirmAction, dialog, showFormError } from "../ui.js";

const ROLES = [["technician", "Technician"], ["company_admin", "Company admin"], ["msp_admin", "MSP admin"]];

function openAdd(ctx, onDone) {
  const name = h("input", { required: true, "data-testid": "user-name" });
  const email = h("input", { type: "email", required: true, "data-testid": "user-email" });
  const password = h("input", { type: "password", required: true, minlength: 10, autocomplete: "new-password", "data-testid": "user-password" });
  const role = h("select", { "data-testid": "user-role" }, (ctx.isMsp ? ROLES : ROLES.slice(0, 1)).map(([v, l]) => h("option", { value: v }, l)));
  const boxes = ctx.companies.map((c) => h("label", { class: "check" }, h("input", { type: "checkbox", value: c.id, checked: ctx.company === c.id || ctx.companies.length === 1, "data-testid": "user-company" }), c.name));
  const error = h("div");
  const submit = h("button", { type: "submit", class: "primary", "data-testid": "user-submit" }, "Add Technician");
  const form = h("form", { class: "form" },
    h("div", { class: "cols" }, h("label", {}, "Name", name), h("label", {}, "Email", email), h("label", {}, "Password (10+ characters)", password), h("label", {}, "Role", role)),
    h("fieldset", {}, h("legend", {}, "Companies"), boxes.length ? boxes : h("p", { class: "muted" }, "No companies yet.")),
    error, h("div", {}, submit));
  const d = dialog({ title: "Add Technician", body: form, actions: [["Cancel", null]], testid: "user-dialog" });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      const user = await post("/api/users", {
        name: name.value.trim(), email: email.value.trim(), password: password.value, role: role.value,
        company_ids: boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value),
      });
      d.close(true);
      toast(`${user.name} can now log in`);
      onDone();
    } catch (err) { showFormError(error, err); } finally { submit.disabled = false; }
  });
  name.focus();
}

export function mount(ctx) {
  const body = h("tbody", { "data-testid": "user-list" });
  const load = async () => {
    try {
      const page = await get("/api/users", { company_id: ctx.company || undefined });
      replace(body, page.items.length ? page.items.map((u) => h("tr", { "data-testid": "user-row" },
        h("td", {}, h("strong", {}, u.name)), h("td", {}, u.email), h("td", {}, u.role.replace("_", " ")),
        h("td", {}, u.role === "msp_admin" ? "all" : u.company_ids.map((c) => ctx.companyName(c)).join(", ")),
        h("td", {}, u.active ? h("span", { class: "badge st-resolved" }, "active") : h("span", { class: "badge" }, "inactive")),
        h("td", { class: "row" }, u.id === ctx.user.id ? h("span", { class: "muted" }, "you") : [
          h("button", { type: "button", onclick: (e) => busy(e.target, async () => { await patch(`/api/users/${encodeURIComponent(u.id)}`, { active: !u.active }); load(); }) }, u.active ? "Deactivate" : "Activate"),
          h("button", {
            type: "button", class: "danger",
            onclick: async (e) => { if (await confirmAction("Delete user", `Delete ${u.name}?`, "Delete")) busy(e.target, async () => { await del(`/api/users/${encodeURIComponent(u.id)}`); load(); }); },
          }, "Delete")]))) : h("tr", {}, h("td", { colspan: 6 }, empty("No users."))));
    } catch (e) { replace(body, h("tr", {}, h("td", { colspan: 6, class: "error-text" }, describe(e)))); }
  };
  load();
  return {
    node: h("div", { "data-testid": "page-technicians" },
      h("div", { class: "row between" }, h("h1", {}, "Technicians"), h("button", { type: "button", class: "primary", "data-testid": "add-user", onclick: () => openAdd(ctx, load) }, "Add Technician")),
      h("section", { class: "panel" }, h("table", {}, h("thead", {}, h("tr", {}, ["Name", "Email", "Role", "Companies", "State", ""].map((t) => h("th", {}, t)))), body))),
    refresh: load,
  };
}
