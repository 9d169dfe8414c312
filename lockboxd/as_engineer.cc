#include "as_engineer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lockboxd {

namespace {
constexpr int CANNOT_SWITCH = 125;
constexpr int MAX_BODY_RESULT = 124;
}  // namespace

lockbox::Result<int> run_as_engineer(uid_t uid, gid_t gid, const std::function<int()>& body) {
    if (uid == 0 || gid == 0)
        return lockbox::make_error("refused", "refusing to act as uid or gid 0");
    pid_t child = ::fork();
    if (child < 0)
        return lockbox::make_error("fork-failed", std::string("fork: ") + std::strerror(errno));
    if (child == 0) {
        if (::setgroups(0, nullptr) < 0 || ::setresgid(gid, gid, gid) < 0 || ::setresuid(uid, uid, uid) < 0)
            ::_exit(CANNOT_SWITCH);
        ::_exit(std::clamp(body(), 0, MAX_BODY_RESULT));
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0) {
        if (errno != EINTR)
            return lockbox::make_error("wait-failed", std::string("waitpid: ") + std::strerror(errno));
    }
    if (!WIFEXITED(status))
        return lockbox::make_error("child-failed", "the child acting as uid " + std::to_string(uid) + " died");
    if (WEXITSTATUS(status) == CANNOT_SWITCH)
        return lockbox::make_error("child-failed", "cannot switch to uid " + std::to_string(uid));
    return WEXITSTATUS(status);
}

}  // namespace lockboxd
