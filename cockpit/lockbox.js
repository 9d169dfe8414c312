// The Lockbox approvers' console: requests, approvals, grants and history over
// org.lockbox.Approval1, as the person Cockpit logged in. The page decides
// nothing on its own authority: it offers what the caller's roles allow
// (GetCallerRoles, lockbox_logic.offeredActions), the service decides every call
// again, and a refusal is shown as the service worded it.
//
// Everything a requester or the journal wrote (reason, ticket, names, comments)
// reaches the DOM through textContent only, never as markup.
import * as logic from "./lockbox_logic.js";

const cockpit = window.cockpit;
const SERVICE = "org.lockbox.Approval1";
const PATH = "/org/lockbox/Approval1";
const IFACE = "org.lockbox.Approval1";
const TICK_MS = 30 * 1000;         // re-render the time left
const REFRESH_DEBOUNCE_MS = 150;   // one reload for a burst of signals

const bus = cockpit.dbus(SERVICE, { bus: "system" });
const state = {
    caller: null,        // {user, roles}
    requests: [],
    detailsId: null,
    view: "requests",
};

const $ = id => document.getElementById(id);

// An element with text content and attributes; children appended in order.
function el(tag, { cls, text, attrs } = {}, ...children) {
    const node = document.createElement(tag);
    if (cls)
        node.className = cls;
    if (text !== undefined && text !== null)
        node.textContent = String(text);
    for (const [k, v] of Object.entries(attrs ?? {}))
        node.setAttribute(k, v);
    for (const child of children)
        if (child)
            node.append(child);
    return node;
}

function call(method, args) {
    return bus.call(PATH, IFACE, method, args);
}

function showPageError(message) {
    $("page-alert-text").textContent = message;
    $("page-alert").hidden = !message;
}

// ---- loading --------------------------------------------------------------

async function loadCaller() {
    const [user, roles] = await call("GetCallerRoles", []);
    state.caller = { user, roles };
    try {
        [state.accessLevels] = await call("GetAccessLevels", []);
    } catch (ex) {
        state.accessLevels = [];  // an older service: approvals keep the level asked for
    }
    $("whoami").textContent = roles.length
        ? `Signed in as ${user} (${roles.join(", ")})`
        : `Signed in as ${user}, who has no Lockbox role: nothing here is for you to approve.`;
}

async function loadRequests() {
    if (!state.caller || state.caller.roles.length === 0) {
        state.requests = [];
        return;
    }
    const [json] = await call("ListRequests", [""]);
    state.requests = JSON.parse(json);
}

let refreshTimer = null;
const changedIds = new Set();
function scheduleRefresh(changedId) {
    changedIds.add(changedId);
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
        const changed = new Set(changedIds);
        changedIds.clear();
        try {
            await loadRequests();
            showPageError("");
        } catch (ex) {
            showPageError(ex.message);
        }
        render();
        if (state.detailsId && changed.has(state.detailsId))
            openDetails(state.detailsId, { focus: false });
    }, REFRESH_DEBOUNCE_MS);
}

// ---- lists ------------------------------------------------------------------

function actionLabel(action) {
    return { approve: "Approve", deny: "Deny", revoke: "Revoke" }[action];
}

function requestItem(r, { withActions }) {
    const now = Date.now();
    const left = logic.timeLeft(r, now);
    const title = el("div", { cls: "lockbox-item-title" },
                     el("span", { text: `${r.ticket} · ${r.engineer} @ ${r.tenant}` }),
                     el("span", { cls: "lockbox-state", text: r.state, attrs: { "data-state": r.state } }));
    const meta = el("div", { cls: "lockbox-item-meta",
                             text: [`hosts ${r.hosts.join(", ")}`, logic.formatDuration(r.duration),
                                    `filed by ${r.created_by}`, left?.text].filter(Boolean).join(" · ") });
    const reason = el("div", { cls: "lockbox-item-reason", text: r.reason });
    const buttons = el("div", { cls: "lockbox-item-buttons" });
    const details = el("button", { cls: "pf-c-button pf-m-secondary", text: "Details",
                                   attrs: { type: "button", "data-request": r.id, "data-action": "details",
                                            "aria-label": `Details of ${r.ticket} for ${r.engineer}` } });
    details.addEventListener("click", () => openDetails(r.id));
    buttons.append(details);
    if (withActions)
        for (const action of logic.offeredActions(r, state.caller))
            buttons.append(actionButton(r, action));
    return el("li", { cls: "lockbox-item", attrs: { "data-request": r.id } },
              el("div", { cls: "lockbox-item-main" }, title, meta, reason), buttons);
}

