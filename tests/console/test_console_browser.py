#!/usr/bin/env python3
"""The approvers' console in a real browser (issue 13): people log in through
Cockpit's login form with real passwords and act in the Lockbox page; the
service's state (lockboxctl) and the audit trail must name the person who clicked.

- olga (no role) has nothing to approve; alex (approver) has no Approve button
  while the request waits for a manager.
- What the requester wrote (an <img onerror> and a <script> in the reason, markup
  in the ticket) is shown as text and never becomes an element.
- mona (manager) approves with the keyboard alone; alex then sees it waiting for
  him, with mona's comment and the history with its real actors, and a request
  filed and approved elsewhere appears without a reload (the Approval1 signals).
- A refusal that comes anyway (the request was cancelled while alex's dialog was
  open) is shown as the service worded it.
- alex approves with a shorter duration, then revokes the grant with a reason.
- Filters narrow the list; Escape closes a dialog; Cockpit's shell links the page.
- At phone width nothing scrolls sideways and the details stay reachable.

With LOCKBOX_SCREENSHOT_DIR set, saves the screenshots docs/images/ holds.
"""
import json
import subprocess
import sys
import time

import lockbox_console as lc
import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc

PASSWORD = "correct horse battery staple"
XSS_REASON = ('db01 disk full <img src=x onerror="window.lockboxPwned=1">'
              '<script>window.lockboxPwned=2</script>')
XSS_TICKET = "INC-7<b>bold</b>"


def actions_offered(b, list_id, rid):
    return sorted(e.get_attribute("data-action")
                  for e in b.css(f'#{list_id} li[data-request="{rid}"] button[data-action]'))


def in_list(b, list_id, rid):
    return bool(b.css(f'#{list_id} li[data-request="{rid}"]'))


def audit(sb, rid):
    r = sc.ctl(sb, ["audit", "--request", rid, "--json"], user="root")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def actor_of(sb, rid, event):
    """Who the approval service's records of event name (lockboxd's own record
    of a revocation names the service that told it, not a person)."""
    def records():
        return [e for e in audit(sb, rid)
                if e.get("LOCKBOX_EVENT") == event and e.get("SYSLOG_IDENTIFIER") == "lockbox-approvald"]
    lf.wait_until(lambda: records(), 10, interval=0.1, what=f"{event} in the audit of {rid}")
    return [e["LOCKBOX_ACTOR"] for e in records()]


def assert_markup_inert(b):
    """No element came from requester text, and nothing of it ran."""
    assert not b.css('img[src="x"]') and not b.css("b"), "requester text became markup"
    scripts = [s.get_attribute("src") or "" for s in b.css("script")]
    assert all(src for src in scripts), f"an inline script appeared: {scripts}"
    assert b.driver.execute_script("return window.lockboxPwned === undefined"), "requester text ran as script"


def confirm_dialog(b, rid, action):
    return b.one(f'dialog#confirm[open][data-request="{rid}"][data-action="{action}"]', f"{action} dialog")


def lc_keys():
    """Selenium's key names (imported late: the test skips without Selenium)."""
    from selenium.webdriver.common.keys import Keys
    return Keys


