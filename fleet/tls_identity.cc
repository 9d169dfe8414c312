#include "tls_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <sodium.h>

#include "libc_handles.h"

namespace lockbox::fleet {
namespace {

// A certificate chain is a few KiB; a bound keeps a hostile path from making us
// read without end.
constexpr size_t MAX_PEM_FILE = 64 * 1024;

Result<std::string> read_pem(const std::string& path, const char* what, bool secret, std::optional<uid_t> owner) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) {
        int e = errno;
        if (e == ELOOP)
            return make_error(Errc::UnsafeFile, path + ": the " + what + " is a symbolic link");
        return make_error(e == ENOENT ? Errc::NotFound : Errc::IoError,
                          path + ": cannot open the " + what + ": " + std::strerror(e));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        return make_error(Errc::IoError, path + ": cannot stat the " + what + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        return make_error(Errc::UnsafeFile, path + ": the " + what + " is not a regular file");
    if (secret && owner && st.st_uid != *owner)
        return make_error(Errc::UnsafeFile, path + ": the " + what + " is owned by uid " + std::to_string(st.st_uid) +
                                                ", expected uid " + std::to_string(*owner));
    if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)))
        return make_error(Errc::UnsafeFile, path + ": the " + what + " is open to group or others (chmod 0600)");
    if (!secret && (st.st_mode & (S_IWGRP | S_IWOTH)))
        return make_error(Errc::UnsafeFile, path + ": the " + what + " is writable by group or others");
    if (static_cast<uint64_t>(st.st_size) > MAX_PEM_FILE)
        return make_error(Errc::Malformed, path + ": the " + what + " is larger than 64 KiB");
    std::string text(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < text.size()) {
        ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += static_cast<size_t>(n);
    }
    text.resize(got);
    if (text.find("-----BEGIN ") == std::string::npos) {
        sodium_memzero(text.data(), text.size());
        return make_error(Errc::Malformed, path + ": the " + what + " is not PEM");
    }
    return text;
}

}  // namespace

TlsIdentity::~TlsIdentity() { sodium_memzero(key_pem.data(), key_pem.size()); }

Result<TlsIdentity> load_tls_identity(const std::string& ca_file, const std::string& cert_file,
                                      const std::string& key_file, std::optional<uid_t> key_owner) {
    TlsIdentity id;
    auto ca = read_pem(ca_file, "CA certificate", false, key_owner);
    if (!ca)
        return ca.error();
    auto cert = read_pem(cert_file, "client certificate", false, key_owner);
    if (!cert)
        return cert.error();
    auto key = read_pem(key_file, "client key", true, key_owner);
    if (!key)
        return key.error();
    id.ca_pem = std::move(*ca);
    id.cert_pem = std::move(*cert);
    id.key_pem = std::move(*key);
    return id;
}

}  // namespace lockbox::fleet
