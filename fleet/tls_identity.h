// The PEM files of one etcd client identity ([Fleet] CAFile=, CertFile=,
// KeyFile=, or lockboxctl fleet's --cacert/--cert/--key), read with the same
// care as a signing key: bounded size, no symlink or FIFO, the private key owned
// by the reading user and readable by nobody else. The key text is wiped when
// the identity goes out of scope; gRPC keeps its own copy inside the channel.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "result.h"

namespace lockbox::fleet {

struct TlsIdentity {
    std::string ca_pem;
    std::string cert_pem;
    std::string key_pem;
    TlsIdentity() = default;
    TlsIdentity(const TlsIdentity&) = delete;
    TlsIdentity& operator=(const TlsIdentity&) = delete;
    TlsIdentity(TlsIdentity&&) = default;
    TlsIdentity& operator=(TlsIdentity&&) = default;
    ~TlsIdentity();
};

// key_owner: the uid that must own key_file (the reading process's euid);
// nullopt for root reading a service's identity (lockboxctl fleet status on a
// host), where any owner will do but the mode check stays.
Result<TlsIdentity> load_tls_identity(const std::string& ca_file, const std::string& cert_file,
                                      const std::string& key_file, std::optional<uid_t> key_owner);

}  // namespace lockbox::fleet
