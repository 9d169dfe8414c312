#include "as_engineer.h"

#include "clock.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <grp.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libc_handles.h"

namespace lockboxd {

namespace {
constexpr int CANNOT_SWITCH = 125;
constexpr int MAX_BODY_RESULT = 124;
// After SIGKILL only uninterruptible sleep delays the exit; past this the child
// is left to the kernel (a zombie until lockboxd exits) rather than waited for.
constexpr int REAP_AFTER_KILL_MS = 1000;

int64_t monotonic_ms() { return lockbox::monotonic_now() / lockbox::USEC_PER_MSEC; }

// Waits at most timeout_ms for the pidfd to become readable (the child exited).
bool wait_readable(int pidfd, int timeout_ms) {
    int64_t deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - monotonic_ms();
        if (left <= 0)
            return false;
        struct pollfd p {
            pidfd, POLLIN, 0
        };
        int r = ::poll(&p, 1, static_cast<int>(left));
        if (r > 0)
            return true;
        if (r < 0 && errno != EINTR)
            return false;
    }
}
}  // namespace

lockbox::Result<int> run_as_engineer(uid_t uid, gid_t gid, const std::function<int()>& body, int timeout_ms) {
    if (uid == 0 || gid == 0)
        return lockbox::make_error(lockbox::Errc::Refused, "refusing to act as uid or gid 0");
    pid_t child = ::fork();
    if (child < 0)
        return lockbox::make_error(lockbox::Errc::ProcessFailed, std::string("fork: ") + std::strerror(errno));
    if (child == 0) {
        if (::setgroups(0, nullptr) < 0 || ::setresgid(gid, gid, gid) < 0 || ::setresuid(uid, uid, uid) < 0)
            ::_exit(CANNOT_SWITCH);
        ::_exit(std::clamp(body(), 0, MAX_BODY_RESULT));
    }
    // The child is ours and not reaped, so its pid cannot be reused before the
    // pidfd is open. Once it is the engineer's, the engineer can stop it
    // (SIGSTOP): never wait for it without a deadline.
    lockbox::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
    if (!pidfd.valid()) {
        int err = errno;
        ::kill(child, SIGKILL);  // not reaped yet: the pid is still this child's
        for (int i = 0; i < REAP_AFTER_KILL_MS && ::waitpid(child, nullptr, WNOHANG) == 0; i++) {
            struct timespec ts {
                0, 1000000
            };
            nanosleep(&ts, nullptr);
        }
        return lockbox::make_error(lockbox::Errc::ProcessFailed, std::string("pidfd_open: ") + std::strerror(err));
    }
    bool timed_out = !wait_readable(pidfd.get(), timeout_ms);
    if (timed_out) {
        ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
        if (!wait_readable(pidfd.get(), REAP_AFTER_KILL_MS))
            return lockbox::make_error(lockbox::Errc::Timeout, "the child acting as uid " + std::to_string(uid) +
                                                                   " did not end, even after SIGKILL");
    }
    // Readable pidfd: the child has exited, so this does not block.
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) != child)
        return lockbox::make_error(lockbox::Errc::ProcessFailed, std::string("waitpid: ") + std::strerror(errno));
    if (timed_out)
        return lockbox::make_error(lockbox::Errc::Timeout, "the child acting as uid " + std::to_string(uid) +
                                                               " did not finish within " + std::to_string(timeout_ms) +
                                                               " ms (stopped?); killed");
    if (!WIFEXITED(status))
        return lockbox::make_error(lockbox::Errc::ProcessFailed,
                                   "the child acting as uid " + std::to_string(uid) + " died");
    if (WEXITSTATUS(status) == CANNOT_SWITCH)
        return lockbox::make_error(lockbox::Errc::ProcessFailed, "cannot switch to uid " + std::to_string(uid));
    return WEXITSTATUS(status);
}

}  // namespace lockboxd
