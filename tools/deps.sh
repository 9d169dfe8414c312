# Sourced by tools/test and tools/demo: installs the Debian packages Lockbox
# builds and tests with, only those missing (idempotent, no network when all
# are present).
LOCKBOX_PACKAGES=(
  # build
  meson ninja-build pkg-config g++ libpam0g-dev libsystemd-dev libsodium-dev
  libssl-dev libcmocka-dev libsqlite3-dev nlohmann-json3-dev
  libcli11-dev libfmt-dev
  # tests: real services and wrappers
  dbus-daemon systemd openssh-server openssh-client libpam-wrapper libnss-wrapper
  libpamtest0-dev libuid-wrapper tlog python3 python3-aiosmtpd msmtp libxml2-utils
  python3-nacl  # a second PASETO implementation: the peer-issuer interop test
  util-linux procps iproute2 sqlite3
  sudo  # access levels: the e2e runs sudo under the sandbox's own sudoers
  # robustness: fuzzers and sanitizers (clang's libFuzzer runtime), SELinux devel
  clang libclang-rt-14-dev selinux-policy-dev
  # one formatting (.clang-format), checked by tools/test
  clang-format
  # system integration: man pages from scdoc sources, completion test harness
  scdoc bash-completion groff-base
  # fleet mode: etcd's gRPC API (client generated from Debian's etcd .proto files),
  # a real 3-member etcd cluster in the tests
  libgrpc++-dev libabsl-dev protobuf-compiler-grpc protobuf-compiler golang-etcd-server-dev
  etcd-server etcd-client
  nftables  # the fleet test cuts a host's link to etcd inside its own network namespace
  systemd-journal-remote  # audit across the fleet: a host's journal shipped to a collector
  # the approvers' console: Cockpit standalone, driven by a real headless Chromium
  cockpit-ws cockpit-bridge cockpit-system chromium chromium-driver python3-selenium
  nodejs  # the console's page logic tested without a browser (tests/console)
)

lockbox_install_deps() {
  local missing=() p
  for p in "${LOCKBOX_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "tools: missing packages: ${missing[*]} (run as root to install them)" >&2
    return 1
  fi
  echo "tools: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps package scripts from starting services on the host.
  local prc=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$prc" ]; then printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod 755 "$prc"; created=1; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  local rc=$?
  [ $created -eq 1 ] && rm -f "$prc"
  return $rc
}
