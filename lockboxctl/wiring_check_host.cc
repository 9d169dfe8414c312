// The host side of `status --check`: the units, the trusted keys, the engineer
// uid range, the clock and tlog — what lockboxd relies on to enforce a grant.
#include <dlfcn.h>
#include <nss.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string_view>

#include "key_file.h"
#include "wiring_check.h"

namespace lockboxctl {

namespace {

// Probing one uid at a time is the only way to ask a source that does not
// enumerate (sssd without enumerate=true, LDAP with paging limits); a budget
// keeps a slow directory from hanging the check.
constexpr auto PROBE_BUDGET = std::chrono::seconds(20);
constexpr size_t ENTRY_BUFFER = 64 * 1024;

struct DlCloser {
    void operator()(void* h) const {
        if (h != nullptr)
            ::dlclose(h);
    }
};
using DlHandle = std::unique_ptr<void, DlCloser>;

using GetpwuidFn = enum nss_status (*)(uid_t, struct passwd*, char*, size_t, int*);
using SetpwentFn = enum nss_status (*)(int);
using GetpwentFn = enum nss_status (*)(struct passwd*, char*, size_t, int*);
using EndpwentFn = enum nss_status (*)();

// The sources of the passwd: line (nsswitch_sources).
std::vector<std::string> passwd_sources(const std::string& nsswitch) {
    std::ifstream in(nsswitch);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return nsswitch_sources(text, "passwd").value_or(std::vector<std::string>{"files"});  // glibc's default
}

std::string uid_name(uid_t uid, const char* name) { return std::to_string(uid) + " (" + name + ")"; }

// The uids in [lo, hi] one NSS source serves: by enumeration when the source
// enumerates, else by asking for each uid until the budget is spent.
// Returns "" when the range is free, else a description of what was found or
// why the source could not be asked.
std::string uids_taken_in(const std::string& source, uid_t lo, uid_t hi, bool& undecided) {
    const std::string library = "libnss_" + source + ".so.2";
    DlHandle lib(::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL));
    if (!lib) {
        undecided = true;
        return "cannot load " + library;
    }
    std::string prefix = "_nss_" + source + "_";
    auto nss_getpwuid = reinterpret_cast<GetpwuidFn>(::dlsym(lib.get(), (prefix + "getpwuid_r").c_str()));
    auto nss_setpwent = reinterpret_cast<SetpwentFn>(::dlsym(lib.get(), (prefix + "setpwent").c_str()));
    auto nss_getpwent = reinterpret_cast<GetpwentFn>(::dlsym(lib.get(), (prefix + "getpwent_r").c_str()));
    auto nss_endpwent = reinterpret_cast<EndpwentFn>(::dlsym(lib.get(), (prefix + "endpwent").c_str()));
    std::vector<char> buf(ENTRY_BUFFER);
    struct passwd pw {};
    int err = 0;

