// AI Dialer's one script. Pages are complete without it (links and forms work); this module
// makes them live: it swaps the lead table in place, edits cells inline, runs bulk actions
// with progress, follows the server's event stream, and drives the import and settings forms.
// Every write goes through the JSON API with the session's CSRF token.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Calls the JSON API; resolves to {ok, status, data} and never throws on HTTP errors. */
export async function api(method, url, body) {
  const init = { method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
  if (body instanceof FormData || typeof body === "string") {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  try {
    const res = await fetch(url, init);
    if (res.status === 401 && !url.startsWith("/api/auth/")) toLogin();
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    return { ok: res.ok, status: res.status, data };
  } catch (err) {
    return { ok: false, status: 0, data: { error: { message: "The server cannot be reached." } } };
  }
}

/** The session ended (signed out elsewhere, password reset, user removed): sign in again
 *  and come back here. */
function toLogin() {
  location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}

/** Whether a page fetch was sent to the sign-in page; if so, goes there. */
function signedOut(res) {
  if (res.redirected && new URL(res.url).pathname === "/login") { toLogin(); return true; }
  return false;
}

/** The message of an API error response. */
const errorText = (r) => r.data?.error?.message ?? `Request failed (${r.status})`;

/** Shows a short message; several can show at once, each leaves by itself. */
export function toast(message, kind = "info") {
  const box = $("#toasts");
  if (!box) return;
  const t = document.createElement("div");
  t.className = `toast ${kind}`;
  t.textContent = message;
  box.append(t);
  setTimeout(() => t.remove(), kind === "error" ? 8000 : 4000);
}

/** Puts each field error of a 422 next to its field in `root`; returns whether any showed. */
export function showFieldErrors(root, r) {
  $$("[data-error]", root).forEach((el) => { el.hidden = true; el.textContent = ""; });
  const details = r.data?.error?.details ?? [];
  let shown = false;
  for (const d of details) {
    const el = $(`[data-error="${d.field}"]`, root);
    if (el) { el.textContent = d.message; el.hidden = false; shown = true; }
  }
  if (!shown && r.data?.error) {
    const general = $('[data-error="body"]', root);
    if (general) { general.textContent = errorText(r); general.hidden = false; shown = true; }
  }
  return shown;
}

const money = (n) => `$${Number(n ?? 0).toFixed(2)}`;

// ---------------------------------------------------------------- theme

function setupTheme() {
  const select = $("#theme-select");
  if (!select) return;
  select.addEventListener("change", () => {
    const theme = select.value;
    document.cookie = `theme=${theme}; Path=/; Max-Age=31536000; SameSite=Lax`;
    document.documentElement.dataset.theme = theme;
  });
}

// ---------------------------------------------------------------- live events

const listeners = { leads: [], calls: [], settings: [], status: [] };
export const onEvent = (name, fn) => listeners[name].push(fn);

/** Opens the event stream on pages that listen to it. The stream is closed while the page is
 *  hidden in the back/forward cache: browsers allow few connections per host, and cached pages
 *  holding streams open would starve the next page's requests. */
function setupEvents() {
  const wanted = Object.values(listeners).some((fns) => fns.length > 0);
  if (!csrf || !wanted || typeof EventSource === "undefined") return;
  let source = null;
  const open = () => {
    source = new EventSource("/api/events");
    for (const name of Object.keys(listeners)) {
      source.addEventListener(name, (e) => {
        const data = name === "status" ? JSON.parse(e.data) : e.data;
        listeners[name].forEach((fn) => fn(data));
      });
    }
  };
  open();
  addEventListener("pagehide", () => source?.close());
  addEventListener("pageshow", (e) => { if (e.persisted) open(); });
}

/** Runs `fn` at most once per `ms`, after the last call. */
function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

// ---------------------------------------------------------------- automation panel

function renderStatus(s) {
  const set = (key, value) => { const el = $(`[data-stat="${key}"]`); if (el) el.textContent = value; };
  set("active_calls", s.active_calls);
  set("cap", s.cap);
  set("due_now", `${s.due_now}${s.due_now_more ? "+" : ""}`);
  set("today_calls", s.today.calls);
  set("today_bookings", s.today.bookings);
  set("today_cost", money(s.today.cost));
  const tick = $('[data-stat="next_tick_at"]');
  if (tick) tick.dataset.iso = s.next_tick_at ?? "";
  const toggle = $("#automation-toggle");
  if (toggle && !toggle.disabled) toggle.checked = s.automation_enabled;
  $("#automation-label").textContent = s.automation_enabled ? "Active" : "Paused";
  $("#automation-summary").textContent = s.automation_enabled
    ? "Automation is on: the dialer calls due leads inside their calling hours."
    : "Automation is paused: no new calls are placed.";
  const idle = $("#automation-idle");
  idle.hidden = !s.idle;
  idle.textContent = s.idle?.message ?? "";
}

function tickCountdown() {
  const el = $('[data-stat="next_tick_at"]');
  if (!el) return;
  const at = el.dataset.iso ? Date.parse(el.dataset.iso) : NaN;
  if (Number.isNaN(at)) { el.textContent = "—"; return; }
  const secs = Math.max(0, Math.round((at - Date.now()) / 1000));
  el.textContent = secs === 0 ? "now" : `in ${secs}s`;
}

function setupAutomation() {
  const toggle = $("#automation-toggle");
  if (!toggle) return;
  toggle.addEventListener("change", async () => {
    const enabled = toggle.checked;
    toggle.disabled = true;
    const r = await api("PUT", "/api/automation", { enabled });
    toggle.disabled = false;
    if (r.ok) {
      renderStatus(r.data);
      toast(enabled ? "Outbound calling is on." : "Outbound calling is paused.");
    } else {
      toggle.checked = !enabled;
      toast(errorText(r), "error");
    }
  });
  onEvent("status", renderStatus);
  tickCountdown();
  setInterval(tickCountdown, 1000);
}

// ---------------------------------------------------------------- lead table

const table = {
  region: null,
  query: "",
  selected: new Set(),
  matching: false,
  editing: null,
  stale: false,
  /** Numbers table requests, so an older answer arriving late never replaces a newer one. */
  seq: 0,
};

const currentFilters = () => {
  const p = new URLSearchParams(table.query);
  return { status: p.get("status") ?? "", q: p.get("q") ?? "" };
};

/** A selector that finds `el`'s twin in a freshly rendered table, or null. */
function focusKeyOf(el) {
  if (el.id) return `#${CSS.escape(el.id)}`;
  const th = el.closest("th[data-col]");
  if (th) return `th[data-col="${CSS.escape(th.dataset.col)}"] a`;
  if (el.classList.contains("row-select")) return `.row-select[value="${CSS.escape(el.value)}"]`;
  if (el.matches("a[href]")) return `a[href="${CSS.escape(el.getAttribute("href"))}"]`;
  const label = el.getAttribute("aria-label");
  return label ? `[aria-label="${CSS.escape(label)}"]` : null;
}

async function loadTable(query) {
  const seq = ++table.seq;
  const res = await fetch(`/leads/table?${query}`, { credentials: "same-origin" });
  if (signedOut(res)) return;
  const html = await res.text();
  if (seq !== table.seq) return;
  if (!res.ok) {
    let msg = "Could not load leads.";
    try { msg = JSON.parse(html).error.message; } catch {}
    toast(msg, "error");
    return;
  }
  // A save in progress keeps its cell; the view asked for is loaded once it is done.
  if (table.editing) { table.stale = query; return; }
  // Keyboard users keep their place: the control they used is focused again after the swap.
  const active = document.activeElement;
  const focusKey = table.region.contains(active) && !active.classList.contains("cell") ? focusKeyOf(active) : null;
  const roving = $(".cell[tabindex='0']", table.region);
  const rovingAt = roving && { id: roving.closest("tr").dataset.id, field: roving.dataset.field };
  table.region.innerHTML = html;
  const again = rovingAt && $(`tr[data-id="${CSS.escape(rovingAt.id)}"] .cell[data-field="${CSS.escape(rovingAt.field)}"]`, table.region);
  const first = $(".cell", table.region);
  rove(again || first);
  // A focused cell whose row left the view hands focus to the grid's new Tab stop.
  if (active === roving) (again || first || $("#page-input", table.region))?.focus();
  // Only the range is announced; the whole table read aloud after every change would drown it.
  const range = $("#page-range", table.region)?.textContent ?? "";
  const announce = $("#table-announce");
  if (announce && announce.textContent !== range) announce.textContent = range;
  if (focusKey) {
    // A pager link that became disabled (last page) leaves focus on the page number instead.
    let target = null;
    try { target = $(focusKey, table.region); } catch {}
    (target && target.tabIndex >= 0 ? target : $("#page-input", table.region))?.focus();
  }
  const wrap = $(".table-wrap", table.region);
  table.query = wrap.dataset.query;
  history.replaceState(null, "", `/?${table.query}`);
  const { status, q } = currentFilters();
  const exp = $("#export-link");
  if (exp) exp.href = `/api/leads/export?${new URLSearchParams({ ...(status && { status }), ...(q && { q }) })}`;
  syncSelection();
}

const refreshTable = debounce(() => loadTable(table.query), 250);

function withParams(changes) {
  const p = new URLSearchParams(table.query);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === "") p.delete(k); else p.set(k, v);
  }
  return p.toString();
}

