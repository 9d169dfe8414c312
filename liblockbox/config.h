// /etc/lockbox/lockbox.conf: one file, systemd-style [Section] Key=Value, read by
// every component. Defaults first, then the file; unknown keys and bad values are
// reported with file and line. See docs/configuration.md for every key.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "clock.h"
#include "result.h"

namespace lockbox {

// Files above this size are refused before parsing (a config is a few KiB).
constexpr size_t MAX_CONFIG_SIZE = 1024 * 1024;

// [Fleet]: how lockbox-approvald takes part in a fleet (docs/fleet.md). No
// [Fleet] section: one host, requests in SQLite.
enum class FleetMode { None, Signer, Workflow, Host };

struct FleetConfig {
    FleetMode mode = FleetMode::None;
    std::vector<std::string> endpoints;  // "https://host:port", as etcdctl's --endpoints
    std::string ca_file;                 // the tenant's CA, as etcdctl's --cacert
    std::string cert_file;               // this identity's certificate (CN = etcd user)
    std::string key_file;                // its key, checked for owner and mode
};

const char* fleet_mode_name(FleetMode mode);

struct Config {
    // [Host]
    std::string tenant;     // required by lockboxd and approvald
    std::string host_name;  // default: gethostname()
    // Groups= the customer puts this host in; a grant for "@group" covers it.
    std::vector<std::string> host_groups;

    // [Fleet]
    FleetConfig fleet;

    // [Policy]
    usec_t max_grant = 4 * 3600 * USEC_PER_SEC;
    usec_t pending_timeout = 12 * 3600 * USEC_PER_SEC;
    usec_t clock_skew = 30 * USEC_PER_SEC;
    usec_t kill_grace = 2 * USEC_PER_SEC;  // SIGTERM this long before exp
    // The kill (freeze, SIGKILL) starts this long before exp, so that the
    // kernel's teardown of the processes is over by exp (docs/enforcement.md).
    usec_t kill_lead = 500 * USEC_PER_MSEC;
    // lockboxd asks the approval service for the full grant list at least this
    // often, so a lost or refused signal delays a revocation by no more.
    usec_t resync_interval = 60 * USEC_PER_SEC;
    std::vector<usec_t> warn_before = {600 * USEC_PER_SEC, 60 * USEC_PER_SEC};
    // lockbox-approvald deletes requests that ended longer ago than this from its
    // store (the journal keeps their audit trail); a compliance review looks
    // back a year, hence a little over one.
    usec_t retention = 400ULL * 24 * 3600 * USEC_PER_SEC;

    // [Keys]
    std::string trusted_dir;         // default LOCKBOX_TRUSTED_DIR
    std::string signing_key;         // default LOCKBOX_SIGNING_KEY
    std::optional<uid_t> key_owner;  // KeyOwner=; unset: see expected_key_owner()

    // [Roles]
    std::string engineer_group = "lockbox-engineers";
    std::string manager_group = "lockbox-managers";
    std::string approver_group = "lockbox-approvers";

    // [Access] Levels=: least privileged first; the first is the default of a
    // request and the level of a token without an `access` claim (access_level.h).
    std::vector<std::string> access_levels = {"user"};

    // [Accounts]
    uint32_t uid_min = 2100000000;
    uint32_t uid_max = 2100099999;
    std::string shell = "/bin/bash";
    bool record = true;
    std::string record_shell = "/usr/bin/tlog-rec-session";
    std::string home_base;  // default StateDir/home
    bool keep_home = false;
    std::string key_options = "restrict,pty";  // prefix of AuthorizedKeys lines

    // [Notify]
    std::string notify_command = "/usr/sbin/sendmail -t -i";
    std::vector<std::string> approver_emails;
    std::string mail_domain;  // engineer address = login@MailDomain; empty = no mail

    // [Paths]
    std::string state_dir;    // default LOCKBOX_STATE_DIR
    std::string runtime_dir;  // default LOCKBOX_RUNTIME_DIR/lockbox

    // Derived paths (computed after loading, never set from the file directly).
    std::string approval_dir() const { return state_dir + "/approval"; }
    std::string enforcer_dir() const { return state_dir + "/enforcer"; }
    std::string nss_cache_path() const { return runtime_dir + "/nss.cache"; }
};

// Built-in defaults with paths from the build configuration.
Config default_config();

// The uid that must own a key file this process reads: KeyOwner= when set,
// else the reading process's own euid. So lockboxd (root) reads root-owned
// trusted keys and lockbox-approvald, running as lockbox-approval, reads the
// signing key that tmpfiles and the operator guide give to that user.
uid_t expected_key_owner(const Config& config);

// Limits of [Fleet] and [Host] Groups= (a config is read by every PAM call).
constexpr size_t MAX_FLEET_ENDPOINTS = 16;
constexpr size_t MAX_HOST_GROUPS = 32;

// Reads the file at path over the defaults. A missing file is an error unless
// missing_ok; every problem names file:line, the key, the value and what is expected.
Result<Config> load_config(const std::string& path, bool missing_ok = false);

// Same as load_config for text already in memory (used by the fuzzer and tests).
Result<Config> parse_config(const std::string& text, const std::string& origin);

}  // namespace lockbox
