// Sample cache contents shared by the NSS unit tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "clock.h"
#include "nss_cache.h"

namespace lockbox::nss_test {

constexpr uint32_t kUid1 = 2100000001;
constexpr uint32_t kUid2 = 2100000002;
constexpr uint32_t kUidExpired = 2100000003;
constexpr uint32_t kTeamGid = 2100090000;

inline usec_t wall_now() { return system_clock().now(); }

inline NssUserEntry make_user(const std::string& name, uint32_t uid, usec_t expires) {
    NssUserEntry u;
    u.name = name;
    u.uid = uid;
    u.gid = uid;
    u.gecos = "Engineer " + name + ",INC-1";
    u.home = "/var/lib/lockbox/home/" + name;
    u.shell = "/bin/bash";
    u.expires = expires;
    return u;
}

inline NssGroupEntry make_group(const std::string& name, uint32_t gid, std::vector<std::string> members,
                                usec_t expires) {
    NssGroupEntry g;
    g.name = name;
    g.gid = gid;
    g.members = std::move(members);
    g.expires = expires;
    return g;
}

// eng1, eng2 live for an hour; old1 expired a minute ago. Groups: one per user
// plus lockbox-team (eng1, eng2, old1).
inline std::vector<NssUserEntry> sample_users(usec_t now) {
    return {make_user("eng1", kUid1, now + 3600 * USEC_PER_SEC), make_user("eng2", kUid2, now + 3600 * USEC_PER_SEC),
            make_user("old1", kUidExpired, now - 60 * USEC_PER_SEC)};
}

inline std::vector<NssGroupEntry> sample_groups(usec_t now) {
    usec_t later = now + 3600 * USEC_PER_SEC;
    return {make_group("eng1", kUid1, {}, later), make_group("eng2", kUid2, {}, later),
            make_group("old1", kUidExpired, {}, now - 60 * USEC_PER_SEC),
            make_group("lockbox-team", kTeamGid, {"eng1", "eng2", "old1"}, later)};
}

// The reader needs 8-byte alignment, which a std::vector<uint8_t> does not promise.
class AlignedBytes {
public:
    explicit AlignedBytes(const std::vector<uint8_t>& b) : words_((b.size() + 7) / 8 + 1), size_(b.size()) {
        std::memcpy(words_.data(), b.data(), b.size());
    }
    uint8_t* data() { return reinterpret_cast<uint8_t*>(words_.data()); }
    size_t size() const { return size_; }

private:
    std::vector<uint64_t> words_;
    size_t size_;
};

}  // namespace lockbox::nss_test
