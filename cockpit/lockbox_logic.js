// What the Lockbox console decides without a browser: SSH key fingerprints,
// durations and time left, which actions to offer, the waiting list, filters and
// the rows of a request's history. Pure functions over the JSON that
// org.lockbox.Approval1 and `lockboxctl audit --json` return; no DOM, no
// cockpit.js, so tests/console/test_lockbox_logic.mjs runs them under node.
//
// Offering an action is a convenience, never the decision: lockbox-approvald's
// workflow (approvald/request_workflow.cc) decides every call again, and the page
// shows its refusal verbatim when this module and the service disagree.

// ---- SHA-256 (FIPS 180-4), for OpenSSH's "SHA256:" fingerprints --------------
// crypto.subtle exists only in secure contexts; a console reached over plain
// HTTP on a LAN address would lose its fingerprints, so the page carries its own.
const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export function sha256(bytes) {
    const bitLength = bytes.length * 8;
    const padded = new Uint8Array(Math.ceil((bytes.length + 9) / 64) * 64);
    padded.set(bytes);
    padded[bytes.length] = 0x80;
    const view = new DataView(padded.buffer);
    view.setUint32(padded.length - 8, Math.floor(bitLength / 0x100000000));
    view.setUint32(padded.length - 4, bitLength >>> 0);
    const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    const w = new Uint32Array(64);
    const rotr = (x, n) => (x >>> n) | (x << (32 - n));
    for (let off = 0; off < padded.length; off += 64) {
        for (let i = 0; i < 16; i++)
            w[i] = view.getUint32(off + i * 4);
        for (let i = 16; i < 64; i++) {
            const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
            const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        let [a, b, c, d, e, f, g, hh] = h;
        for (let i = 0; i < 64; i++) {
            const t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
            const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g; g = f; f = e; e = (d + t1) >>> 0;
            d = c; c = b; b = a; a = (t1 + t2) >>> 0;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
    }
    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    h.forEach((word, i) => outView.setUint32(i * 4, word));
    return out;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Strict base64 (padding optional): null on any other character.
export function base64Decode(text) {
    const clean = text.replace(/=+$/, "");
    if (clean.length % 4 === 1 || !/^[A-Za-z0-9+/]*$/.test(clean))
        return null;
    const out = new Uint8Array(Math.floor(clean.length * 3 / 4));
    let bits = 0, value = 0, pos = 0;
    for (const ch of clean) {
        value = (value << 6) | B64.indexOf(ch);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[pos++] = (value >>> bits) & 0xff;
        }
    }
    return out;
}

// Unpadded base64, as ssh-keygen -l prints fingerprints.
export function base64Encode(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length; i += 3) {
        const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
        const chars = Math.ceil((Math.min(3, bytes.length - i) * 8) / 6);
        for (let j = 0; j < chars; j++)
            out += B64[(n >>> (18 - 6 * j)) & 63];
    }
    return out;
}

// The key type, its SHA256 fingerprint as `ssh-keygen -l` prints it, and the
// comment, from one authorized_keys-style line ("[options] type base64 [comment]").
// The type is the one inside the blob, not the one the line claims, so a line
// cannot label an RSA key "ssh-ed25519". Null when the line holds no key.
export function sshKeySummary(line) {
    const fields = String(line).trim().split(/\s+/);
    for (let i = 0; i + 1 < fields.length; i++) {
        if (!/^(ssh-|ecdsa-|sk-)/.test(fields[i]))
            continue;
        const blob = base64Decode(fields[i + 1]);
        if (!blob || blob.length < 4)
            return null;
        const typeLength = new DataView(blob.buffer).getUint32(0);
        if (typeLength > blob.length - 4)
            return null;
        const type = new TextDecoder().decode(blob.subarray(4, 4 + typeLength));
        return {
            type,
            fingerprint: "SHA256:" + base64Encode(sha256(blob)),
            comment: fields.slice(i + 2).join(" "),
            mismatch: type !== fields[i],
        };
    }
    return null;
}

// ---- time -----------------------------------------------------------------

// "1h 30m", "45s"; the largest two units, as a person reads a window.
export function formatDuration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    const d = Math.floor(seconds / 86400), h = Math.floor(seconds / 3600) % 24;
    const m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    const parts = [[d, "d"], [h, "h"], [m, "m"], [s, "s"]];
    const first = parts.findIndex(([n]) => n > 0);
    if (first < 0)
        return "0s";
    return parts.slice(first, first + 2).filter(([n]) => n > 0).map(([n, u]) => n + u).join(" ");
}

// The CLI's duration syntax (liblockbox parse_duration): "1h30m", "90m", "45s";
// units once each, largest first. Seconds, or null when not a duration.
export function parseDuration(text) {
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(String(text).trim());
    if (!m || (!m[1] && !m[2] && !m[3]))
        return null;
    return (Number(m[1] ?? 0) * 3600) + (Number(m[2] ?? 0) * 60) + Number(m[3] ?? 0);
}

