#include "process_freezer.h"

#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <csignal>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <string>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libc_handles.h"

namespace lockboxd {

namespace {

// A fork bomb refills between scans; each pass stops what the last one found,
// so a handful of passes reach the fixed point. Past this the round kills what
// it stopped and the next round (5 ms later) goes on.
constexpr size_t MAX_PASSES = 64;

lockbox::UniqueFd open_pidfd(pid_t pid) {
    return lockbox::UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

bool send(const lockbox::UniqueFd& pidfd, int sig) {
    return ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) == 0;
}

// A pidfd for pid if, after the pidfd was opened, pid still matches: the pidfd
// then refers to the process that was checked, whatever happens to the pid.
lockbox::UniqueFd claim(pid_t pid, const PidMatch& match) {
    lockbox::UniqueFd fd = open_pidfd(pid);
    if (!fd.valid() || !match(pid))
        return lockbox::UniqueFd();
    return fd;
}

bool exited(const lockbox::UniqueFd& pidfd) {
    struct pollfd p {
        pidfd.get(), POLLIN, 0
    };
    return ::poll(&p, 1, 0) != 0;  // readable (exited), or an error: either way not running
}

bool have_children_files() {
    static const bool have = [] {
        std::string self = "/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/children";
        return ::access(self.c_str(), R_OK) == 0;
    }();
    return have;
}

// Children of parents, from every thread's /proc/PID/task/TID/children. Once
// SIGSTOP is queued for a parent it cannot fork any more (a fork racing the
// signal is restarted), so its list read after the signal is complete: the
// freeze converges without a /proc scan per pass. A child whose parent is not
// the target's (a login sshd was still setting up) is found by the caller's
// next full scan.
std::vector<pid_t> children_of(const std::vector<pid_t>& parents) {
    std::vector<pid_t> out;
    for (pid_t parent : parents) {
        std::string tasks = "/proc/" + std::to_string(parent) + "/task";
        lockbox::UniqueDir dir(::opendir(tasks.c_str()));
        if (!dir)
            continue;  // exited
        while (struct dirent* de = ::readdir(dir.get())) {
            if (de->d_name[0] < '1' || de->d_name[0] > '9')
                continue;
            lockbox::UniqueFd fd(::open((tasks + "/" + de->d_name + "/children").c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd.valid())
                continue;
            char buf[4096];
            std::string text;
            ssize_t n;
            while ((n = ::read(fd.get(), buf, sizeof buf)) > 0 && text.size() < (1u << 20))
                text.append(buf, static_cast<size_t>(n));
            const char* p = text.c_str();
            char* end = nullptr;
            for (long v = std::strtol(p, &end, 10); end != p; v = std::strtol(p, &end, 10)) {
                if (v > 0)
                    out.push_back(static_cast<pid_t>(v));
                p = end;
            }
        }
    }
    return out;
}

}  // namespace

size_t drop_exited(Claimed& claimed) {
    std::erase_if(claimed, [](const auto& entry) { return exited(entry.second); });
    return claimed.size();
}

size_t signal_matching(const std::vector<pid_t>& pids, const PidMatch& match, int sig) {
    size_t n = 0;
    for (pid_t pid : pids)
        if (lockbox::UniqueFd fd = claim(pid, match); fd.valid() && send(fd, sig))
            n++;
    return n;
}

FreezeRound freeze_then_kill(std::vector<pid_t> live, const PidScan& scan, const PidMatch& match, Claimed& claimed) {
    FreezeRound round;
    Claimed stopped;
    while (round.passes < MAX_PASSES) {
        round.passes++;
        std::vector<pid_t> fresh_pids;
        for (pid_t pid : live) {
            // Killed already and still exiting: nothing to do. A pid whose
            // process has exited is a new process (pid reuse), stopped as one.
            if (auto it = claimed.find(pid); it != claimed.end() && !exited(it->second))
                continue;
            if (auto it = stopped.find(pid); it != stopped.end() && !exited(it->second))
                continue;
            lockbox::UniqueFd fd = claim(pid, match);
            if (!fd.valid() || !send(fd, SIGSTOP))
                continue;  // gone meanwhile, or no longer the target's
            stopped[pid] = std::move(fd);
            fresh_pids.push_back(pid);
        }
        if (fresh_pids.empty()) {
            round.converged = true;
            break;
        }
        live = have_children_files() ? children_of(fresh_pids) : scan();
    }
    for (auto& [pid, fd] : stopped) {
        round.pids.push_back(pid);
        if (send(fd, SIGKILL))
            round.killed++;
    }
    // Their exit must not queue behind everything their deaths wake (sshd's
    // monitors closing as many PAM sessions, the clients): each is given nice
    // -20 once SIGKILL is pending, so the kernel runs its teardown ahead, and
    // not before, so none can preempt the loop above. The pidfd shows whether
    // the pid is still the process that was killed (a pid is not reused before
    // it is reaped).
    for (auto& [pid, fd] : stopped) {
        if (!exited(fd))
            ::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), -20);
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
    lockbox::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid())
        return false;
    return ::write(fd.get(), "1", 1) == 1;
}

}  // namespace lockboxd
