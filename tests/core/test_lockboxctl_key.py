#!/usr/bin/python3
"""lockboxctl key generate / key id: files, modes, refusals and exit codes."""
import os
import re
import stat
import subprocess
import sys
import tempfile
import unittest

LOCKBOXCTL = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(
    os.environ.get("LOCKBOX_BUILD_ROOT", "."), "lockboxctl", "lockboxctl")
PID = re.compile(r"^k4\.pid\.[A-Za-z0-9_-]{44}$")


def ctl(*args):
    return subprocess.run([LOCKBOXCTL, "--config", "/nonexistent/lockbox.conf", *args],
                          capture_output=True, text=True, timeout=30, check=False)


class KeyVerbs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="lockboxctl-key-")
        self.out = os.path.join(self.tmp.name, "keys")

    def tearDown(self):
        self.tmp.cleanup()

    def test_generate_writes_key_pair_and_prints_kid(self):
        r = ctl("key", "generate", "--out", self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        kid = r.stdout.strip()
        self.assertRegex(kid, PID)
        self.assertEqual(r.stdout, kid + "\n", "stdout carries only the key id")
        self.assertEqual(stat.S_IMODE(os.stat(self.out).st_mode), 0o700)
        secret = os.path.join(self.out, "signing.secret")
        public = os.path.join(self.out, "signing.public")
        self.assertEqual(stat.S_IMODE(os.stat(secret).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(public).st_mode), 0o644)
        with open(public, encoding="ascii") as f:
            self.assertRegex(f.read(), r"^k4\.public\.[A-Za-z0-9_-]{43}\n$")
        with open(secret, encoding="ascii") as f:
            self.assertRegex(f.read(), r"^k4\.secret\.[A-Za-z0-9_-]{86}\n$")
        for path in (public, secret):
            r = ctl("key", "id", path)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), kid)

    def test_generate_refuses_to_overwrite(self):
        self.assertEqual(ctl("key", "generate", "--out", self.out).returncode, 0)
        with open(os.path.join(self.out, "signing.public"), encoding="ascii") as f:
            before = f.read()
        r = ctl("key", "generate", "--out", self.out)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("already exists", r.stderr)
        with open(os.path.join(self.out, "signing.public"), encoding="ascii") as f:
            self.assertEqual(f.read(), before)

    def assert_refused_dir(self, path, reason):
        r = ctl("key", "generate", "--out", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn(reason, r.stderr)
        self.assertFalse(os.path.lexists(os.path.join(path, "signing.secret")), "no key written")
        self.assertFalse(os.path.lexists(os.path.join(path, "signing.public")), "no key written")

    def test_generate_refuses_group_or_world_writable_dir(self):
        for mode in (0o777, 0o1777, 0o770, 0o702):
            os.makedirs(self.out, exist_ok=True)
            os.chmod(self.out, mode)
            with self.subTest(mode=oct(mode)):
                self.assert_refused_dir(self.out, "writable by group or others")

    def test_generate_refuses_dir_of_another_owner(self):
        if os.geteuid() != 0:
            self.skipTest("chown to another uid needs root")
        os.makedirs(self.out, mode=0o700)
        os.chown(self.out, 65534, 65534)
        self.assert_refused_dir(self.out, "owned by uid 65534")

    def test_generate_refuses_symlinked_dir(self):
        target = os.path.join(self.tmp.name, "elsewhere")
        os.makedirs(target, mode=0o700)
        os.symlink(target, self.out)
        r = ctl("key", "generate", "--out", self.out)
        self.assertEqual(r.returncode, 1)
        self.assertIn("symbolic link", r.stderr)
        self.assertEqual(os.listdir(target), [])

    def test_generate_accepts_existing_private_dir(self):
        os.makedirs(self.out, mode=0o755)
        os.chmod(self.out, 0o755)
        r = ctl("key", "generate", "--out", self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.strip(), PID)

    def test_generate_without_out_is_usage_error(self):
        r = ctl("key", "generate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--out", r.stderr)

    def test_key_without_verb_is_usage_error(self):
        self.assertEqual(ctl("key").returncode, 2)

    def test_id_of_missing_file_fails_naming_it(self):
        missing = os.path.join(self.tmp.name, "absent.public")
        r = ctl("key", "id", missing)
        self.assertEqual(r.returncode, 1)
        self.assertIn(missing, r.stderr)

    def test_id_refuses_world_readable_secret(self):
        self.assertEqual(ctl("key", "generate", "--out", self.out).returncode, 0)
        secret = os.path.join(self.out, "signing.secret")
        os.chmod(secret, 0o644)
        r = ctl("key", "id", secret)
        self.assertEqual(r.returncode, 1)
        self.assertIn("readable", r.stderr)

    def test_id_refuses_symlink(self):
        self.assertEqual(ctl("key", "generate", "--out", self.out).returncode, 0)
        link = os.path.join(self.tmp.name, "link.public")
        os.symlink(os.path.join(self.out, "signing.public"), link)
        r = ctl("key", "id", link)
        self.assertEqual(r.returncode, 1)
        self.assertIn("symbolic link", r.stderr)

    def test_help_for_each_verb(self):
        for args in (("key", "--help"), ("key", "generate", "--help"), ("key", "id", "--help")):
            r = ctl(*args)
            self.assertEqual(r.returncode, 0, args)
            self.assertIn("Usage", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