def main():
    lf.enter_namespace()
    missing = lc.missing_tools()
    if missing:
        lf.log(f"skipping: the console test needs {', '.join(missing)} (tools/deps.sh installs them)")
        sys.exit(lf.SKIP)
    started = time.monotonic()
    with e2e.E2ESandbox() as sb:
        sc.deploy(sb, policy={"Access": {"Levels": "user,dbadmin,admin"}})
        for user in (sc.MANAGER, sc.APPROVER, sc.OUTSIDER):
            lc.set_password(user, PASSWORD)
        # Audit readers, as the operator guide says: the History reads the journal.
        for user in (sc.MANAGER, sc.APPROVER):
            sb._add_member("systemd-journal", user)
        lc.open_journal_to_readers()
        key = sb.make_ssh_key("eve")
        fingerprint = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", key + ".pub"],
                                         capture_output=True, text=True, check=True).stdout.split()[1]
        r = sc.create_request(sb, key + ".pub", duration="2h", ticket=XSS_TICKET, reason=XSS_REASON,
                              access="admin")
        assert r.returncode == 0, r.stderr
        rid = r.stdout.strip()
        lc.start_cockpit_ws(sb)
        lf.log(f"sandbox ready after {time.monotonic() - started:.1f}s")

        with lc.Browser(sb) as b:
            # -- a person with no role: nothing to approve
            b.login(sc.OUTSIDER, PASSWORD)
            assert b.shell_links_page()
            b.open_page()
            assert "no Lockbox role" in b.one("#whoami").text, b.one("#whoami").text
            assert not b.css("button[data-action=approve]"), "olga is offered an approval"
            assert not b.css("#waiting li"), "something waits for olga"

            # -- the approver at the manager stage: sees it, may not act on it
            b.login(sc.APPROVER, PASSWORD)
            b.wait(lambda: in_list(b, "all-requests", rid), "the request in alex's list")
            assert not in_list(b, "waiting", rid), "a request at pending-manager waits for the approver"
            assert actions_offered(b, "all-requests", rid) == ["details"], actions_offered(b, "all-requests", rid)

            # -- the manager approves with the keyboard alone
            b.login(sc.MANAGER, PASSWORD)
            b.wait(lambda: in_list(b, "waiting", rid), "the request waiting for mona")
            item = b.one(f'#waiting li[data-request="{rid}"]')
            assert XSS_REASON in item.text and XSS_TICKET in item.text, item.text
            assert_markup_inert(b)
            b.screenshot("console-requests.png")
            approve = b.one(f'#waiting button[data-request="{rid}"][data-action="approve"]')
            approve.send_keys(lc_keys().ENTER)
            dialog = confirm_dialog(b, rid, "approve")
            summary = b.one("#confirm-summary").text
            for needed in (sc.TENANT, sc.ENGINEER, sc.HOST, XSS_REASON, XSS_TICKET, fingerprint, "ssh-ed25519",
                           "2h", sc.CREATOR):
                assert needed in summary, f"the confirmation does not repeat {needed!r}: {summary}"
            assert_markup_inert(b)
            b.screenshot("console-confirm.png")
            focused = b.driver.switch_to.active_element
            assert focused.get_attribute("id") == "confirm-duration", "the dialog's first field has no focus"
            focused.send_keys(lc_keys().TAB)  # to the access level, kept as asked
            assert b.driver.switch_to.active_element.get_attribute("id") == "confirm-access"
            b.driver.switch_to.active_element.send_keys(lc_keys().TAB)
            b.driver.switch_to.active_element.send_keys("ticket checked, go ahead")
            b.driver.switch_to.active_element.send_keys(lc_keys().TAB, lc_keys().ENTER)
            b.wait(lambda: not dialog.get_attribute("open"), "the dialog closing")
            lf.wait_until(lambda: sc.request_state(sb, rid) == "pending-approver", 10, what="pending-approver")
            assert actor_of(sb, rid, "manager-approved") == [sc.MANAGER]

            # -- the approver: waiting for him now, with mona's comment and the history
            b.login(sc.APPROVER, PASSWORD)
            b.wait(lambda: in_list(b, "waiting", rid), "the request waiting for alex")
            b.click(f'#waiting button[data-request="{rid}"][data-action="details"]')
            b.wait(lambda: b.css(f'#details[data-request="{rid}"]') and b.css("#history tr[data-event]"),
                   "details with history")
            manager = b.one('#details-fields [data-field="manager-approval"]').text
            assert manager.startswith(sc.MANAGER) and "ticket checked, go ahead" in manager, manager
            b.wait(lambda: len(b.css("#history tr[data-event]")) >= 2, "two history rows")
            steps = [tuple(s) for s in b.driver.execute_script(
                "return [...document.querySelectorAll('#history tr[data-event]')]"
                ".map(tr => [tr.cells[1].textContent, tr.cells[2].textContent])")]
            assert ("request-created", sc.CREATOR) in steps and ("manager-approved", sc.MANAGER) in steps, steps
            assert_markup_inert(b)
            b.driver.execute_script("document.getElementById('details').scrollIntoView({block: 'start'})")
            b.screenshot("console-details.png")

            # -- live: filed and approved elsewhere, it appears without a reload
            marker = b.driver.execute_script("window.lockboxNoReload = 1; return 1")
            b.one(f'#waiting button[data-request="{rid}"][data-action="approve"]').send_keys("")  # focus
            r = sc.create_request(sb, key + ".pub", duration="1h", ticket="INC-LIVE", reason="live update")
            assert r.returncode == 0, r.stderr
            rid2 = r.stdout.strip()
            b.wait(lambda: in_list(b, "all-requests", rid2), "the new request without a reload")
            focused = b.driver.switch_to.active_element
            assert (focused.get_attribute("data-request"), focused.get_attribute("data-action")) == (rid, "approve"), \
                "a live update took the keyboard focus away"
            assert sc.ctl(sb, ["request", "approve", rid2], user=sc.MANAGER).returncode == 0
            b.wait(lambda: in_list(b, "waiting", rid2), "the approved request waiting for alex")
            assert b.driver.execute_script("return window.lockboxNoReload") == marker, "the page reloaded"
            b.one("#filter-ticket").send_keys("live")
            b.wait(lambda: not in_list(b, "all-requests", rid), "the ticket filter")
            assert in_list(b, "all-requests", rid2), "the ticket filter hides the matching request"
            b.one("#filter-ticket").send_keys(lc_keys().BACKSPACE * len("live"))  # clear() fires no input event
            b.wait(lambda: in_list(b, "all-requests", rid), "the list without filter")

            # -- a refusal that comes anyway is shown verbatim
            b.click(f'#waiting button[data-request="{rid2}"][data-action="deny"]')
            confirm_dialog(b, rid2, "deny")
            b.one("#confirm-reason").send_keys("not this week")
            assert sc.ctl(sb, ["request", "cancel", rid2], user=sc.CREATOR).returncode == 0
            b.click("#confirm-ok")
            expected = f"request {rid2} is cancelled; cannot deny"
            b.wait(lambda: expected in b.one("#confirm-error-text").text, "the service's refusal")
            assert b.one("#confirm-error-text").text == expected, b.one("#confirm-error-text").text
            b.one("#confirm-reason").send_keys(lc_keys().ESCAPE)  # the keyboard closes the dialog
            b.wait(lambda: not b.css("dialog#confirm[open]"), "Escape closing the dialog")

            # -- the approver approves, shortening to 1h
            b.click(f'#waiting button[data-request="{rid}"][data-action="approve"]')
            confirm_dialog(b, rid, "approve")
            b.one("#confirm-duration").send_keys("1h")
            # The level asked for is preselected; higher ones are not offered.
            levels = [o.get_attribute("value") for o in b.css("#confirm-access option")]
            assert levels == ["user", "dbadmin", "admin"], levels
            assert b.one("#confirm-access").get_attribute("value") == "admin"
            b.one("#confirm-access").send_keys("DBADMIN")  # the keyboard picks an option by its text
            b.one("#confirm-comment").send_keys("approved for one hour")
            b.click("#confirm-ok")
            lf.wait_until(lambda: sc.request_state(sb, rid) in ("approved", "active"), 10, what="approved")
            shown = sc.ctl_json(sb, ["request", "show", rid], user="root")
            assert shown["duration"] == 3600, shown
            assert shown["access"] == "dbadmin" and shown["requested_access"] == "admin", shown
            assert [(a["role"], a["user"]) for a in shown["approvals"]] == [("manager", sc.MANAGER),
                                                                            ("approver", sc.APPROVER)], shown
            assert actor_of(sb, rid, "approver-approved") == [sc.APPROVER]
            assert actor_of(sb, rid, "grant-issued") == [sc.APPROVER]

            # -- grants: time left, revoke with a reason
            b.click("#tab-grants")
            b.wait(lambda: in_list(b, "grants", rid), "the grant in the grants view")
            assert "left of access" in b.one(f'#grants li[data-request="{rid}"]').text
            b.click(f'#grants button[data-request="{rid}"][data-action="revoke"]')
            confirm_dialog(b, rid, "revoke")
            b.click("#confirm-ok")  # no reason: the form does not submit
            assert b.css("dialog#confirm[open] #confirm-reason:invalid"), "revoke went ahead without a reason"
            b.one("#confirm-reason").send_keys("   ")
            b.click("#confirm-ok")  # blanks are no reason either
            b.wait(lambda: b.one("#confirm-error-text").text == "A reason is required.", "reason required")
            assert sc.request_state(sb, rid) in ("approved", "active"), "revoked without a reason"
            b.one("#confirm-reason").clear()
            b.one("#confirm-reason").send_keys("incident closed")
            b.click("#confirm-ok")
            lf.wait_until(lambda: sc.request_state(sb, rid) == "revoked", 10, what="revoked")
            assert actor_of(sb, rid, "grant-revoked") == [sc.APPROVER]

            # -- phone width: nothing scrolls sideways, actions stay reachable
            b.driver.set_window_size(390, 844)
            b.click("#tab-requests")
            b.wait(lambda: in_list(b, "all-requests", rid), "the list at phone width")
            overflow = b.driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"the page scrolls sideways by {overflow}px at phone width"
            b.click(f'#all-requests button[data-request="{rid}"][data-action="details"]')
            b.wait(lambda: b.css(f'#details[data-request="{rid}"]'), "details at phone width")
            overflow = b.driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"the details scroll sideways by {overflow}px at phone width"
    lf.log(f"console test passed in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
