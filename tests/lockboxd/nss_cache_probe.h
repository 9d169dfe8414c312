// Reads /run/lockbox/nss.cache as nss_lockbox does, for the lockboxd tests
// that check what resolves. Include after cmocka (it asserts).
#pragma once

#include <cstring>
#include <fcntl.h>
#include <map>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "clock.h"
#include "config.h"
#include "nss_cache_format.h"

namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
    std::vector<uint8_t> out;
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return out;
    struct stat st {};
    fstat(fd, &st);
    out.resize(static_cast<size_t>(st.st_size));
    ssize_t n = read(fd, out.data(), out.size());
    close(fd);
    if (n != st.st_size)
        out.clear();
    return out;
}

// name -> expires of the passwd records and of the groups, read through the
// format header as the module reads them.
struct Records {
    std::map<std::string, int64_t> users, groups;
};
Records records_in(const std::vector<uint8_t>& bytes) {
    Records r;
    assert_true(bytes.size() >= sizeof(lockbox_nss_cache_header));
    lockbox_nss_cache_header h;
    std::memcpy(&h, bytes.data(), sizeof h);
    assert_memory_equal(h.magic, LOCKBOX_NSS_CACHE_MAGIC, LOCKBOX_NSS_CACHE_MAGIC_SIZE);
    assert_int_equal(h.file_size, bytes.size());
    const char* strings = reinterpret_cast<const char*>(bytes.data() + h.strings.offset);
    for (uint64_t i = 0; i < h.users.count; i++) {
        lockbox_nss_cache_user u;
        std::memcpy(&u, bytes.data() + h.users.offset + i * sizeof u, sizeof u);
        r.users[strings + u.name] = u.expires;
    }
    for (uint64_t i = 0; i < h.groups.count; i++) {
        lockbox_nss_cache_group g;
        std::memcpy(&g, bytes.data() + h.groups.offset + i * sizeof g, sizeof g);
        r.groups[strings + g.name] = g.expires;
    }
    return r;
}

// What getpwnam and getgrnam through nss_lockbox would answer now.
// at: the time the module compares the records' expires with.
bool resolves(const lockbox::Config& c, const std::string& name, lockbox::usec_t at = lockbox::system_clock().now()) {
    auto bytes = read_bytes(c.nss_cache_path());
    if (bytes.empty())
        return false;
    auto r = records_in(bytes);
    const int64_t now = static_cast<int64_t>(at);
    auto u = r.users.find(name);
    auto g = r.groups.find(name);
    const bool user_live = u != r.users.end() && now < u->second;
    const bool group_live = g != r.groups.end() && now < g->second;
    assert_int_equal(user_live, group_live);  // an engineer goes whole
    return user_live;
}

}  // namespace
