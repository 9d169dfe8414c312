#include "terminal_warner.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libc_handles.h"

namespace lockboxd {

lockbox::Status write_to_terminal(const std::string& tty, uid_t uid, const std::string& text) {
    if (tty.empty() || tty.size() > 64 || tty.find("..") != std::string::npos)
        return lockbox::make_error(lockbox::Errc::InvalidArgument, "not a terminal name: " + tty);
    std::string path = terminal_device_path(tty);
    // Look before opening: opening a device can act (a watchdog starts counting,
    // ptmx makes a terminal), so the name is only resolved here (O_PATH opens
    // nothing) and only a character device the engineer owns is opened.
    lockbox::UniqueFd where(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!where.valid())
        return lockbox::make_error(lockbox::Errc::IoError, "cannot find " + path + ": " + std::strerror(errno));
    // O_NOFOLLOW only covers the last component; a symlinked directory on the
    // way (one the engineer made in /dev/shm) shows as a different resolved path.
    std::string self = "/proc/self/fd/" + std::to_string(where.get());
    char resolved[128];
    ssize_t len = ::readlink(self.c_str(), resolved, sizeof resolved);
    if (len < 0 || static_cast<size_t>(len) >= sizeof resolved || std::string(resolved, len) != path)
        return lockbox::make_error(lockbox::Errc::UnsafeFile, path + " goes through a symbolic link");
    struct stat seen {};
    if (::fstat(where.get(), &seen) < 0 || !S_ISCHR(seen.st_mode))
        return lockbox::make_error(lockbox::Errc::InvalidArgument, path + " is not a terminal");
    if (seen.st_uid != uid)
        return lockbox::make_error(lockbox::Errc::UnsafeFile, path + " is not owned by the engineer");
    // Reopening the resolved fd opens exactly the inode checked above, whatever
    // happened to the name since.
    lockbox::UniqueFd fd(::open(self.c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid())
        return lockbox::make_error(lockbox::Errc::IoError, "cannot open " + path + ": " + std::strerror(errno));
    if (!::isatty(fd.get()))
        return lockbox::make_error(lockbox::Errc::InvalidArgument, path + " is not a terminal");
    // A full terminal buffer drops the warning rather than stalling the daemon.
    ssize_t n = ::write(fd.get(), text.data(), text.size());
    if (n < 0 && errno != EAGAIN)
        return lockbox::make_error(lockbox::Errc::IoError, "cannot write to " + path + ": " + std::strerror(errno));
    return {};
}

std::string terminal_device_path(const std::string& tty) { return tty.starts_with("/dev/") ? tty : "/dev/" + tty; }

std::string expiry_warning_text(const std::string& grant_id, long long seconds_left) {
    std::string when = seconds_left >= 120 ? std::to_string(seconds_left / 60) + " minutes"
                                           : std::to_string(seconds_left) + " seconds";
    return "\r\n*** Lockbox: your access (grant " + grant_id + ") ends in " + when +
           ". Every session and process of yours will then be ended. ***\r\n";
}

}  // namespace lockboxd
