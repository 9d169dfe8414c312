#include "state_files.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace lockboxd {

namespace {

lockbox::Error errno_error(const std::string& what, const std::string& path, int err) {
    return lockbox::make_error(err == ENOENT ? lockbox::Errc::NotFound : lockbox::Errc::IoError,
                               what + " " + path + ": " + std::strerror(err));
}

}  // namespace

lockbox::Status ensure_directory(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST)
        return errno_error("cannot create directory", path, errno);
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0)
        return errno_error("cannot stat", path, errno);
    if (!S_ISDIR(st.st_mode))
        return lockbox::make_error(lockbox::Errc::IoError, path + " exists and is not a directory");
    if ((st.st_mode & 07777) != mode && ::chmod(path.c_str(), mode) < 0)
        return errno_error("cannot chmod", path, errno);
    return {};
}

}  // namespace lockboxd