function totalMatching() {
  return Number($(".table-wrap", table.region)?.dataset.total ?? 0);
}

/** "1,234", or "1,000+" for a search counted only so far. */
function totalLabel() {
  return $(".table-wrap", table.region)?.dataset.totalLabel ?? String(totalMatching());
}

const totalExact = () => $(".table-wrap", table.region)?.dataset.totalExact !== "false";

function syncSelection() {
  const boxes = $$(".row-select", table.region);
  for (const box of boxes) {
    box.checked = table.matching || table.selected.has(box.value);
    box.closest("tr").classList.toggle("selected", box.checked);
  }
  const all = $("#select-page", table.region);
  if (all) all.checked = boxes.length > 0 && boxes.every((b) => b.checked);
  const count = table.matching ? totalMatching() : table.selected.size;
  $("#bulk-bar").hidden = count === 0;
  $("#selection-count").textContent = table.matching
    ? `All ${totalLabel()} matching lead(s) selected`
    : `${count} lead(s) selected`;
  const more = $("#select-all-matching");
  more.hidden = table.matching || !all?.checked || (totalExact() && totalMatching() <= boxes.length);
  more.textContent = `Select all ${totalLabel()} matching`;
}

function clearSelection() {
  table.selected.clear();
  table.matching = false;
  syncSelection();
}