// Seconds from nowMs until the RFC 3339 time `until` (negative when past), or
// null when there is no such time.
export function secondsUntil(until, nowMs) {
    const t = Date.parse(until ?? "");
    return Number.isNaN(t) ? null : Math.floor((t - nowMs) / 1000);
}

export const PENDING_STATES = ["pending-manager", "pending-approver"];
export const GRANT_STATES = ["approved", "active", "revoked", "completed"];
export const STATES = ["pending-manager", "pending-approver", "approved", "active", "denied", "expired",
                       "cancelled", "revoked", "completed"];

// What the clock says about a request: how long a pending one may still wait
// for an answer, how long a grant is still valid. Null when neither applies.
export function timeLeft(request, nowMs) {
    let until = null, what = null;
    if (PENDING_STATES.includes(request.state)) {
        until = request.pending_until;
        what = "to answer";
    } else if (request.state === "approved" || request.state === "active") {
        until = request.exp;
        what = "of access";
    }
    const seconds = secondsUntil(until, nowMs);
    if (seconds === null)
        return null;
    return { seconds, text: seconds > 0 ? `${formatDuration(seconds)} left ${what}` : "time is up" };
}

// ---- roles and actions ------------------------------------------------------

// The actions the console offers `caller` ({user, roles} from GetCallerRoles)
// for `request`, mirroring approvald/request_workflow.cc: the stage decides the
// role, and nobody approves a request they filed, are the engineer of, or
// already approved as manager.
export function offeredActions(request, caller) {
    const has = role => caller.roles.includes(role) || caller.roles.includes("root");
    const actions = [];
    const stageRole = { "pending-manager": "manager", "pending-approver": "approver" }[request.state];
    if (stageRole && has(stageRole)) {
        const involved = caller.user === request.created_by || caller.user === request.engineer;
        const managerApproval = (request.approvals ?? []).find(a => a.role === "manager");
        const approvedAsManager = stageRole === "approver" && managerApproval?.user === caller.user;
        if (!involved && !approvedAsManager)
            actions.push("approve");
        actions.push("deny");
    }
    if ((request.state === "approved" || request.state === "active") && has("approver"))
        actions.push("revoke");
    return actions;
}

// The levels an approver may approve `request` at: the one asked for and every
// level listed before it in `levels` ([Access] Levels=, least privileged
// first, from GetAccessLevels); never a higher one (the service refuses that
// anyway). A request filed before levels existed ("") is at the first level.
// Empty when the level is not listed: the approval keeps it ("" unchanged).
export function lowerableLevels(levels, request) {
    const current = request.access || levels[0];
    const rank = levels.indexOf(current);
    return rank < 0 ? [] : levels.slice(0, rank + 1);
}

// The pending requests the caller may approve, the one closest to expiring first.
export function waitingFor(requests, caller) {
    return requests.filter(r => offeredActions(r, caller).includes("approve"))
        .sort((a, b) => (Date.parse(a.pending_until) || 0) - (Date.parse(b.pending_until) || 0));
}

// Filters of the "All requests" list: exact state, engineer and ticket as
// substrings (case-insensitive); an empty filter matches everything.
export function filterRequests(requests, { state = "", engineer = "", ticket = "" } = {}) {
    const contains = (value, needle) => String(value ?? "").toLowerCase().includes(needle.trim().toLowerCase());
    return requests.filter(r => (!state || r.state === state) && contains(r.engineer, engineer) &&
                                contains(r.ticket, ticket));
}

// Grants: the valid ones first (soonest to end first), then ended ones, newest
// first, at most `recent` of them.
export function grantsOf(requests, recent = 20) {
    const live = requests.filter(r => r.state === "approved" || r.state === "active")
        .sort((a, b) => Date.parse(a.exp) - Date.parse(b.exp));
    const ended = requests.filter(r => (r.state === "revoked" || r.state === "completed") && r.exp)
        .sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at)).slice(0, recent);
    return live.concat(ended);
}

// ---- history ----------------------------------------------------------------

// One row per audit record of `lockboxctl audit --request ID --json`, oldest
// first: when, what, who really did it (LOCKBOX_ACTOR, the uid the service saw),
// and the details a reviewer needs. Values are returned as data; the page puts
// them into textContent only.
export function historyRows(entries) {
    const detail = e => {
        const parts = [];
        for (const [label, field] of [["comment", "LOCKBOX_COMMENT"], ["reason", "LOCKBOX_REASON"],
                                      ["duration", "LOCKBOX_DURATION"], ["host", "LOCKBOX_HOST"],
                                      ["session", "LOCKBOX_SESSION_ID"]]) {
            const v = e[field];
            if (v)
                parts.push(label === "duration" && /^\d+$/.test(v) ? `${label} ${formatDuration(Number(v))}`
                                                                 : `${label}: ${v}`);
        }
        return parts.join("; ");
    };
    return [...entries]
        .sort((a, b) => (a.timestamp_usec ?? 0) - (b.timestamp_usec ?? 0))
        .map(e => ({
            time: e.timestamp ?? "",
            event: e.LOCKBOX_EVENT ?? "",
            actor: e.LOCKBOX_ACTOR ?? "",
            details: detail(e),
            message: e.MESSAGE ?? "",
        }));
}