function actionButton(r, action) {
    const cls = action === "approve" ? "pf-c-button pf-m-primary" : "pf-c-button pf-m-danger";
    const b = el("button", { cls, text: actionLabel(action),
                             attrs: { type: "button", "data-request": r.id, "data-action": action,
                                      "aria-label": `${actionLabel(action)} ${r.ticket} for ${r.engineer}` } });
    b.addEventListener("click", () => openConfirm(r.id, action, b));
    return b;
}

function fillList(listId, emptyId, requests, options) {
    const list = $(listId);
    // Lists are rebuilt on every signal and clock tick: a keyboard user keeps
    // their place on the same button of the same request.
    const focused = list.contains(document.activeElement) ? document.activeElement : null;
    const place = focused && [focused.getAttribute("data-request"), focused.getAttribute("data-action")];
    list.replaceChildren(...requests.map(r => requestItem(r, options)));
    $(emptyId).hidden = requests.length > 0;
    if (place)
        list.querySelector(`button[data-request="${CSS.escape(place[0] ?? "")}"][data-action="${place[1]}"]`)
            ?.focus();
}

function render() {
    if (!state.caller)
        return;
    fillList("waiting", "waiting-empty", logic.waitingFor(state.requests, state.caller), { withActions: true });
    const filters = { state: $("filter-state").value, engineer: $("filter-engineer").value,
                      ticket: $("filter-ticket").value };
    fillList("all-requests", "all-empty", logic.filterRequests(state.requests, filters), { withActions: true });
    fillList("grants", "grants-empty", logic.grantsOf(state.requests), { withActions: true });
}

// ---- details and history ------------------------------------------------------

function field(dl, label, value, attrs = {}) {
    if (value === undefined || value === null || value === "")
        return;
    const dd = el("dd", { attrs });
    if (value instanceof Node)
        dd.append(value);
    else
        dd.textContent = String(value);
    dl.append(el("dt", { text: label }), dd);
}

function keysNode(keys) {
    const box = el("div");
    for (const line of keys ?? []) {
        const k = logic.sshKeySummary(line);
        const text = k ? `${k.type} ${k.fingerprint}${k.comment ? " (" + k.comment + ")" : ""}`
                       : "a key this page cannot read";
        box.append(el("div", { cls: "lockbox-key", text }));
        if (k?.mismatch)
            box.append(el("div", { cls: "lockbox-warning", text: "the line's label does not match the key's type" }));
    }
    return box;
}

function windowText(r) {
    let text = logic.formatDuration(r.duration);
    if (r.requested_duration && r.requested_duration !== r.duration)
        text += ` (asked for ${logic.formatDuration(r.requested_duration)})`;
    if (r.nbf && r.exp)
        text += `, ${r.nbf} to ${r.exp}`;
    return text;
}

// The fields a person needs to judge a request; the confirmation repeats them.
function describe(dl, r) {
    field(dl, "Request", r.id);
    field(dl, "State", r.state, { "data-field": "state" });
    field(dl, "Tenant", r.tenant);
    field(dl, "Ticket", r.ticket, { "data-field": "ticket" });
    field(dl, "Engineer", r.engineer);
    // The level decides what the engineer may do as root: shown in capitals,
    // as the CLI and the mails show it (docs/approval.md).
    if (r.access)
        field(dl, "Access level", r.access.toUpperCase(), { "data-field": "access" });
    field(dl, "Hosts", r.hosts.join(", "));
    field(dl, "Access window", windowText(r));
    field(dl, "Reason", r.reason, { "data-field": "reason" });
    field(dl, "SSH keys", keysNode(r.ssh_keys));
    field(dl, "Filed by", `${r.created_by} at ${r.created_at}`);
    for (const a of r.approvals ?? [])
        field(dl, a.role === "manager" ? "Manager approval" : "Approver approval",
              `${a.user} at ${a.at}${a.comment ? ": " + a.comment : ""}`, { "data-field": `${a.role}-approval` });
    if (r.closed_by)
        field(dl, "Closed", `${r.closed_by} at ${r.closed_at}${r.close_reason ? ": " + r.close_reason : ""}`);
    field(dl, "Time left", logic.timeLeft(r, Date.now())?.text);
}