/** Runs a bulk action over the selection in batches, showing progress. */
async function runBulk(action, status) {
  if (table.bulkRunning) return;
  table.bulkRunning = true;
  const controls = $$("#bulk-bar button, #bulk-bar select");
  controls.forEach((c) => { c.disabled = true; });
  const bar = $("#bulk-progress");
  const progress = $("progress", bar);
  const label = $("span", bar);
  const total = table.matching ? totalMatching() : table.selected.size;
  // A search's total may be a lower bound: then the bar only says how many were done.
  const known = !table.matching || totalExact();
  let done = 0, affected = 0;
  bar.hidden = false;
  const show = () => {
    if (known) { progress.value = total ? (100 * done) / total : 100; label.textContent = `${done} of ${total}`; }
    else { progress.removeAttribute("value"); label.textContent = `${done} done…`; }
  };
  show();
  const extra = status ? { status } : {};
  let failure = null;
  if (table.matching) {
    const { status: s, q } = currentFilters();
    let after = null;
    do {
      const r = await api("POST", "/api/leads/bulk", { action, ...extra, matching: { status: s || null, q: q || null }, after });
      if (!r.ok) { failure = r; break; }
      affected += r.data.affected;
      done = known ? Math.min(total, done + r.data.scanned) : done + r.data.scanned;
      after = r.data.next_after;
      show();
    } while (after);
  } else {
    const ids = [...table.selected];
    for (let i = 0; i < ids.length; i += 1000) {
      const r = await api("POST", "/api/leads/bulk", { action, ...extra, ids: ids.slice(i, i + 1000) });
      if (!r.ok) { failure = r; break; }
      affected += r.data.affected;
      done = Math.min(total, i + 1000);
      show();
    }
  }
  bar.hidden = true;
  controls.forEach((c) => { c.disabled = false; });
  table.bulkRunning = false;
  const verb = { delete: "deleted", requeue: "requeued", do_not_call: "added to the do-not-call list", set_status: "updated" }[action];
  if (failure) toast(errorText(failure), "error");
  else toast(`${affected} lead(s) ${verb}.`);
  clearSelection();
  await loadTable(table.query);
}

function confirmDialog(text, action = "Confirm") {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

// ---------------------------------------------------------------- inline editing

const editableCells = () => $$("tr:not([data-locked]) .cell", table.region);

/** The grid of cells is one Tab stop (the last cell focused, or the first); arrow keys,
 *  Home and End move inside it, as in a spreadsheet. */
function rove(cell) {
  for (const c of $$(".cell[tabindex='0']", table.region)) if (c !== cell) c.tabIndex = -1;
  if (cell) cell.tabIndex = 0;
}

function moveInGrid(cell, key) {
  const row = cell.closest("tr");
  const inRow = $$(".cell", row);
  let target = null;
  if (key === "ArrowRight") target = inRow[inRow.indexOf(cell) + 1];
  else if (key === "ArrowLeft") target = inRow[inRow.indexOf(cell) - 1];
  else if (key === "Home") target = inRow[0];
  else if (key === "End") target = inRow[inRow.length - 1];
  else {
    const other = key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
    target = other && $(`.cell[data-field="${cell.dataset.field}"]`, other);
  }
  if (!target) return false;
  rove(target);
  target.focus();
  return true;
}

function startEdit(cell) {
  if (table.editing || cell.closest("tr").hasAttribute("data-locked")) return;
  const field = cell.dataset.field;
  const original = field === "status" ? cell.dataset.value : cell.textContent.trim();
  let input;
  if (field === "status") {
    input = document.createElement("select");
    for (const opt of $$("#bulk-status option").slice(1)) input.append(new Option(opt.textContent, opt.value));
    input.value = original;
  } else {
    input = document.createElement("input");
    if (field === "call_attempts") { input.type = "number"; input.min = "0"; input.inputMode = "numeric"; }
    if (field === "timezone") input.setAttribute("list", "tz-list");
    if (field === "email") input.type = "email";
    input.value = original;
  }
  input.setAttribute("aria-label", `Edit ${field.replace("_", " ")}`);
  const error = document.createElement("p");
  error.className = "field-error";
  error.hidden = true;
  error.setAttribute("role", "alert");
  table.editing = { cell, field, original, html: cell.innerHTML, input, busy: false };
  cell.classList.add("editing");
  cell.replaceChildren(input, error);
  input.focus();
  if (input.select) input.select();
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); finishEdit(true); }
    else if (e.key === "Escape") { e.preventDefault(); finishEdit(false); }
    else if (e.key === "Tab") { e.preventDefault(); finishEdit(true, e.shiftKey ? -1 : 1); }
  });
  input.addEventListener("blur", () => setTimeout(() => {
    if (table.editing?.input === input && !table.editing.busy) finishEdit(true);
  }, 0));
}

