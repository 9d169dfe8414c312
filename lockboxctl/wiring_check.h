// `lockboxctl status --check`: does this host actually enforce? Each check
// looks at one thing an install must wire up (PAM, NSS, sshd, units, keys, the
// uid range, the clock, tlog) and says PASS, FAIL with the fix, or WARN when it
// cannot be decided here (docs/operator-guide.md §4). Like `sssctl
// config-check`, it reads the host's real files and runs sshd's own -T, so what
// it reports is what sshd and PAM will do, not what the package shipped.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config.h"

namespace lockboxctl {

enum class Verdict { Pass, Fail, Warn };

struct CheckResult {
    std::string name;  // what was checked, e.g. "pam account stack"
    Verdict verdict = Verdict::Pass;
    std::string detail;  // what was found (already printable)
    std::string fix;     // for a FAIL: what the operator does about it
};

// Where the checks read the host's wiring; the defaults are the real paths.
struct WiringPaths {
    std::string pam_dir = "/etc/pam.d";
    std::string nsswitch = "/etc/nsswitch.conf";
    std::string sshd = "/usr/sbin/sshd";
    std::string systemctl = "/usr/bin/systemctl";
};

// PAM, NSS and sshd: who can log in and through which checks
// (wiring_check_login.cc).
CheckResult check_pam_stack(const WiringPaths& paths, const std::string& type);
// pam_loginuid in sshd's session stack, so that lockboxd's kill reaches what
// the engineer runs through sudo (docs/enforcement.md, Access levels).
CheckResult check_pam_loginuid(const WiringPaths& paths);
CheckResult check_nsswitch(const WiringPaths& paths, const std::string& database);
std::vector<CheckResult> check_sshd(const WiringPaths& paths);

// What lockboxd needs on the host (wiring_check_host.cc).
std::vector<CheckResult> check_units(const WiringPaths& paths);
CheckResult check_trusted_keys(const lockbox::Config& config);
CheckResult check_uid_range(const WiringPaths& paths, const lockbox::Config& config);
CheckResult check_clock();
CheckResult check_recording(const lockbox::Config& config);

// Output of a program run without a shell: argv[0] is an absolute path, the
// environment is a fixed minimal one, stdout and stderr are captured together
// (at most 1 MiB). exit_status is -1 when it could not be run or did not exit.
struct ProgramOutput {
    int exit_status = -1;
    std::string output;
};
ProgramOutput run_program(const std::vector<std::string>& argv);

// The sources of nsswitch.conf's line for database ("passwd", "group"), in
// order, actions such as [NOTFOUND=return] dropped; nullopt when the file
// has no such line (glibc then uses its default).
std::optional<std::vector<std::string>> nsswitch_sources(const std::string& nsswitch_text, const std::string& database);

// Every check, in the order an operator would fix them.
std::vector<CheckResult> run_wiring_checks(const WiringPaths& paths, const lockbox::Config& config);

// One line per result; returns true when no result is a FAIL.
bool print_wiring_results(const std::vector<CheckResult>& results);

}  // namespace lockboxctl
