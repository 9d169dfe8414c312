// What /proc says about processes, read without following anything a user
// controls. A zombie (or dead) process counts as gone: kill(2) still succeeds on
// it, and where nobody reaps orphans it stays a zombie forever.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace lockboxd {

struct ProcessInfo {
    pid_t pid = 0;
    char state = '?';
    uid_t ruid = 0, euid = 0, suid = 0;
    pid_t sid = 0;  // session id (only when asked for)
};

bool is_gone_state(char state);

// An engineer's processes: live processes whose real, effective or saved uid
// is uid, or whose login uid (/proc/PID/loginuid, set by pam_loginuid at the
// engineer's login and inherited by everything started from it, unchangeable
// without CAP_AUDIT_CONTROL) is uid, whatever uid they run as now: what the
// engineer started through sudo or su, root included. With zombies, the
// uid's zombies too (for reporting what a kill ended).
std::vector<pid_t> live_processes_of_uid(uid_t uid, const std::string& proc_root = "/proc",
                                         std::vector<pid_t>* zombies = nullptr);
// Real, effective or saved uids in [min, max] of any live process (one scan).
std::vector<uid_t> live_uids_in_range(uid_t min, uid_t max, const std::string& proc_root = "/proc");
// What one login session is, as the kernel knows it. The audit session id
// (set by pam_loginuid) is inherited by every descendant and cannot be changed
// by the engineer, so it still holds processes that left the kernel session
// with setsid; the kernel session id is the fallback when no audit session is
// set (no pam_loginuid, no audit support).
struct SessionScope {
    uint32_t audit_session = UINT32_MAX;  // UINT32_MAX: unset
    pid_t sid = 0;                        // kernel session id; 0: unknown
};

// Whether pid is, right now, a live process of uid in the sense of
// live_processes_of_uid (and, for the second, a member of scope).
bool is_live_process_of_uid(pid_t pid, uid_t uid, const std::string& proc_root = "/proc");
bool is_live_process_in_session(pid_t pid, const SessionScope& scope, uid_t uid,
                                const std::string& proc_root = "/proc");

// Live processes of scope that are processes of uid (live_processes_of_uid).
std::vector<pid_t> live_processes_in_session(const SessionScope& scope, uid_t uid,
                                             const std::string& proc_root = "/proc");

// Controlling terminals (device numbers, no duplicates) of the live processes
// whose real or effective uid is uid.
std::vector<dev_t> controlling_terminals_of_uid(uid_t uid, const std::string& proc_root = "/proc");

// Parses /proc/PID/status text (exposed for tests).
bool parse_proc_status(const std::string& text, ProcessInfo& out);
// The login uid of pid, or UINT32_MAX when unknown/unset (no pam_loginuid).
uint32_t login_uid_of(pid_t pid, const std::string& proc_root = "/proc");
// The kernel audit session id of pid, or UINT32_MAX when unknown/unset.
uint32_t audit_session_of(pid_t pid, const std::string& proc_root = "/proc");

}  // namespace lockboxd
