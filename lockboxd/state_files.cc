#include "state_files.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unique_handles.h"

namespace lockboxd {

namespace {

lockbox::Error errno_error(const std::string& what, const std::string& path, int err) {
    return lockbox::make_error(err == ENOENT ? lockbox::Errc::NotFound : lockbox::Errc::IoError,
                               what + " " + path + ": " + std::strerror(err));
}

}  // namespace

lockbox::Result<std::string> read_state_file(const std::string& path, size_t max_bytes) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid())
        return errno_error("cannot open", path, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0)
        return errno_error("cannot stat", path, errno);
    if (!S_ISREG(st.st_mode))
        return lockbox::make_error(lockbox::Errc::IoError, path + " is not a regular file");
    if (static_cast<uint64_t>(st.st_size) > max_bytes)
        return lockbox::make_error(lockbox::Errc::IoError,
                                   path + " is larger than " + std::to_string(max_bytes) + " bytes");
    std::string out;
    out.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno_error("cannot read", path, errno);
        }
        if (n == 0)
            break;
        done += static_cast<size_t>(n);
    }
    out.resize(done);
    return out;
}

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
