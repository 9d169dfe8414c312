"""The deployment and the people of the end-to-end test and of tools/demo.

deploy() installs the built tree into an E2ESandbox and starts it the way an
admin would run Lockbox on one host that is both the approval host and a tenant
host: journald, the system bus with the installed policy, lockbox-approvald,
lockboxd, and sshd with the pam_lockbox lines and AuthorizedKeysCommand.

The people (docs/design.md §6): sam and mona are the provider's support managers (sam
files requests on behalf of engineers, mona approves the first stage), alex is
the customer's approver, eve is the engineer, who has no local account.
"""
import json
import os
import subprocess

import lockbox_e2e as e2e
import lockbox_fixture as lf

TENANT = "contoso"
HOST = "db01"
ENGINEER = "eve"
CREATOR = "sam"
MANAGER = "mona"
APPROVER = "alex"
OUTSIDER = "olga"     # a local user in no lockbox group

GROUPS = {"lockbox-engineers": 2950, "lockbox-managers": 2951, "lockbox-approvers": 2952}


def ensure_group(sb, name, gid):
    r = subprocess.run(["getent", "group", name], capture_output=True, text=True)
    if r.returncode != 0:
        sb.add_group(name, gid)


def deploy(sb, policy=None, accounts=None, narrate=lambda *a: None):
    """Installs and starts everything; returns the config dict written."""
    narrate("Installing the built tree into the sandbox (meson install)")
    sb.install()
    sb.start_journald()
    for name, gid in GROUPS.items():
        ensure_group(sb, name, gid)
    sb.add_user(CREATOR, 2801, groups=["lockbox-managers"])
    sb.add_user(MANAGER, 2802, groups=["lockbox-managers"])
    sb.add_user(APPROVER, 2803, groups=["lockbox-approvers"])
    sb.add_user(OUTSIDER, 2804)
    if subprocess.run(["getent", "passwd", "lockbox-authkeys"], capture_output=True).returncode != 0:
        raise RuntimeError("sysusers did not create lockbox-authkeys (sshd's AuthorizedKeysCommandUser)")

    narrate("Generating the approval service's Ed25519 signing key")
    kid = sb.generate_signing_key()
    config = {
        "Host": {"Tenant": TENANT, "Name": HOST},
        "Policy": {"MaxGrant": "4h", "PendingTimeout": "12h", "ClockSkew": "2s", "KillGrace": "1s",
                   "WarnBefore": "5s"},
        "Accounts": {"Record": "no"},
        "Notify": {"Command": "/bin/true"},
    }
    for section, values in (policy or {}).items():
        config.setdefault(section, {}).update(values)
    for section, values in (accounts or {}).items():
        config.setdefault(section, {}).update(values)
    sb.write_system_config(config)

    narrate("Starting the system bus, lockbox-approvald and lockboxd")
    sb.start_system_bus()
    sb.start_lockbox_daemon("/usr/sbin/lockbox-approvald", "org.lockbox.Approval1")
    sb.start_lockbox_daemon("/usr/sbin/lockboxd", "org.lockbox.Enforcer1")
    narrate("Adding pam_lockbox to Debian's stock sshd stack and lockbox to nsswitch.conf; starting sshd")
    sb.configure_login_stack()
    sb.start_sshd()
    return {"kid": kid, "config": config}


def ctl(sb, args, user=None, timeout=30):
    """lockboxctl as installed, as the given local user."""
    argv = sb._as_user(["lockboxctl"] + list(args), user)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def ctl_json(sb, args, user=None):
    r = ctl(sb, list(args) + ["--json"], user=user)
    if r.returncode != 0:
        raise AssertionError(f"lockboxctl {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return json.loads(r.stdout)


def create_request(sb, ssh_key_file, duration="20s", ticket="INC-1001", reason="disk full on db01",
                   host=HOST, engineer=ENGINEER, user=CREATOR, access=None):
    r = ctl(sb, ["request", "create", "--tenant", TENANT, "--ticket", ticket, "--host", host,
                 "--duration", duration, "--reason", reason, "--ssh-key", ssh_key_file,
                 "--engineer", engineer] + (["--access", access] if access else []), user=user)
    return r


def request_state(sb, request_id):
    return ctl_json(sb, ["request", "show", request_id], user="root")["state"]


def engineer_uid():
    line = e2e.getent("passwd", ENGINEER)
    return int(line.split(":")[2]) if line else None


def read_system_config(path="/etc/lockbox/lockbox.conf"):
    """The sections of a lockbox.conf as dicts (only what write_system_config writes)."""
    sections = {}
    current = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                current = sections.setdefault(line.strip("[]"), {})
            elif "=" in line and current is not None:
                key, value = line.split("=", 1)
                current[key.strip()] = value.strip()
    return sections
