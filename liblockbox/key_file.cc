#include "key_file.h"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "libc_handles.h"

namespace lockbox {
namespace {

// Longest key file accepted; a PASERK secret is 96 bytes, so this is generous
// and still keeps a hostile file from making us read without bound.
constexpr size_t MAX_KEY_FILE = 4096;
constexpr std::string_view PUBLIC_PREFIX = "k4.public.";
constexpr std::string_view SECRET_PREFIX = "k4.secret.";

// Holds a key file's text; wiped whatever it held, since it may be a secret.
struct KeyText {
    std::array<char, MAX_KEY_FILE + 1> buf{};
    size_t len = 0;
    mode_t mode = 0;
    ~KeyText() { sodium_memzero(buf.data(), buf.size()); }
    std::string_view view() const { return {buf.data(), len}; }
};

Error io_error(const std::string& path, const char* what, int err) {
    return make_error(err == ENOENT ? Errc::NotFound : Errc::IoError, path + ": " + what + ": " + std::strerror(err));
}

std::string octal_mode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

Status check_mode(const std::string& path, mode_t mode, bool secret) {
    if (mode & (S_IWGRP | S_IWOTH))
        return make_error(Errc::UnsafeFile, path + ": key file is writable by group or others");
    if (secret && (mode & (S_IRGRP | S_IROTH)))
        return make_error(Errc::UnsafeFile, path + ": secret key file is readable by group or others");
    return {};
}

// Opens name relative to dirfd (AT_FDCWD for a plain path) without following a
// final symlink, checks type, owner and mode on the opened file (no race with
// a rename), and reads at most MAX_KEY_FILE bytes.
Status read_key_text(int dirfd, const std::string& name, const std::string& shown, uid_t owner, bool secret,
                     KeyText& out) {
    // O_NONBLOCK: a FIFO planted in place of a key must not hang the reader.
    UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (fd.get() < 0) {
        if (errno == ELOOP)
            return make_error(Errc::UnsafeFile, shown + ": key file is a symbolic link");
        return io_error(shown, "cannot open key file", errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0)
        return io_error(shown, "cannot stat key file", errno);
    if (!S_ISREG(st.st_mode))
        return make_error(Errc::UnsafeFile, shown + ": key file is not a regular file");
    if (st.st_uid != owner)
        return make_error(Errc::UnsafeFile, shown + ": key file is owned by uid " + std::to_string(st.st_uid) +
                                                ", expected uid " + std::to_string(owner));
    auto mode_ok = check_mode(shown, st.st_mode, secret);
    if (!mode_ok)
        return mode_ok;
    out.mode = st.st_mode;
    out.len = 0;
    while (out.len < out.buf.size()) {
        ssize_t n = ::read(fd.get(), out.buf.data() + out.len, out.buf.size() - out.len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return io_error(shown, "cannot read key file", errno);
        }
        if (n == 0)
            break;
        out.len += static_cast<size_t>(n);
    }
    if (out.len > MAX_KEY_FILE)
        return make_error(Errc::Malformed,
                          shown + ": key file is larger than " + std::to_string(MAX_KEY_FILE) + " bytes");
    // One trailing newline is what editors and echo leave; anything else is not a key.
    if (out.len > 0 && out.buf[out.len - 1] == '\n')
        --out.len;
    return {};
}

Result<PublicKey> public_from_text(const std::string& shown, std::string_view text) {
    auto key = parse_paserk_public(text);
    if (!key)
        return make_error(Errc::Malformed, shown + ": " + key.error().message);
    return key;
}

Result<SecretKey> secret_from_text(const std::string& shown, std::string_view text) {
    auto key = parse_paserk_secret(text);
    if (!key)
        return make_error(Errc::Malformed, shown + ": " + key.error().message);
    return key;
}

Status write_all(int fd, std::string_view data, const std::string& shown) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return io_error(shown, "cannot write", errno);
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    if (::fsync(fd) < 0)
        return io_error(shown, "cannot sync", errno);
    return {};
}

Status create_exclusive(int dirfd, const char* name, const std::string& shown, mode_t mode, std::string_view content) {
    UniqueFd fd(::openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (fd.get() < 0) {
        if (errno == EEXIST)
            return make_error(Errc::Conflict, shown + " already exists; refusing to overwrite a key");
        return io_error(shown, "cannot create", errno);
    }
    // The umask may have narrowed the mode; set it exactly.
    if (::fchmod(fd.get(), mode) < 0)
        return io_error(shown, "cannot set mode", errno);
    return write_all(fd.get(), content, shown);
}

}  // namespace

Result<PublicKey> load_public_key_file(const std::string& path, uid_t owner) {
    KeyText text;
    auto st = read_key_text(AT_FDCWD, path, path, owner, /*secret=*/false, text);
    if (!st)
        return st.error();
    return public_from_text(path, text.view());
}

Result<SecretKey> load_secret_key_file(const std::string& path, uid_t owner) {
    KeyText text;
    auto st = read_key_text(AT_FDCWD, path, path, owner, /*secret=*/true, text);
    if (!st)
        return st.error();
    return secret_from_text(path, text.view());
}

Result<TrustedKeys> load_trusted_keys(const std::string& dir, uid_t owner) {
    UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dirfd.get() < 0)
        return io_error(dir, "cannot open trusted key directory", errno);
    struct stat st {};
    if (::fstat(dirfd.get(), &st) < 0)
        return io_error(dir, "cannot stat trusted key directory", errno);
    // Whoever can write the directory can swap keys in and out.
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return make_error(Errc::UnsafeFile, dir + ": trusted key directory is writable by group or others");
    int scan_fd = ::dup(dirfd.get());
    if (scan_fd < 0)
        return io_error(dir, "cannot scan trusted key directory", errno);
    UniqueDir d(::fdopendir(scan_fd));
    if (!d) {
        int err = errno;
        ::close(scan_fd);
        return io_error(dir, "cannot scan trusted key directory", err);
    }
    TrustedKeys keys;
    constexpr std::string_view suffix = ".public";
    errno = 0;
    while (dirent* e = ::readdir(d.get())) {
        std::string_view name(e->d_name);
        if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix || name.front() == '.')
            continue;
        const std::string shown = dir + "/" + std::string(name);
        KeyText text;
        auto ok = read_key_text(dirfd.get(), std::string(name), shown, owner, /*secret=*/false, text);
        if (!ok) {
            keys.problems.push_back(ok.error().message);
            continue;
        }
        auto key = public_from_text(shown, text.view());
        if (!key) {
            keys.problems.push_back(key.error().message);
            continue;
        }
        keys.by_kid.emplace(paserk_pid(*key), *key);
    }
    return keys;
}

