// Loading PASERK keys from disk. A key file must be a regular file (not a
// symlink), owned by the expected owner (root unless [Keys] KeyOwner= says
// otherwise, for tests), not writable by group or others; secret key files also
// not readable by them. Reads are bounded; buffers holding secrets are wiped.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <sys/types.h>

#include "paserk.h"
#include "result.h"

namespace lockbox {

Result<PublicKey> load_public_key_file(const std::string& path, uid_t owner);
Result<SecretKey> load_secret_key_file(const std::string& path, uid_t owner);

// Every "*.public" file in dir, indexed by key id (k4.pid.…). Files that fail
// the checks are skipped and reported in `problems` (one line each).
struct TrustedKeys {
    std::map<std::string, PublicKey> by_kid;
    std::vector<std::string> problems;
};
Result<TrustedKeys> load_trusted_keys(const std::string& dir, uid_t owner);

// Writes DIR/signing.secret (0600) and DIR/signing.public (0644), creating DIR
// (0700) if missing; refuses to overwrite, and refuses an existing DIR that is a
// symlink, owned by anyone but root or the caller, or group/other-writable.
// Returns the key id.
Result<std::string> generate_key_pair(const std::string& dir);

// The key id of a file holding either a k4.public or a k4.secret key.
Result<std::string> key_id_of_file(const std::string& path, uid_t owner);

}  // namespace lockbox
