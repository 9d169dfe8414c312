"""Writes one audit record to journald through send_audit_record (the AuditRecord
the daemons use), for tests that read the trail back with `lockboxctl audit`."""
import subprocess


def send_audit(sender, ident, host, event, actor, request=None, engineer=None, ticket="INC-7", fields=(),
               message=None, user=None, tenant="contoso"):
    """sender: the send_audit_record binary; ident: SYSLOG_IDENTIFIER; request,
    tenant, ticket, engineer: the request fields; fields: "NAME=value" strings;
    user: a uid to send as (journald's trusted _UID), default the caller."""
    argv = [sender, ident, host, event, actor]
    if request:
        argv += [request, tenant, ticket, engineer]
    for f in fields:
        argv += ["--field", f]
    if message:
        argv += ["--message", message]
    if user:
        argv = ["setpriv", "--reuid", user, "--regid", user, "--clear-groups"] + argv
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"send {event} failed: {r.stderr}")