Result<std::string> generate_key_pair(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST)
        return io_error(dir, "cannot create key directory", errno);
    // O_NOFOLLOW: a symlink would let whoever owns its target choose where the
    // secret lands.
    UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dirfd.get() < 0)
        return io_error(dir, "cannot open key directory (symbolic links are refused)", errno);
    // Whoever else may write the directory can rename the secret away or swap
    // the public key before it is distributed: only root or the caller may own
    // it, and neither group nor others may write it.
    struct stat dir_st {};
    if (::fstat(dirfd.get(), &dir_st) < 0)
        return io_error(dir, "cannot stat key directory", errno);
    if (dir_st.st_uid != 0 && dir_st.st_uid != ::geteuid())
        return make_error(Errc::UnsafeFile, dir + " is owned by uid " + std::to_string(dir_st.st_uid) +
                                                ", not by root or the caller; refusing to write a key there");
    if ((dir_st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return make_error(Errc::UnsafeFile, dir + " is writable by group or others (mode " +
                                                octal_mode(dir_st.st_mode) + "); refusing to write a key there");
    const std::string secret_path = dir + "/signing.secret";
    const std::string public_path = dir + "/signing.public";
    // Check both before writing either, so a refusal leaves nothing half-made.
    struct stat st {};
    if (::fstatat(dirfd.get(), "signing.secret", &st, AT_SYMLINK_NOFOLLOW) == 0)
        return make_error(Errc::Conflict, secret_path + " already exists; refusing to overwrite a key");
    if (::fstatat(dirfd.get(), "signing.public", &st, AT_SYMLINK_NOFOLLOW) == 0)
        return make_error(Errc::Conflict, public_path + " already exists; refusing to overwrite a key");

    const SecretKey sk = generate_secret_key();
    std::string secret_text = paserk_secret(sk) + "\n";
    auto wrote = create_exclusive(dirfd.get(), "signing.secret", secret_path, 0600, secret_text);
    sodium_memzero(secret_text.data(), secret_text.size());
    if (!wrote)
        return wrote.error();
    const PublicKey pk = sk.public_key();
    wrote = create_exclusive(dirfd.get(), "signing.public", public_path, 0644, paserk_public(pk) + "\n");
    if (!wrote) {
        ::unlinkat(dirfd.get(), "signing.secret", 0);
        return wrote.error();
    }
    if (::fsync(dirfd.get()) < 0)
        return io_error(dir, "cannot sync key directory", errno);
    return paserk_pid(pk);
}

Result<std::string> key_id_of_file(const std::string& path, uid_t owner) {
    KeyText text;
    auto st = read_key_text(AT_FDCWD, path, path, owner, /*secret=*/false, text);
    if (!st)
        return st.error();
    if (text.view().substr(0, SECRET_PREFIX.size()) == SECRET_PREFIX) {
        auto mode_ok = check_mode(path, text.mode, /*secret=*/true);
        if (!mode_ok)
            return mode_ok.error();
        auto sk = secret_from_text(path, text.view());
        if (!sk)
            return sk.error();
        return paserk_pid(sk->public_key());
    }
    if (text.view().substr(0, PUBLIC_PREFIX.size()) != PUBLIC_PREFIX)
        return make_error(Errc::Malformed, path + ": not a k4.public or k4.secret PASERK key");
    auto pk = public_from_text(path, text.view());
    if (!pk)
        return pk.error();
    return paserk_pid(*pk);
}

}  // namespace lockbox