async function openDetails(id, { focus = true } = {}) {
    state.detailsId = id;
    const section = $("details");
    let r;
    try {
        const [json] = await call("GetRequest", [id]);
        r = JSON.parse(json);
    } catch (ex) {
        showPageError(ex.message);
        return;
    }
    $("details-title").textContent = `Request ${r.ticket} for ${r.engineer}`;
    section.setAttribute("data-request", r.id);
    const dl = $("details-fields");
    dl.replaceChildren();
    describe(dl, r);
    const actions = $("details-actions");
    actions.replaceChildren(...logic.offeredActions(r, state.caller).map(a => actionButton(r, a)));
    section.hidden = false;
    if (focus) {
        section.focus();
        section.scrollIntoView({ block: "start" });
    }
    await loadHistory(r.id);
}

async function loadHistory(id) {
    const body = $("history").tBodies[0];
    const note = $("history-note");
    note.textContent = "Loading…";
    let entries;
    try {
        // As the logged-in person, never as superuser: the audit shows what that
        // person may read (the journal needs systemd-journal or adm).
        const out = await cockpit.spawn(["lockboxctl", "audit", "--request", id, "--json"], { err: "message" });
        entries = JSON.parse(out);
    } catch (ex) {
        body.replaceChildren();
        note.textContent = `lockboxctl audit: ${ex.message || ex.problem || ex}`;
        return;
    }
    if (state.detailsId !== id)
        return;
    const rows = logic.historyRows(entries);
    body.replaceChildren(...rows.map(row => el("tr", { attrs: { "data-event": row.event } },
                                                  el("td", { text: row.time, attrs: { "data-label": "Time" } }),
                                                  el("td", { text: row.event, attrs: { "data-label": "Event" } }),
                                                  el("td", { text: row.actor, attrs: { "data-label": "Actor" } }),
                                                  el("td", { text: row.details || row.message,
                                                             attrs: { "data-label": "Details" } }))));
    note.textContent = rows.length ? "" : "No audit records visible to you: reading the journal needs membership " +
                                          "of systemd-journal or adm.";
}

// ---- confirmation -------------------------------------------------------------

let confirmOpener = null;

function input(label, id, { textarea = false, required = false, hint = "" } = {}) {
    const control = el(textarea ? "textarea" : "input", { cls: "pf-c-form-control", attrs: { id } });
    if (required)
        control.required = true;
    return el("label", { text: label + (required ? " (required)" : "") }, control,
              hint ? el("span", { cls: "lockbox-item-meta", text: hint }) : null);
}

// The access level to approve at: the one asked for, or a lower one. Options
// are built with textContent like everything else from the service.
function accessSelect(r) {
    const levels = logic.lowerableLevels(state.accessLevels ?? [], r);
    if (levels.length < 2)
        return null;
    const select = el("select", { cls: "pf-c-form-control", attrs: { id: "confirm-access" } });
    for (const level of levels) {
        const option = el("option", { text: level.toUpperCase() });
        option.value = level;
        select.append(option);
    }
    select.value = levels[levels.length - 1];
    return el("label", { text: "Access level (you may lower it)" }, select,
              el("span", { cls: "lockbox-item-meta", text: `asked for: ${levels[levels.length - 1].toUpperCase()}` }));
}