    if (nss_setpwent != nullptr && nss_getpwent != nullptr && nss_endpwent != nullptr &&
        nss_setpwent(0) == NSS_STATUS_SUCCESS) {
        size_t seen = 0;
        std::string found;
        while (nss_getpwent(&pw, buf.data(), buf.size(), &err) == NSS_STATUS_SUCCESS) {
            ++seen;
            if (found.empty() && pw.pw_uid >= lo && pw.pw_uid <= hi)
                found = uid_name(pw.pw_uid, pw.pw_name);
        }
        nss_endpwent();
        if (!found.empty())
            return found;
        if (seen > 0)
            return "";
    }
    if (nss_getpwuid == nullptr) {
        undecided = true;
        return source + " neither enumerates nor answers getpwuid";
    }
    const auto deadline = std::chrono::steady_clock::now() + PROBE_BUDGET;
    for (uint64_t uid = lo; uid <= hi; ++uid) {
        if (nss_getpwuid(static_cast<uid_t>(uid), &pw, buf.data(), buf.size(), &err) == NSS_STATUS_SUCCESS)
            return uid_name(pw.pw_uid, pw.pw_name);
        if ((uid & 0xff) == 0 && std::chrono::steady_clock::now() > deadline) {
            undecided = true;
            return source + " answered too slowly: asked up to uid " + std::to_string(uid);
        }
    }
    return "";
}

bool is_executable_file(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::vector<CheckResult> check_units(const WiringPaths& paths) {
    std::vector<CheckResult> results;
    for (const char* unit : {"lockboxd.service", "lockbox-approvald.service"}) {
        CheckResult r{std::string("unit ") + unit, Verdict::Fail, "", ""};
        if (::sd_booted() <= 0) {
            r.verdict = Verdict::Warn;
            r.detail = "cannot check: systemd is not running";
            results.push_back(r);
            continue;
        }
        const bool enabled = run_program({paths.systemctl, "is-enabled", "--quiet", unit}).exit_status == 0;
        const bool active = run_program({paths.systemctl, "is-active", "--quiet", unit}).exit_status == 0;
        r.detail = std::string(enabled ? "enabled" : "not enabled") + ", " + (active ? "running" : "not running");
        r.fix = std::string("systemctl enable --now ") + unit;
        const bool approval = std::string_view(unit) == "lockbox-approvald.service";
        if (enabled && active) {
            r.verdict = Verdict::Pass;
        } else if (approval && !enabled && !active) {
            // Only the approval host runs it (operator guide §1); a tenant host
            // enforces with lockboxd alone.
            r.verdict = Verdict::Warn;
            r.detail += ": right on a tenant host that is not the approval host";
        }
        results.push_back(r);
    }
    return results;
}

CheckResult check_trusted_keys(const lockbox::Config& config) {
    CheckResult r{"trusted keys", Verdict::Fail, "", ""};
    r.fix = "put the approval service's signing.public (root-owned, 0644) in " + config.trusted_dir +
            " (operator guide §2)";
    auto keys = lockbox::load_trusted_keys(config.trusted_dir, lockbox::expected_key_owner(config));
    if (!keys) {
        r.detail = keys.error().message;
        return r;
    }
    r.detail = std::to_string(keys->by_kid.size()) + " readable key(s) in " + config.trusted_dir;
    for (const auto& problem : keys->problems)
        r.detail += "; skipped: " + problem;
    if (!keys->by_kid.empty())
        r.verdict = Verdict::Pass;
    return r;
}

CheckResult check_uid_range(const WiringPaths& paths, const lockbox::Config& config) {
    const uid_t lo = config.uid_min;
    const uid_t hi = config.uid_max;
    CheckResult r{"engineer uid range", Verdict::Pass, "", ""};
    r.fix = "move that account out of " + std::to_string(lo) + "-" + std::to_string(hi) +
            ", or choose a free range with [Accounts] UIDMin=/UIDMax=";
    std::vector<std::string> asked;
    for (const auto& source : passwd_sources(paths.nsswitch)) {
        if (source == "lockbox")
            continue;  // lockboxd's own engineers live there
        bool undecided = false;
        std::string taken = uids_taken_in(source, lo, hi, undecided);
        if (undecided) {
            if (r.verdict == Verdict::Pass)
                r.verdict = Verdict::Warn;
            r.detail += (r.detail.empty() ? "" : "; ") + taken;
            continue;
        }
        if (!taken.empty()) {
            r.verdict = Verdict::Fail;
            r.detail = "uid " + taken + " from `" + source + "` is in the engineer range";
            return r;
        }
        asked.push_back(source);
    }
    std::string list;
    for (const auto& s : asked)
        list += (list.empty() ? "" : ", ") + s;
    r.detail = std::to_string(lo) + "-" + std::to_string(hi) + " free in " + (list.empty() ? "no source" : list) +
               (r.detail.empty() ? "" : "; " + r.detail);
    return r;
}

CheckResult check_clock() {
    CheckResult r{"clock", Verdict::Fail, "", ""};
    r.fix = "synchronize the clock (timedatectl set-ntp true, or chronyd/ntpd): grants carry start and end times";
    struct timex tx {};  // modes 0: read only, no privilege needed
    int state = ::ntp_adjtime(&tx);
    if (state < 0) {
        r.verdict = Verdict::Warn;
        r.detail = "cannot check: ntp_adjtime failed";
        return r;
    }
    if (state == TIME_ERROR || (tx.status & STA_UNSYNC) != 0) {
        r.detail = "the kernel clock is not synchronized (STA_UNSYNC)";
        return r;
    }
    r.verdict = Verdict::Pass;
    r.detail = "synchronized, estimated error " + std::to_string(tx.esterror) + " us";
    return r;
}

CheckResult check_recording(const lockbox::Config& config) {
    CheckResult r{"session recording", Verdict::Pass, "", ""};
    if (!config.record) {
        r.detail = "Record=no: sessions are not recorded";
        return r;
    }
    r.fix = "install tlog, or set [Accounts] RecordShell= to where tlog-rec-session is";
    if (is_executable_file(config.record_shell)) {
        r.detail = "Record=yes, " + config.record_shell + " is executable";
        return r;
    }
    r.verdict = Verdict::Fail;
    r.detail = "Record=yes but " + config.record_shell + " is not an executable file";
    return r;
}

}  // namespace lockboxctl
