#include "process_freezer.h"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <linux/magic.h>
#include <map>
#include <string>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unique_handles.h"

namespace lockboxd {

namespace {

// A fork bomb refills between scans; each pass stops what the last one found,
// so a handful of passes reach the fixed point. Past this the round kills what
// it stopped and the next round (5 ms later) goes on.
constexpr size_t MAX_PASSES = 64;

UniqueFd open_pidfd(pid_t pid) {
    return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

bool send(const UniqueFd& pidfd, int sig) {
    return ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) == 0;
}

// A pidfd for pid if, after the pidfd was opened, pid still matches: the pidfd
// then refers to the process that was checked, whatever happens to the pid.
UniqueFd claim(pid_t pid, const PidMatch& match) {
    UniqueFd fd = open_pidfd(pid);
    if (!fd.valid() || !match(pid))
        return UniqueFd();
    return fd;
}

}  // namespace

size_t signal_matching(const std::vector<pid_t>& pids, const PidMatch& match, int sig) {
    size_t n = 0;
    for (pid_t pid : pids)
        if (UniqueFd fd = claim(pid, match); fd.valid() && send(fd, sig))
            n++;
    return n;
}

FreezeRound freeze_then_kill(std::vector<pid_t> live, const PidScan& scan, const PidMatch& match) {
    FreezeRound round;
    std::map<pid_t, UniqueFd> stopped;
    while (round.passes < MAX_PASSES) {
        round.passes++;
        bool fresh = false;
        for (pid_t pid : live) {
            auto it = stopped.find(pid);
            // Signal 0 tells whether the stopped process still lives; if not,
            // this pid is a new process (pid reuse) and is stopped as one.
            if (it != stopped.end() && send(it->second, 0))
                continue;
            UniqueFd fd = claim(pid, match);
            if (!fd.valid() || !send(fd, SIGSTOP))
                continue;  // gone meanwhile, or no longer the target's
            stopped[pid] = std::move(fd);
            fresh = true;
        }
        if (!fresh) {
            round.converged = true;
            break;
        }
        live = scan();
    }
    for (const auto& [pid, fd] : stopped)
        if (send(fd, SIGKILL))
            round.killed++;
    return round;
}

bool kill_user_slice(uid_t uid, const char* cgroup_root) {
    if (uid == 0)
        return false;
    struct statfs fs {};
    if (::statfs(cgroup_root, &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC)
        return false;  // cgroup v1 or hybrid: the /proc rounds do it alone
    std::string path = std::string(cgroup_root) + "/user.slice/user-" + std::to_string(uid) + ".slice/cgroup.kill";
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid())
        return false;
    return ::write(fd.get(), "1", 1) == 1;
}

}  // namespace lockboxd
