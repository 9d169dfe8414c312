"""A real etcd v3 cluster for the fleet tests: three members on 127.0.0.1 inside
the test's network namespace, TLS on every client and peer link, client
certificates from a CA made for the tenant, etcd auth as the bootstrap enables it
(docs/fleet.md). Every member is a Sandbox process, so it ends with the test.
"""
import os
import shutil
import subprocess
import time

from lockbox_fixture import log, wait_until

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
ETCDCTL = shutil.which("etcdctl") or "/usr/bin/etcdctl"


def have_etcd():
    return os.access(ETCD, os.X_OK) and os.access(ETCDCTL, os.X_OK)


class TenantCA:
    """An EC P-256 CA and the certificates of the cluster and its clients."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.cert = os.path.join(directory, "ca.crt")
        self._key = os.path.join(directory, "ca.key")
        self._openssl(["req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
                       "ec_paramgen_curve:P-256", "-keyout", self._key, "-out", self.cert,
                       "-days", "2", "-subj", "/CN=lockbox test tenant CA"])

    def _openssl(self, args, input_text=None):
        subprocess.run(["openssl"] + args, check=True, input=input_text, text=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def issue(self, name, server=False, addresses=("127.0.0.1",)):
        """Returns (cert, key) paths for CN=name; etcd takes a client's CN as its user.
        A server certificate names every address clients dial (addresses)."""
        key = os.path.join(self.dir, f"{name}.key")
        csr = os.path.join(self.dir, f"{name}.csr")
        cert = os.path.join(self.dir, f"{name}.crt")
        ext = os.path.join(self.dir, f"{name}.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
            if server:
                f.write("subjectAltName=" + ",".join(f"IP:{a}" for a in addresses) + ",DNS:localhost\n")
                f.write("extendedKeyUsage=serverAuth,clientAuth\n")
            else:
                f.write("extendedKeyUsage=clientAuth\n")
        self._openssl(["req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                       "-keyout", key, "-out", csr, "-subj", f"/CN={name}"])
        self._openssl(["x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self._key,
                       "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext])
        os.chmod(key, 0o600)
        return cert, key


class EtcdCluster:
    """Three members; client ports 23791..3, peer ports 23801..3.

    extra_addresses: addresses of this namespace that other network namespaces
    dial (tests/lib/lockbox_fleet_hosts.py gives each tenant host a veth whose
    near end has one). The members then take clients on every address, and
    their certificate names these too."""

    def __init__(self, sandbox, members=3, extra_addresses=()):
        self.sandbox = sandbox
        self.dir = os.path.join(sandbox.dir, "etcd")
        os.makedirs(self.dir, exist_ok=True)
        self.ca = TenantCA(os.path.join(self.dir, "pki"))
        self.listen_address = "0.0.0.0" if extra_addresses else "127.0.0.1"
        self.server_cert, self.server_key = self.ca.issue(
            "etcd-member", server=True, addresses=("127.0.0.1",) + tuple(extra_addresses))
        self.names = [f"m{i + 1}" for i in range(members)]
        self.client_ports = {n: 23791 + i for i, n in enumerate(self.names)}
        self.peer_ports = {n: 23801 + i for i, n in enumerate(self.names)}
        self.procs = {}
        self.identities = {}

    @property
    def endpoints(self):
        return self.endpoints_at("127.0.0.1")

    def endpoints_at(self, address):
        """The client URLs as a client dials them at address (one of extra_addresses)."""
        return [f"https://{address}:{self.client_ports[n]}" for n in self.names]

    def identity(self, name):
        """(cert, key) for the client whose etcd user is name."""
        if name not in self.identities:
            self.identities[name] = self.ca.issue(name)
        return self.identities[name]

    def _argv(self, name):
        cluster = ",".join(f"{n}=https://127.0.0.1:{self.peer_ports[n]}" for n in self.names)
        tls = ["--cert-file", self.server_cert, "--key-file", self.server_key,
               "--trusted-ca-file", self.ca.cert, "--client-cert-auth",
               "--peer-cert-file", self.server_cert, "--peer-key-file", self.server_key,
               "--peer-trusted-ca-file", self.ca.cert, "--peer-client-cert-auth"]
        return [ETCD, "--name", name, "--data-dir", os.path.join(self.dir, name),
                "--listen-client-urls", f"https://{self.listen_address}:{self.client_ports[name]}",
                "--advertise-client-urls", f"https://127.0.0.1:{self.client_ports[name]}",
                "--listen-peer-urls", f"https://127.0.0.1:{self.peer_ports[name]}",
                "--initial-advertise-peer-urls", f"https://127.0.0.1:{self.peer_ports[name]}",
                "--initial-cluster", cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", "lockbox-test",
                # Fast elections: the tests kill the leader and time what follows.
                "--heartbeat-interval", "50", "--election-timeout", "500",
                "--logger", "zap", "--log-outputs", os.path.join(self.dir, f"{name}.log")] + tls

    def start(self, timeout=30):
        started = time.monotonic()
        for name in self.names:
            self.start_member(name)
        wait_until(self.healthy, timeout, interval=0.2, what="etcd cluster health")
        log(f"etcd cluster of {len(self.names)} up in {time.monotonic() - started:.1f}s")
        return self

    def start_member(self, name):
        self.procs[name] = self.sandbox.spawn(self._argv(name), stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL)

    def kill_member(self, name):
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait(timeout=10)

    def etcdctl(self, args, identity="root", endpoints=None, check=True, timeout=20):
        cert, key = self.identity(identity)
        argv = [ETCDCTL, "--endpoints", ",".join(endpoints or self.endpoints),
                "--cacert", self.ca.cert, "--cert", cert, "--key", key,
                "--dial-timeout", "3s", "--command-timeout", "5s"] + list(args)
        return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=timeout,
                              env=dict(os.environ, ETCDCTL_API="3"))

    def healthy(self):
        r = self.etcdctl(["endpoint", "health"], check=False)
        return r.returncode == 0

    def leader(self):
        r = self.etcdctl(["endpoint", "status", "-w", "json"])
        import json
        for entry in json.loads(r.stdout):
            if entry["Status"]["header"]["member_id"] == entry["Status"]["leader"]:
                port = int(entry["Endpoint"].rsplit(":", 1)[1])
                return next(n for n, p in self.client_ports.items() if p == port)
        raise RuntimeError("no leader")
