#include "terminal_warner.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unique_handles.h"

namespace lockboxd {

lockbox::Status write_to_terminal(const std::string& tty, uid_t uid, const std::string& text) {
    if (tty.empty() || tty.size() > 64 || tty.find("..") != std::string::npos)
        return lockbox::make_error("bad-tty", "not a terminal name: " + tty);
    std::string path = tty.starts_with("/dev/") ? tty : "/dev/" + tty;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid())
        return lockbox::make_error("bad-tty", "cannot open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0 || !S_ISCHR(st.st_mode) || !::isatty(fd.get()))
        return lockbox::make_error("bad-tty", path + " is not a terminal");
    if (st.st_uid != uid)
        return lockbox::make_error("bad-tty", path + " is not owned by the engineer");
    // A full terminal buffer drops the warning rather than stalling the daemon.
    ssize_t n = ::write(fd.get(), text.data(), text.size());
    if (n < 0 && errno != EAGAIN)
        return lockbox::make_error("bad-tty", "cannot write to " + path + ": " + std::strerror(errno));
    return {};
}

std::string expiry_warning_text(const std::string& grant_id, long long seconds_left) {
    std::string when = seconds_left >= 120 ? std::to_string(seconds_left / 60) + " minutes"
                                           : std::to_string(seconds_left) + " seconds";
    return "\r\n*** Lockbox: your access (grant " + grant_id + ") ends in " + when +
           ". Every session and process of yours will then be ended. ***\r\n";
}

}  // namespace lockboxd
