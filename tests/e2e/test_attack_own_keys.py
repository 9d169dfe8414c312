#!/usr/bin/env python3
"""Attack: the engineer's own key files and sshd's ways around the recorded shell.

The engineer owns their home. Logged in under a grant, they write
~/.ssh/authorized_keys with their grant key and a second key of their own (no
`restrict`) and a ~/.ssh/rc, then log in again and try local, remote and
dynamic port forwarding and sftp. With the shipped sshd drop-in (which the
sandbox runs unchanged) none of it works: the second key is refused, forwards
are refused, ~/.ssh/rc does not run and sftp is refused; ordinary commands and
a login shell still work."""
import os
import socket
import subprocess
import sys

import lockbox_e2e as e2e
import lockbox_fixture as lf
import lockbox_scenario as sc

FORWARD_PORT = 2298


def local_forward_carries_traffic(sb, key, flag, spec):
    """Connects through a client-side listener (-L or -D) and reports whether
    sshd's banner came back through it."""
    fwd = sb.ssh_spawn(sc.ENGINEER, key, "sleep 60", extra=(flag, spec),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        e2e.wait_for(lambda: sb._port_open(FORWARD_PORT) or fwd.poll() is not None, 20,
                     f"{flag} listener")
        if fwd.poll() is not None:
            return False
        s = socket.create_connection(("127.0.0.1", FORWARD_PORT), timeout=10)
        s.settimeout(10)
        try:
            if flag == "-D":  # SOCKS4 CONNECT to 127.0.0.1:2222
                s.sendall(bytes([4, 1]) + e2e.SSH_PORT.to_bytes(2, "big") + bytes([127, 0, 0, 1]) + b"x\0")
                reply = s.recv(8)
                if len(reply) < 2 or reply[1] != 0x5a:
                    return False
            data = s.recv(64)
        except (ConnectionResetError, socket.timeout):
            data = b""
        finally:
            s.close()
        return data.startswith(b"SSH-")
    finally:
        fwd.kill()
        fwd.wait(timeout=10)


def main():
    lf.enter_namespace()
    with e2e.E2ESandbox() as sb:
        sc.deploy(sb)
        key = sb.make_ssh_key("eve")
        own_key = sb.make_ssh_key("eve-own")
        r = sc.create_request(sb, key + ".pub", duration="10m", ticket="INC-5005")
        assert r.returncode == 0, r.stderr
        rid = r.stdout.strip()
        for who in (sc.MANAGER, sc.APPROVER):
            r = sc.ctl(sb, ["request", "approve", rid], user=who)
            assert r.returncode == 0, r.stderr
        e2e.wait_for(lambda: e2e.getent("passwd", sc.ENGINEER) is not None, 10, "engineer resolves")

        # The engineer plants their own key files, as they may: the home is theirs.
        with open(key + ".pub") as f:
            grant_pub = f.read().strip()
        with open(own_key + ".pub") as f:
            own_pub = f.read().strip()
        planted = f"{grant_pub}\n{own_pub}\n"
        r = sb.ssh(sc.ENGINEER, key, "umask 077 && mkdir -p ~/.ssh && cat > ~/.ssh/authorized_keys && "
                   "printf 'touch ~/rc-ran\\n' > ~/.ssh/rc && ls -la ~/.ssh", input=planted)
        assert r.returncode == 0, f"planting key files: {r.returncode} {r.stdout} {r.stderr}"
        home = e2e.getent("passwd", sc.ENGINEER).split(":")[5]
        assert os.path.exists(os.path.join(home, ".ssh", "rc")), "~/.ssh/rc was not written"

        # 1. A key the grant does not name opens nothing.
        r = sb.ssh(sc.ENGINEER, own_key, "echo own-key-in")
        assert r.returncode == 255 and "own-key-in" not in r.stdout, \
            f"engineer's own authorized_keys admitted a key outside the grant: {r.returncode} {r.stdout}"

        # 2. A new login with the grant key does not run ~/.ssh/rc.
        r = sb.ssh(sc.ENGINEER, key, "id -Gn; echo $((6 * 7)); exit 3")
        assert r.returncode == 3, f"commands must keep their exit status: {r.returncode} {r.stderr}"
        assert "42" in r.stdout.split(), r.stdout
        assert "lockbox-grantees" in r.stdout.split(), f"engineer not in lockbox-grantees: {r.stdout}"
        assert not os.path.exists(os.path.join(home, "rc-ran")), "~/.ssh/rc ran at login"

        # 3. Forwarding of every kind is refused.
        assert not local_forward_carries_traffic(sb, key, "-L", f"127.0.0.1:{FORWARD_PORT}:127.0.0.1:{e2e.SSH_PORT}"), \
            "ssh -L through an engineer session carried traffic"
        assert not local_forward_carries_traffic(sb, key, "-D", f"127.0.0.1:{FORWARD_PORT}"), \
            "ssh -D through an engineer session carried traffic"
        r = sb.ssh(sc.ENGINEER, key, "", extra=("-W", f"127.0.0.1:{e2e.SSH_PORT}"), input="")
        assert not r.stdout.startswith("SSH-"), "ssh -W through an engineer session carried traffic"
        try:
            r = sb.ssh(sc.ENGINEER, key, "true", extra=("-o", "ExitOnForwardFailure=yes",
                                                        "-R", f"127.0.0.1:{FORWARD_PORT}:127.0.0.1:{e2e.SSH_PORT}"))
            refused = r.returncode == 255 and "forwarding failed" in r.stderr
            detail = f"{r.returncode} {r.stderr}"
        except subprocess.TimeoutExpired:
            refused, detail = False, "the forward held the connection open"
        assert refused, f"ssh -R through an engineer session was accepted: {detail}"

        # 4. sftp is refused, through the subsystem and as a named server.
        refused = 0
        for extra in ((), ("-s", "/usr/lib/openssh/sftp-server")):
            argv = ["sftp", "-b", "-", "-i", key, "-P", str(e2e.SSH_PORT), "-o", "BatchMode=yes",
                    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                    *extra, f"{sc.ENGINEER}@127.0.0.1"]
            r = subprocess.run(argv, input="ls\n", capture_output=True, text=True, timeout=60)
            assert r.returncode != 0, f"sftp {' '.join(extra)} worked for an engineer: {r.stdout} {r.stderr}"
            # sshd drops a subsystem's stderr: the drop-in's refusal is in the journal.
            refusals = sb.journal(match={"SYSLOG_IDENTIFIER": "lockbox-sshd"}, expect=refused + 1, timeout=15)
            assert f"sftp refused for {sc.ENGINEER}" in refusals[-1].get("MESSAGE", ""), refusals
            refused += 1

        # 5. A login shell (no command) still works.
        r = sb.ssh(sc.ENGINEER, key, "", input="echo shell-$((1 + 1))\n")
        assert r.returncode == 0 and "shell-2" in r.stdout, f"login shell: {r.returncode} {r.stdout} {r.stderr}"
        assert not os.path.exists(os.path.join(home, "rc-ran")), "~/.ssh/rc ran at login"
        print("own key refused; -L, -D, -W, -R refused; ~/.ssh/rc not run; sftp refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