function showCell(cell, field, value) {
  if (field === "status") {
    cell.dataset.value = value;
    const badge = document.createElement("span");
    badge.className = `badge badge-${value}`;
    const label = value.replace(/_/g, " ");
    badge.textContent = label.charAt(0).toUpperCase() + label.slice(1);
    cell.replaceChildren(badge);
  } else {
    cell.textContent = value;
  }
}

/** Ends the edit: saves when asked and changed; then moves `step` cells (Tab). */
async function finishEdit(save, step = 0) {
  const ed = table.editing;
  if (!ed || ed.busy) return;
  const value = ed.input.value.trim();
  const move = () => {
    if (!step) { ed.cell.focus(); return; }
    const cells = editableCells();
    const i = cells.indexOf(ed.cell);
    const next = cells[(i + step + cells.length) % cells.length];
    if (next) { next.focus(); startEdit(next); }
  };
  if (!save || value === ed.original) {
    ed.cell.classList.remove("editing");
    ed.cell.innerHTML = ed.html;
    table.editing = null;
    move();
    if (table.stale) { const q = table.stale; table.stale = false; loadTable(typeof q === "string" ? q : table.query); }
    return;
  }
  ed.busy = true;
  ed.cell.classList.add("saving");
  const id = ed.cell.closest("tr").dataset.id;
  const body = { [ed.field]: ed.field === "call_attempts" ? Number(value) : value };
  if (ed.field === "call_attempts" && !/^\d+$/.test(value)) {
    return editFailed(ed, "Enter a whole number of attempts.");
  }
  const r = await api("PATCH", `/api/leads/${id}`, body);
  if (!r.ok) {
    const detail = r.data?.error?.details?.[0]?.message;
    return editFailed(ed, detail ? `${detail}` : errorText(r));
  }
  ed.cell.classList.remove("editing", "saving");
  showCell(ed.cell, ed.field, String(r.data[ed.field]));
  table.editing = null;
  move();
  if (table.stale) { table.stale = false; refreshTable(); }
}

function editFailed(ed, message) {
  ed.busy = false;
  ed.cell.classList.remove("saving");
  const error = $(".field-error", ed.cell);
  error.textContent = message;
  error.hidden = false;
  ed.input.setAttribute("aria-invalid", "true");
  ed.input.focus();
}

// ---------------------------------------------------------------- add lead

function setupAddLead() {
  const dialog = $("#add-lead");
  const form = $("#add-lead-form");
  if (!dialog) return;
  $("#add-lead-open").addEventListener("click", () => {
    $$("[data-error]", form).forEach((el) => { el.hidden = true; });
    dialog.showModal();
    $("#new-company").focus();
  });
  $("[data-close]", dialog).addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    const submit = $('button[type="submit"]', form);
    submit.disabled = true;
    const r = await api("POST", "/api/leads", data);
    submit.disabled = false;
    if (r.ok) {
      const tz = $("#new-timezone").value;
      form.reset();
      $("#new-timezone").value = tz;
      dialog.close();
      toast(`${r.data.company_name} was added.`);
      loadTable(table.query);
    } else if (r.status === 409) {
      showFieldErrors(form, { data: { error: { details: [{ field: "phone", message: errorText(r) }] } } });
    } else {
      showFieldErrors(form, r);
    }
  });
}

