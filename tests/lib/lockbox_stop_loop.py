"""The stop loop of issue 17, item 2, as an engineer runs it over ssh: a program
left behind with setsid/nohup that loops kill(-1, SIGSTOP), with SIGTERM and
SIGHUP ignored, so every other process of the engineer's uid stays stopped.
Used by tests/e2e/test_attack_stop_loop.py and bench/bench_e2e.py."""
import lockbox_e2e as e2e

# Runs as the engineer. The sleep lets the ssh command that started it return
# before the loop stops the session's own processes.
STOP_LOOP = """\
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
time.sleep(1)
while True:
    try:
        os.kill(-1, signal.SIGSTOP)
    except OSError:
        pass
"""


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def write(sb, user, key):
    """Puts the loop in the engineer's home as stoploop.py."""
    r = sb.ssh(user, key, "cat > stoploop.py", input=STOP_LOOP)
    if r.returncode != 0:
        raise AssertionError(f"writing the stop loop: {r.returncode} {r.stderr}")


def wait_running(uid, timeout=15):
    """Returns once the loop runs and has stopped another process of uid."""
    e2e.wait_for(lambda: any(b"stoploop.py" in _cmdline(p) for p in e2e.processes_of_uid(uid)), timeout,
                 "the stop loop runs")
    e2e.wait_for(lambda: any(_state(p) == "T" for p in e2e.processes_of_uid(uid)), timeout,
                 "a process of the engineer stopped by the loop")


def start(sb, user, key, uid, timeout=15):
    """Logs in as user and leaves the loop running behind (setsid/nohup)."""
    write(sb, user, key)
    r = sb.ssh(user, key, "setsid nohup python3 stoploop.py >/dev/null 2>&1 </dev/null & echo started")
    if r.returncode != 0 or "started" not in r.stdout:
        raise AssertionError(f"starting the stop loop: {r.returncode} {r.stderr}")
    wait_running(uid, timeout)
