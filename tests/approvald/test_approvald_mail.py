#!/usr/bin/env python3
"""Notifications end to end: lockbox-approvald hands its mail to msmtp (an
SMTP-submitting sendmail that works under NoNewPrivileges), msmtp delivers to a
real SMTP server (python3-aiosmtpd) on loopback inside the test's network
namespace, and the messages that arrive carry what the approvers and the
engineer need. A failing mail command is audited and loses no state change."""
import mailbox
import os
import socket
import sys

import lockbox_fixture as lf
import approvald_world as w

PORT = 8025


def start_smtp(sb):
    maildir = os.path.join(sb.dir, "maildir")
    log = open(os.path.join(sb.dir, "smtpd.log"), "wb")
    sb.spawn(["/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{PORT}",
              "-c", "aiosmtpd.handlers.Mailbox", maildir], stdout=log, stderr=log)
    log.close()

    def accepting():
        try:
            with socket.create_connection(("127.0.0.1", PORT), timeout=1):
                return True
        except OSError:
            return False
    lf.wait_until(accepting, 15, interval=0.1, what="the SMTP server")
    return maildir


def messages(maildir):
    if not os.path.isdir(os.path.join(maildir, "new")):
        return []
    return list(mailbox.Maildir(maildir, create=False))


def wait_for_mail(maildir, n):
    lf.wait_until(lambda: len(messages(maildir)) >= n, 20, interval=0.1, what=f"{n} mails")
    return messages(maildir)


def body(msg):
    return msg.get_payload(decode=True).decode("utf-8")


def main():
    lf.enter_namespace()
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        print("python3-aiosmtpd is not installed; skipping", file=sys.stderr)
        return 77
    if not os.path.exists("/usr/bin/msmtp"):
        print("msmtp is not installed; skipping", file=sys.stderr)
        return 77
    with lf.Sandbox() as sb:
        maildir = start_smtp(sb)
        notify = {"Notify": {
            "Command": f"/usr/bin/msmtp --host=127.0.0.1 --port={PORT} --from=lockbox@contoso.example -t",
            "Approvers": "ciso@contoso.example ops@contoso.example",
            "MailDomain": "provider.example"}}
        keys = w.setup(sb, notify)
        d = w.start(sb)

        rid = w.create(sb, keys, user="eve")
        assert messages(maildir) == [], "mail before anyone approved"
        sb.ctl(["request", "approve", rid, "--comment", "ok"], user="alice", check=True)
        got = wait_for_mail(maildir, 1)
        m = got[0]
        assert "ciso@contoso.example" in m["To"] and "ops@contoso.example" in m["To"], m["To"]
        assert "INC-4711" in m["Subject"] and "contoso" in m["Subject"], m["Subject"]
        text = body(m)
        for needle in ["Tenant:    contoso", "Ticket:    INC-4711", "Engineer:  eve", "Hosts:     db01, db02",
                       "Duration:  2h", "Reason:    disk full on db01", f"lockboxctl request approve {rid}",
                       f"lockboxctl request deny {rid}", "approved by alice"]:
            assert needle in text, f"approver mail lacks {needle!r}:\n{text}"
        sent = w.wait_for_event(sb, rid, "notification-sent")
        assert sent[0]["LOCKBOX_NOTIFICATION"] == "pending-approver", sent[0]

        sb.ctl(["request", "approve", rid, "--duration", "1h"], user="bob", check=True)
        got = wait_for_mail(maildir, 2)
        to_eve = [x for x in got if x["To"] == "eve@provider.example"]
        assert len(to_eve) == 1, [x["To"] for x in got]
        assert "approved" in to_eve[0]["Subject"], to_eve[0]["Subject"]
        assert "Access is valid from" in body(to_eve[0])

        # Denial reaches the engineer too.
        rid2 = w.create(sb, keys, user="eve")
        sb.ctl(["request", "deny", rid2, "--reason", "not during the freeze"], user="alice", check=True)
        got = wait_for_mail(maildir, 3)
        denied = [x for x in got if x["X-Lockbox-Request"] == rid2]
        assert len(denied) == 1 and "denied" in denied[0]["Subject"]
        assert "not during the freeze" in body(denied[0])

        # A broken mail command: the approval still happens, the failure is audited.
        sb.stop_daemon(d)
        notify["Notify"]["Command"] = "/bin/false"
        notify["Policy"] = {"MaxGrant": "4h"}
        sb.write_config(notify)
        d = w.start(sb)
        rid3 = w.create(sb, keys, user="eve")
        r = sb.ctl(["request", "approve", rid3], user="alice", check=True)
        assert r.stdout.strip() == "pending-approver"
        failed = w.wait_for_event(sb, rid3, "notification-failed")
        assert "exit status 1" in failed[0]["LOCKBOX_REASON"], failed[0]
        assert w.show(sb, rid3)["state"] == "pending-approver"
        sb.stop_daemon(d)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