function setupLeads() {
  table.region = $("#leads-table");
  if (!table.region) return;
  table.query = $(".table-wrap", table.region).dataset.query;
  rove($(".cell", table.region));
  setupAutomation();
  setupAddLead();

  table.region.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-nav]");
    if (link) { e.preventDefault(); loadTable(link.getAttribute("href").slice(1)); return; }
    const cell = e.target.closest(".cell");
    if (cell && !cell.classList.contains("editing")) startEdit(cell);
  });
  table.region.addEventListener("focusin", (e) => {
    if (e.target.classList?.contains("cell")) rove(e.target);
  });
  table.region.addEventListener("keydown", (e) => {
    const cell = e.target.closest?.(".cell");
    if (cell && e.target === cell && (e.key === "Enter" || e.key === "F2")) { e.preventDefault(); startEdit(cell); }
    if (cell && e.target === cell && ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End"].includes(e.key)) {
      if (moveInGrid(cell, e.key)) e.preventDefault();
    }
    if (e.target.id === "page-input" && e.key === "Enter") {
      e.preventDefault();
      const max = e.target.max ? Number(e.target.max) : Infinity, n = Math.trunc(Number(e.target.value));
      if (n >= 1 && n <= max) loadTable(withParams({ page: n > 1 ? n : null }));
      else { e.target.setCustomValidity(`Choose a page from 1 to ${max}.`); e.target.reportValidity(); }
    }
  });
  table.region.addEventListener("input", (e) => { if (e.target.id === "page-input") e.target.setCustomValidity(""); });
  table.region.addEventListener("change", (e) => {
    if (e.target.id === "per-page") loadTable(withParams({ per_page: e.target.value, page: null }));
    else if (e.target.id === "select-page") {
      table.matching = false;
      for (const box of $$(".row-select", table.region)) {
        if (e.target.checked) table.selected.add(box.value); else table.selected.delete(box.value);
      }
      syncSelection();
    } else if (e.target.classList.contains("row-select")) {
      if (table.matching) {
        // Leaving "all matching" keeps the rows the user can see, minus this one.
        table.matching = false;
        $$(".row-select", table.region).forEach((b) => table.selected.add(b.value));
      }
      if (e.target.checked) table.selected.add(e.target.value); else table.selected.delete(e.target.value);
      syncSelection();
    }
  });

  const filters = $("#lead-filters");
  const applyFilters = () => {
    const data = new FormData(filters);
    clearSelection();
    loadTable(withParams({ q: data.get("q").trim(), status: data.get("status"), page: null }));
  };
  filters.addEventListener("submit", (e) => { e.preventDefault(); applyFilters(); });
  $("#refresh-leads").addEventListener("click", (e) => { e.preventDefault(); loadTable(table.query); });
  $("#status-filter").addEventListener("change", applyFilters);
  $("#lead-search").addEventListener("input", debounce(applyFilters, 300));

  $("#select-all-matching").addEventListener("click", () => { table.matching = true; syncSelection(); });
  $("#clear-selection").addEventListener("click", clearSelection);
  $("#bulk-apply-status").addEventListener("click", () => {
    const status = $("#bulk-status").value;
    if (!status) { toast("Choose a status first.", "error"); $("#bulk-status").focus(); return; }
    runBulk("set_status", status);
  });
  $("#bulk-requeue").addEventListener("click", () => runBulk("requeue"));
  $("#bulk-dnc").addEventListener("click", () => runBulk("do_not_call"));
  $("#bulk-delete").addEventListener("click", async () => {
    const n = table.matching ? totalLabel() : table.selected.size;
    if (await confirmDialog(`This permanently deletes ${n} lead(s) and their call history.`, "Delete")) runBulk("delete");
  });

  onEvent("leads", () => refreshTable());
  syncSelection();
}

// ---------------------------------------------------------------- pages that re-read themselves

/** Lead detail and call list: re-read the live region when calls or leads change, unless a
 *  recording is playing or a transcript is open (replacing them would lose the place). */
function setupLiveRegion() {
  const regions = $$("[data-live-region]");
  if (!regions.length) return;
  const reload = debounce(async () => {
    const busy = (r) => $$("audio", r).some((a) => !a.paused || a.currentTime > 0) || $$("details[open]", r).length > 0
      || (r.contains(document.activeElement) && document.activeElement.matches("input, select, textarea"));
    if (regions.some(busy)) return;
    const res = await fetch(location.href, { credentials: "same-origin" });
    if (signedOut(res) || !res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    const fresh = $$("[data-live-region]", doc);
    if (fresh.length !== regions.length) return;
    // Focus on a link or button inside a region comes back to its twin after the swap.
    const active = document.activeElement;
    const inside = regions.findIndex((r) => r.contains(active));
    const key = inside >= 0 ? (active.id ? `#${CSS.escape(active.id)}` : active.getAttribute("href") ? `[href="${CSS.escape(active.getAttribute("href"))}"]` : null) : null;
    regions.forEach((r, i) => { r.innerHTML = fresh[i].innerHTML; });
    if (key) $(key, regions[inside])?.focus();
  }, 400);
  onEvent("calls", reload);
  onEvent("leads", reload);
}

// ---------------------------------------------------------------- import

/** The header row of a CSV text (quotes and doubled quotes understood). */
function csvHeader(text) {
  const out = [];
  let field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { out.push(field.trim()); field = ""; }
    else if (c === "\n" || c === "\r") break;
    else field += c;
  }
  out.push(field.trim());
  return out.map((h, i) => (i === 0 ? h.replace(/^\uFEFF/, "") : h));
}