async function openConfirm(id, action, opener) {
    let r;
    try {
        const [json] = await call("GetRequest", [id]);
        r = JSON.parse(json);
    } catch (ex) {
        showPageError(ex.message);
        return;
    }
    confirmOpener = opener;
    const dialog = $("confirm");
    dialog.setAttribute("data-request", id);
    dialog.setAttribute("data-action", action);
    $("confirm-title").textContent = {
        approve: `Approve access for ${r.engineer}?`,
        deny: `Deny access for ${r.engineer}?`,
        revoke: `Revoke the grant of ${r.engineer}?`,
    }[action];
    const summary = $("confirm-summary");
    summary.replaceChildren();
    describe(summary, r);
    const inputs = $("confirm-inputs");
    if (action === "approve") {
        inputs.replaceChildren(...[
            input("Shorter duration (optional)", "confirm-duration",
                  { hint: `e.g. 1h or 30m; at most ${logic.formatDuration(r.duration)}` }),
            accessSelect(r),
            input("Comment (optional)", "confirm-comment", { textarea: true })].filter(Boolean));
    } else
        inputs.replaceChildren(input("Reason", "confirm-reason", { textarea: true, required: true }));
    $("confirm-ok").textContent = actionLabel(action);
    $("confirm-ok").className = action === "approve" ? "pf-c-button pf-m-primary" : "pf-c-button pf-m-danger";
    $("confirm-error").hidden = true;
    dialog.showModal();
    inputs.querySelector("input, textarea")?.focus();
}

function confirmRefused(message) {
    $("confirm-error-text").textContent = message;
    $("confirm-error").hidden = false;
}

async function submitConfirm(event) {
    event.preventDefault();
    const dialog = $("confirm");
    const id = dialog.getAttribute("data-request");
    const action = dialog.getAttribute("data-action");
    let method, args;
    if (action === "approve") {
        const durationText = $("confirm-duration").value.trim();
        const seconds = durationText ? logic.parseDuration(durationText) : 0;
        if (seconds === null) {
            confirmRefused(`"${durationText}" is not a duration (e.g. 1h, 30m, 1h30m)`);
            return;
        }
        method = "ApproveRequest";
        // "" keeps the level asked for; the service refuses a raise.
        const select = $("confirm-access");
        const access = select && select.value !== select.options[select.options.length - 1].value ? select.value : "";
        args = [id, seconds, $("confirm-comment").value, access];
    } else {
        const reason = $("confirm-reason").value.trim();
        if (!reason) {
            confirmRefused("A reason is required.");
            return;
        }
        method = action === "deny" ? "DenyRequest" : "RevokeGrant";
        args = [id, reason];
    }
    $("confirm-ok").disabled = true;
    try {
        await call(method, args);
    } catch (ex) {
        confirmRefused(ex.message);  // verbatim: the service's own words
        return;
    } finally {
        $("confirm-ok").disabled = false;
    }
    closeConfirm();
    scheduleRefresh(id);
}

function closeConfirm() {
    const dialog = $("confirm");
    if (dialog.open)
        dialog.close();
    if (confirmOpener && confirmOpener.isConnected)
        confirmOpener.focus();
}

// ---- views --------------------------------------------------------------------

function selectView(view) {
    state.view = view;
    for (const name of ["requests", "grants"]) {
        const current = name === view;
        $(`view-${name}`).hidden = !current;
        $(`tab-${name}`).setAttribute("aria-selected", String(current));
        $(`tab-${name}-item`).classList.toggle("pf-m-current", current);
    }
}

async function start() {
    for (const s of logic.STATES)
        $("filter-state").append(el("option", { text: s, attrs: { value: s } }));
    for (const id of ["filter-state", "filter-engineer", "filter-ticket"])
        $(id).addEventListener("input", render);
    $("filters").addEventListener("submit", e => e.preventDefault());
    $("tab-requests").addEventListener("click", () => selectView("requests"));
    $("tab-grants").addEventListener("click", () => selectView("grants"));
    $("details-close").addEventListener("click", () => {
        $("details").hidden = true;
        state.detailsId = null;
    });
    $("confirm-form").addEventListener("submit", submitConfirm);
    $("confirm-cancel").addEventListener("click", closeConfirm);
    $("confirm").addEventListener("close", () => confirmOpener?.isConnected && confirmOpener.focus());

    // Signals carry ids and states only; the page reads details with its own
    // credentials, so a signal can reveal nothing the caller may not read.
    bus.subscribe({ interface: IFACE, path: PATH }, (path, iface, signal, args) => scheduleRefresh(args[0]));
    try {
        await loadCaller();
        await loadRequests();
    } catch (ex) {
        showPageError(ex.message);
    }
    render();
    setInterval(render, TICK_MS);
    document.body.setAttribute("data-ready", "1");
}

start();
