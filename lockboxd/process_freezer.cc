#include "process_freezer.h"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
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

bool exited(const UniqueFd& pidfd) {
    struct pollfd p {pidfd.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;  // readable (exited), or an error: either way not running
}

}  // namespace

size_t drop_exited(Claimed& claimed) {
    std::erase_if(claimed, [](const auto& entry) { return exited(entry.second); });
    return claimed.size();
}

size_t signal_matching(const std::vector<pid_t>& pids, const PidMatch& match, int sig) {
    size_t n = 0;
    for (pid_t pid : pids)
        if (UniqueFd fd = claim(pid, match); fd.valid() && send(fd, sig))
            n++;
    return n;
}

FreezeRound freeze_then_kill(std::vector<pid_t> live, const PidScan& scan, const PidMatch& match, Claimed& claimed) {
    FreezeRound round;
    Claimed stopped;
    while (round.passes < MAX_PASSES) {
        round.passes++;
        bool fresh = false;
        for (pid_t pid : live) {
            // Killed already and still exiting: nothing to do. A pid whose
            // process has exited is a new process (pid reuse), stopped as one.
            if (auto it = claimed.find(pid); it != claimed.end() && !exited(it->second))
                continue;
            if (auto it = stopped.find(pid); it != stopped.end() && !exited(it->second))
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
    for (auto& [pid, fd] : stopped) {
        if (send(fd, SIGKILL))
            round.killed++;
        claimed[pid] = std::move(fd);
    }
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
