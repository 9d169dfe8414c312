// The console's page logic (cockpit/lockbox_logic.js) without a browser, under
// node: fingerprints against ssh-keygen's, SHA-256 against known vectors, time
// left, durations, the actions offered to each role (the workflow's rules,
// approvald/request_workflow.cc), filters and history rows.
//
// usage: node test_lockbox_logic.mjs SOURCE_ROOT
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const logic = await import(pathToFileURL(join(process.argv[2], "cockpit", "lockbox_logic.js")));

let passed = 0, failed = 0;
function check(condition, what) {
    console.log((condition ? "ok   " : "FAIL ") + what);
    condition ? passed++ : failed++;
}
const hex = bytes => Buffer.from(bytes).toString("hex");
const utf8 = text => new TextEncoder().encode(text);

// -- SHA-256: FIPS 180-4 examples, the empty input, a two-block input
check(hex(logic.sha256(utf8(""))) === "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "sha256 of the empty input");
check(hex(logic.sha256(utf8("abc"))) === "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      "sha256 of abc");
check(hex(logic.sha256(utf8("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))) ===
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "sha256 of a two-block input");
const million = new Uint8Array(1000000).fill(0x61);
check(hex(logic.sha256(million)) === "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
      "sha256 of a million 'a'");

// -- fingerprints as ssh-keygen -l prints them
const dir = mkdtempSync(join(tmpdir(), "lockbox-console-"));
try {
    for (const [type, bits] of [["ed25519", null], ["rsa", "2048"], ["ecdsa", "256"]]) {
        const key = join(dir, type);
        execFileSync("ssh-keygen", ["-q", "-t", type, ...(bits ? ["-b", bits] : []), "-N", "", "-C",
                                    `eve@laptop ${type}`, "-f", key]);
        const line = readFileSync(key + ".pub", "utf8");
        const expected = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", key + ".pub"], { encoding: "utf8" })
            .split(" ")[1];
        const summary = logic.sshKeySummary(line);
        check(summary?.fingerprint === expected, `${type} fingerprint is ssh-keygen's (${expected})`);
        check(summary?.type === line.split(" ")[0] && !summary.mismatch, `${type} key type read from the blob`);
        check(summary?.comment === `eve@laptop ${type}`, `${type} comment kept`);
        const withOptions = `restrict,from="10.0.0.1" ${line}`;
        check(logic.sshKeySummary(withOptions)?.fingerprint === expected, `${type} key after options`);
        const relabelled = line.replace(/^\S+/, "ssh-dss");
        check(logic.sshKeySummary(relabelled)?.mismatch === true, `${type} key labelled ssh-dss is flagged`);
    }
} finally {
    rmSync(dir, { recursive: true, force: true });
}
check(logic.sshKeySummary("not a key") === null, "a line without a key has no summary");
check(logic.sshKeySummary("ssh-ed25519 !!!notbase64") === null, "a key that is not base64 has no summary");
check(logic.sshKeySummary("ssh-ed25519 AAAA") === null, "a truncated blob has no summary");

// -- durations and time left
check(logic.formatDuration(5400) === "1h 30m", "90 minutes read 1h 30m");
check(logic.formatDuration(45) === "45s" && logic.formatDuration(0) === "0s", "seconds and zero");
check(logic.formatDuration(90061) === "1d 1h", "the largest two units only");
check(logic.parseDuration("1h30m") === 5400 && logic.parseDuration("90m") === 5400 &&
      logic.parseDuration("45s") === 45, "the CLI's duration syntax");
for (const bad of ["", "30m1h", "1x", "h", "1.5h", "-1h", "1h 30m<script>"])
    check(logic.parseDuration(bad) === null, `"${bad}" is not a duration`);

const now = Date.parse("2026-12-03T20:00:00Z");
const base = {
    id: "r1", state: "pending-manager", tenant: "contoso", ticket: "INC-1", engineer: "eve",
    hosts: ["db01"], duration: 7200, reason: "disk full", created_by: "sam",
    created_at: "2026-12-03T19:00:00Z", pending_until: "2026-12-04T07:00:00Z", approvals: [],
    updated_at: "2026-12-03T19:00:00Z",
};
check(logic.timeLeft(base, now).text === "11h left to answer", "a pending request's time to answer");
check(logic.timeLeft({ ...base, pending_until: "2026-12-03T19:59:00Z" }, now).text === "time is up",
      "a pending request past its deadline");
check(logic.timeLeft({ ...base, state: "active", exp: "2026-12-03T20:30:00Z" }, now).text === "30m left of access",
      "an active grant's time left");
check(logic.timeLeft({ ...base, state: "denied" }, now) === null, "nothing left of a denied request");

// -- actions offered, per role and stage (the workflow's rules)
const mona = { user: "mona", roles: ["manager"] };
const alex = { user: "alex", roles: ["approver"] };
const olga = { user: "olga", roles: [] };
const sam = { user: "sam", roles: ["manager"] };
const carol = { user: "carol", roles: ["manager", "approver"] };
const atApprover = { ...base, state: "pending-approver",
                     approvals: [{ role: "manager", user: "carol", at: base.created_at, comment: "" }] };
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
check(same(logic.offeredActions(base, mona), ["approve", "deny"]), "a manager approves at pending-manager");
{
    const levels = ["user", "dbadmin", "admin"];
    check(same(logic.lowerableLevels(levels, { access: "admin" }), levels), "admin may be lowered to any level");
    check(same(logic.lowerableLevels(levels, { access: "dbadmin" }), ["user", "dbadmin"]),
          "dbadmin may be lowered, never raised to admin");
    check(same(logic.lowerableLevels(levels, { access: "" }), ["user"]), "a request without a level is at the first");
    check(same(logic.lowerableLevels(levels, { access: "root" }), []), "a level the policy lacks offers nothing");
    check(same(logic.lowerableLevels([], { access: "admin" }), []), "no levels known: nothing offered");
}
check(same(logic.offeredActions(base, alex), []), "an approver gets nothing at pending-manager");
check(same(logic.offeredActions(base, olga), []), "a person with no role gets nothing");
check(same(logic.offeredActions(base, sam), ["deny"]), "the creator may not approve (separation of duties)");
check(same(logic.offeredActions({ ...base, engineer: "mona" }, mona), ["deny"]),
      "the engineer may not approve their own request");
check(same(logic.offeredActions(atApprover, alex), ["approve", "deny"]), "an approver approves at pending-approver");
check(same(logic.offeredActions(atApprover, mona), []), "a manager gets nothing at pending-approver");
check(same(logic.offeredActions(atApprover, carol), ["deny"]),
      "who approved as manager may not approve as approver");
check(same(logic.offeredActions({ ...base, state: "active" }, alex), ["revoke"]), "an approver revokes a grant");
check(same(logic.offeredActions({ ...base, state: "active" }, mona), []), "a manager may not revoke");
check(same(logic.offeredActions({ ...base, state: "denied" }, carol), []), "nothing on a closed request");
check(same(logic.offeredActions(base, { user: "root", roles: ["root"] }), ["approve", "deny"]), "root may act");

const later = { ...base, id: "r2", pending_until: "2026-12-04T09:00:00Z" };
const sooner = { ...base, id: "r3", pending_until: "2026-12-04T01:00:00Z" };
check(same(logic.waitingFor([later, atApprover, sooner], mona).map(r => r.id), ["r3", "r2"]),
      "waiting list: what the caller may approve, the soonest to expire first");
check(logic.waitingFor([base], olga).length === 0, "nothing waits for a person with no role");

// -- filters and grants
const list = [base, { ...base, id: "x", engineer: "mallory", ticket: "CHG-77", state: "denied" }];
check(same(logic.filterRequests(list, { state: "denied" }).map(r => r.id), ["x"]), "filter by state");
check(same(logic.filterRequests(list, { engineer: "MALL" }).map(r => r.id), ["x"]), "filter by engineer");
check(same(logic.filterRequests(list, { ticket: "inc-" }).map(r => r.id), ["r1"]), "filter by ticket");
check(logic.filterRequests(list, {}).length === 2, "no filter keeps everything");
const grants = logic.grantsOf([
    { ...base, id: "done", state: "completed", exp: "2026-12-03T18:00:00Z", updated_at: "2026-12-03T17:00:00Z" },
    { ...base, id: "late", state: "active", exp: "2026-12-03T23:00:00Z" },
    { ...base, id: "soon", state: "approved", exp: "2026-12-03T21:00:00Z" },
    base,
]);
check(same(grants.map(r => r.id), ["soon", "late", "done"]), "grants: valid ones by end, then ended ones");

// -- history rows keep what a sender wrote as data, oldest first
const rows = logic.historyRows([
    { timestamp: "2026-12-03T19:05:00Z", timestamp_usec: 2, LOCKBOX_EVENT: "manager-approved", LOCKBOX_ACTOR: "mona",
      LOCKBOX_COMMENT: "<b>ok</b>", LOCKBOX_DURATION: "3600" },
    { timestamp: "2026-12-03T19:00:00Z", timestamp_usec: 1, LOCKBOX_EVENT: "request-created", LOCKBOX_ACTOR: "sam",
      LOCKBOX_REASON: "<img src=x onerror=alert(1)>" },
]);
check(same(rows.map(r => [r.event, r.actor]), [["request-created", "sam"], ["manager-approved", "mona"]]),
      "history rows oldest first with the real actor");
check(rows[0].details === "reason: <img src=x onerror=alert(1)>", "a reason is kept verbatim as data");
check(rows[1].details === "comment: <b>ok</b>; duration 1h", "comment and duration in the details");

console.log(`lockbox_logic: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