const csvCell = (v) => (/[",\n\r]/.test(v) ? `"${String(v).replace(/"/g, '""')}"` : String(v));

/** A random key naming one import, so its progress can be asked for while it runs. */
function progressKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const count = (n) => Number(n ?? 0).toLocaleString("en-US");

/** The rejected rows as a CSV the user can fix and import again: the file's own columns,
 *  then the line each came from and what was wrong with it. */
function rejectedCsv(headers, invalid) {
  const rows = new Map();
  for (const i of invalid) {
    const row = rows.get(i.row) ?? { fields: i.fields, problems: [] };
    row.problems.push(i.message);
    rows.set(i.row, row);
  }
  const lines = [[...headers, "line", "problems"]];
  for (const [line, r] of rows) lines.push([...r.fields, line, r.problems.join("; ")]);
  return lines.map((l) => l.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

/** Uploads `file` to the import API, reporting upload progress; resolves to {ok, status, data}. */
function upload(url, file, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { data = null; }
      resolve({ ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, data });
    };
    xhr.onerror = () => resolve({ ok: false, status: 0, data: { error: { message: "The upload failed." } } });
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}

function setupImport() {
  const input = $("#import-file");
  if (!input) return;
  const state = { file: null, headers: [], mapping: {}, seq: 0 };
  const bar = $("#import-progress"), error = $("#import-error");
  const preview = $("#import-preview"), result = $("#import-result");

  /** Shows an upload's progress, then the server's (rows read, then rows saved), polling
   *  the import's progress key while the request runs. */
  const tracker = (label, key) => {
    const st = { upload: 0, server: null, stopped: false };
    const paint = () => {
      if (st.stopped) return;
      bar.hidden = false;
      const p = $("progress", bar), text = $("span", bar), s = st.server;
      // Screen readers hear the phase when it changes, not every figure.
      const phase = `${label}: ${s?.phase === "saving" ? "saving" : s?.phase === "checking" ? "looking for duplicates" : "reading the file"}`;
      const announce = $("#import-announce");
      if (announce && announce.textContent !== phase) announce.textContent = phase;
      if (s?.phase === "saving" && s.to_save) {
        p.value = Math.round((100 * s.saved) / s.to_save);
        text.textContent = `${label}: saving ${count(s.saved)} of ${count(s.to_save)} rows`;
      } else if (s?.phase === "checking") {
        p.removeAttribute("value");
        text.textContent = `${label}: ${count(s.rows_read)} rows read; looking for numbers already stored…`;
      } else {
        p.value = Math.round(st.upload * 100);
        const read = s ? `, ${count(s.rows_read)} rows read` : "";
        text.textContent = st.upload < 1 ? `${label}: ${Math.round(st.upload * 100)}% sent${read}` : `${label}: finishing${read}…`;
      }
    };
    const timer = setInterval(async () => {
      const r = await api("GET", `/api/leads/import/progress/${key}`);
      if (r.ok) { st.server = r.data; paint(); }
    }, 500);
    paint();
    return { onUpload: (f) => { st.upload = f; paint(); }, stop: () => { st.stopped = true; clearInterval(timer); bar.hidden = true; } };
  };
  const mappingQuery = () => {
    const p = new URLSearchParams();
    for (const [field, header] of Object.entries(state.mapping)) {
      if (header !== undefined) p.set(`map_${field}`, header);
    }
    return p.toString();
  };
  const cellRow = (tag, values) => {
    const tr = document.createElement("tr");
    for (const v of values) { const c = document.createElement(tag); c.textContent = v; if (tag === "th") c.scope = "col"; tr.append(c); }
    return tr;
  };
  const summary = (box, items) => {
    box.replaceChildren(...items.map(([label, value]) => {
      const d = document.createElement("div");
      const b = document.createElement("b");
      b.textContent = value;
      d.append(b, label);
      d.dataset.figure = label;
      return d;
    }));
  };
  const fillMapping = (columns) => {
    for (const select of $$("#mapping select")) {
      const field = select.dataset.field;
      const chosen = columns ? columns[field] : state.mapping[field];
      select.replaceChildren();
      if (field === "timezone") select.append(new Option("(none: use the default zone)", ""));
      else if (!chosen) select.append(new Option("Choose a column…", ""));
      for (const h of state.headers) select.append(new Option(h, h));
      select.value = chosen ?? "";
    }
  };

  async function check() {
    // Only the newest check may fill the report; importing waits until it is in.
    const seq = ++state.seq;
    error.hidden = true;
    result.hidden = true;
    $("#import-confirm").disabled = true;
    const key = progressKey();
    const track = tracker("Checking", key);
    const r = await upload(`/api/leads/import?dry_run=true&progress=${key}&${mappingQuery()}`, state.file, track.onUpload);
    track.stop();
    if (seq !== state.seq) return;
    preview.hidden = false;
    const sample = $("#sample-table");
    if (!r.ok) {
      fillMapping(null);
      sample.replaceChildren();
      summary($("#check-summary"), []);
      $("#invalid-wrap").hidden = true;
      $("#import-confirm").disabled = true;
      error.textContent = errorText(r);
      error.hidden = false;
      return;
    }
    const report = r.data;
    state.headers = report.headers;
    fillMapping(report.columns);
    const head = document.createElement("thead");
    head.append(cellRow("th", report.headers));
    const body = document.createElement("tbody");
    for (const row of report.sample) body.append(cellRow("td", row));
    sample.replaceChildren(head, body);
    summary($("#check-summary"), [
      ["rows read", report.rows], ["new leads", report.imported],
      ["duplicates", report.duplicates], ["invalid rows", report.invalid_count],
    ]);
    const tbody = $("#invalid-table tbody");
    tbody.replaceChildren(...report.invalid.map((i) => cellRow("td", [i.row, i.column, i.value, i.message])));
    $("#invalid-wrap").hidden = report.invalid.length === 0;
    $("#invalid-note").textContent = report.invalid_count > new Set(report.invalid.map((i) => i.row)).size
      ? `(showing the first ${count(new Set(report.invalid.map((i) => i.row)).size)} of ${count(report.invalid_count)})` : "";
    const dups = report.duplicate_rows ?? [];
    $("#duplicates-table tbody").replaceChildren(...dups.map((d) => cellRow("td", [d.row, d.phone,
      d.repeats_row ? `repeats line ${d.repeats_row}` : "already a lead"])));
    $("#duplicates-wrap").hidden = dups.length === 0;
    $("#duplicates-note").textContent = report.duplicates > dups.length ? `(the first ${count(dups.length)} of ${count(report.duplicates)})` : "";
    const confirm = $("#import-confirm");
    confirm.disabled = report.imported === 0;
    confirm.textContent = `Import ${report.imported} lead(s)`;
  }

  async function choose(file) {
    if (!file) return;
    state.file = file;
    state.mapping = {};
    state.headers = csvHeader(await file.slice(0, 65536).text());
    $("#import-file-name").textContent = `— ${file.name}`;
    await check();
  }

  input.addEventListener("change", () => choose(input.files[0]));
  const zone = $("#dropzone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); choose(e.dataTransfer.files[0]); });
  $("#mapping").addEventListener("change", (e) => {
    state.mapping[e.target.dataset.field] = e.target.value;
    check();
  });
  $("#import-cancel").addEventListener("click", () => { preview.hidden = true; input.value = ""; input.click(); });
  $("#import-confirm").addEventListener("click", async () => {
    const button = $("#import-confirm");
    button.disabled = true;
    state.seq++; // a check still running must not reopen the preview afterwards
    const key = progressKey();
    const track = tracker("Importing", key);
    const r = await upload(`/api/leads/import?progress=${key}&${mappingQuery()}`, state.file, track.onUpload);
    track.stop();
    button.disabled = false;
    if (!r.ok) { error.textContent = errorText(r); error.hidden = false; return; }
    const report = r.data;
    preview.hidden = true;
    result.hidden = false;
    summary($("#result-summary"), [
      ["imported", report.imported], ["duplicates skipped", report.duplicates],
      ["invalid rows", report.invalid_count], ["rows read", report.rows],
    ]);
    const link = $("#rejected-download");
    if (report.invalid.length) {
      // A data: URL, not a blob: one, so the page's strict CSP lets tests and tools read it back.
      link.href = `data:text/csv;charset=utf-8,${encodeURIComponent(rejectedCsv(report.headers, report.invalid))}`;
      link.hidden = false;
      const listed = new Set(report.invalid.map((i) => i.row)).size;
      $("#rejected-note").textContent = report.invalid_count > listed
        ? `The file holds the first ${count(listed)} of ${count(report.invalid_count)} rejected rows.` : "";
    } else { link.hidden = true; $("#rejected-note").textContent = ""; }
    toast(`${report.imported} lead(s) imported.`);
    result.scrollIntoView({ behavior: "smooth" });
  });
}

// ---------------------------------------------------------------- API forms (settings)

/** A form's fields as the API's JSON: numbers where marked, checkbox groups joined. */
function formJson(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.type === "checkbox" || el.type === "submit" || el.type === "button") continue;
    body[el.name] = el.dataset.type === "number" ? Number(el.value) : el.value;
  }
  for (const group of $$("[data-join]", form)) {
    body[group.dataset.join] = $$("input:checked", group).map((c) => c.value).join(",");
  }
  return body;
}

function setupApiForms() {
  for (const form of $$("form[data-api]")) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const [method, url] = form.dataset.api.split(" ");
      const submit = $('button[type="submit"]', form);
      submit.disabled = true;
      const r = await api(method, url, formJson(form));
      submit.disabled = false;
      if (!r.ok) { showFieldErrors(form, r); return; }
      showFieldErrors(form, { data: {} });
      $$('[data-error="body"]', form).forEach((el) => { el.hidden = true; });
      const reveal = form.dataset.reveal && r.data?.[form.dataset.reveal];
      if (reveal) {
        // Shown once: it stays until the admin says it is copied, then the list is re-read.
        const out = $("output.reveal", form);
        const code = document.createElement("code");
        code.textContent = reveal;
        const copy = document.createElement("button");
        copy.type = "button"; copy.className = "ghost small"; copy.textContent = "Copy";
        copy.addEventListener("click", async () => {
          try { await navigator.clipboard.writeText(reveal); toast("Copied."); } catch { toast("Select the text and copy it.", "error"); }
        });
        const done = document.createElement("button");
        done.type = "button"; done.className = "small"; done.textContent = "Done, I copied it";
        done.addEventListener("click", () => location.reload());
        out.replaceChildren("Shown once, copy it now: ", code, " ", copy, " ", done);
        out.hidden = false;
        toast(form.dataset.success);
        done.focus();
        return;
      }
      toast(form.dataset.success ?? "Saved.");
      if (form.dataset.reload !== undefined) location.reload();
    });
  }
  document.addEventListener("click", async (e) => {
    const button = e.target.closest("button[data-method]");
    if (!button) return;
    if (button.dataset.confirm && !(await confirmDialog(button.dataset.confirm))) return;
    const r = await api(button.dataset.method, button.dataset.url);
    if (r.ok) { toast("Done."); location.reload(); } else toast(errorText(r), "error");
  });
  for (const select of $$("select[data-role-of]")) {
    select.addEventListener("change", async () => {
      const r = await api("PATCH", `/api/users/${select.dataset.roleOf}`, { role: select.value });
      if (r.ok) toast("Role changed."); else { toast(errorText(r), "error"); location.reload(); }
    });
  }
  const resetDialog = $("#reset-password");
  for (const button of $$("button[data-reset-password]")) {
    button.addEventListener("click", () => {
      const form = $("form", resetDialog);
      form.reset();
      showFieldErrors(form, { data: {} });
      $$("[data-error]", form).forEach((el) => { el.hidden = true; });
      form.dataset.user = button.dataset.resetPassword;
      form.dataset.self = button.dataset.self ?? "false";
      $("#reset-password-who").textContent = button.dataset.email;
      resetDialog.showModal();
      $("#reset-password-input").focus();
    });
  }
  if (resetDialog) {
    const form = $("form", resetDialog);
    $("[data-close]", resetDialog).addEventListener("click", () => resetDialog.close());
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const submit = $('button[type="submit"]', form);
      submit.disabled = true;
      const r = await api("PATCH", `/api/users/${form.dataset.user}`, { password: $("#reset-password-input").value });
      submit.disabled = false;
      if (!r.ok) { showFieldErrors(form, r); return; }
      resetDialog.close();
      // Resetting one's own password ends one's own sessions too.
      if (form.dataset.self === "true") { toLogin(); return; }
      toast("Password changed. The user is signed out everywhere.");
    });
  }
  const dncImport = $("#dnc-import");
  dncImport?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = $("#dnc-file").files[0];
    const out = $("#dnc-import-result");
    if (!file) { out.textContent = "Choose a CSV file first."; $("#dnc-file").focus(); return; }
    out.textContent = "Uploading…";
    let r;
    try {
      const res = await fetch("/api/dnc/import", { method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, "Content-Type": "text/csv" }, body: await file.text() });
      r = { ok: res.ok, status: res.status, data: await res.json().catch(() => null) };
    } catch { r = { ok: false, status: 0, data: null }; }
    if (!r.ok) { out.textContent = errorText(r); out.className = "form-error"; return; }
    const d = r.data;
    out.className = "";
    out.textContent = `${d.added} added, ${d.already_listed} already listed, ${d.invalid_count} invalid.`
      + (d.invalid.length ? ` First problem: line ${d.invalid[0].row}: ${d.invalid[0].message}.` : "");
    dncImport.reset();
    // Re-read the list in place, so the result above stays on screen.
    const res = await fetch(location.href, { credentials: "same-origin" });
    if (signedOut(res)) return;
    const fresh = res.ok && $("#dnc-list", new DOMParser().parseFromString(await res.text(), "text/html"));
    if (fresh) $("#dnc-list").innerHTML = fresh.innerHTML;
  });
  for (const button of $$("button[data-test]")) {
    button.addEventListener("click", async () => {
      const out = $(".check-result", button.closest("[data-integration]"));
      out.textContent = "Testing…";
      button.disabled = true;
      const r = await api("POST", `/api/integrations/${button.dataset.test}/test`);
      button.disabled = false;
      out.textContent = r.ok ? `${r.data.ok ? "✓" : "✗"} ${r.data.message}` : errorText(r);
      out.className = `check-result ${r.ok && r.data.ok ? "ok" : "form-error"}`;
    });
  }
  for (const form of $$("form[data-template]")) {
    const subject = $('[data-role="subject"]', form), body = $('[data-role="body"]', form);
    const preview = debounce(async () => {
      const r = await api("POST", "/api/settings/email-preview", { kind: form.dataset.template, subject: subject.value, body: body.value });
      if (r.ok) {
        $('[data-preview="subject"]', form).textContent = r.data.subject;
        $('[data-preview="body"]', form).textContent = r.data.body;
        showFieldErrors(form, { data: {} });
      } else showFieldErrors(form, r);
    }, 250);
    subject.addEventListener("input", preview);
    body.addEventListener("input", preview);
    $("[data-reset-template]", form).addEventListener("click", async () => {
      const r = await api("PATCH", "/api/settings", { [subject.name]: "", [body.name]: "" });
      if (r.ok) { toast("Template restored."); location.reload(); } else toast(errorText(r), "error");
    });
    preview();
  }
}

setupTheme();
setupLeads();
setupImport();
setupApiForms();
setupLiveRegion();
setupEvents();
