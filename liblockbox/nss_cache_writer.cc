#include "nss_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "libc_handles.h"
#include "names.h"
#include "nss_cache_format.h"

namespace lockbox {
namespace {

static_assert(sizeof(lockbox_nss_cache_header) % LOCKBOX_NSS_CACHE_ALIGN == 0);
static_assert(sizeof(lockbox_nss_cache_user) == 32);
static_assert(sizeof(lockbox_nss_cache_group) == 24);
static_assert(sizeof(lockbox_nss_cache_membership) == 12);
static_assert(sizeof(lockbox_nss_cache_slot) == 8);

Error errno_error(const std::string& what) {
    int e = errno;
    return make_error(e == ENOENT ? Errc::NotFound : Errc::IoError, what + ": " + std::strerror(e));
}

Error invalid(const std::string& what) { return make_error(Errc::InvalidArgument, what); }

bool is_valid_field(std::string_view s, bool absolute_path) {
    if (s.size() > LOCKBOX_NSS_CACHE_MAX_STRING)
        return false;
    if (absolute_path && (s.empty() || s[0] != '/'))
        return false;
    // ':' and '\n' would corrupt getent output and /etc/passwd-style consumers.
    return s.find_first_of(std::string_view(":\n\0", 3)) == std::string_view::npos;
}

uint64_t slot_count_for(size_t records) {
    // Load factor at most 1/2 keeps probe sequences short (and guarantees an empty
    // slot that ends every miss); a power of two turns the modulo into a mask.
    uint64_t n = 1;
    while (n < records * 2)
        n <<= 1;
    return n;
}

uint64_t align_up(uint64_t v) { return (v + LOCKBOX_NSS_CACHE_ALIGN - 1) & ~uint64_t{LOCKBOX_NSS_CACHE_ALIGN - 1}; }

// Interned strings. The index holds views of the caller's strings, which
// outlive the table (one encode call), so nothing is copied twice.
class StringTable {
public:
    explicit StringTable(size_t expected) {
        bytes_.reserve(expected * 24);
        index_.reserve(expected);
        bytes_.push_back('\0');  // offset 0 is ""
    }
    uint32_t add(std::string_view s) {
        if (s.empty())
            return 0;
        auto it = index_.find(s);
        if (it != index_.end())
            return it->second;
        if (bytes_.size() + s.size() + 1 > LOCKBOX_NSS_CACHE_MAX_SIZE) {
            overflow_ = true;  // offsets are 32-bit; the reader refuses more anyway
            return 0;
        }
        auto off = static_cast<uint32_t>(bytes_.size());
        bytes_.insert(bytes_.end(), s.begin(), s.end());
        bytes_.push_back('\0');
        index_.emplace(s, off);
        return off;
    }
    const std::vector<char>& bytes() const { return bytes_; }
    bool overflow() const { return overflow_; }

private:
    std::vector<char> bytes_;
    bool overflow_ = false;
    std::unordered_map<std::string_view, uint32_t> index_;
};

}  // namespace

Status validate_nss_user(const NssUserEntry& u) {
    if (!is_valid_user_name(u.name))
        return invalid("user name '" + u.name + "' is not a valid login name");
    // The cache must never be able to mint a second root.
    if (u.uid == 0 || u.gid == 0)
        return invalid("user '" + u.name + "' has uid or gid 0");
    if (!is_valid_field(u.gecos, false) || !is_valid_field(u.home, true) || !is_valid_field(u.shell, true))
        return invalid("user '" + u.name + "' has an invalid gecos, home or shell");
    return {};
}

Status validate_nss_group(const NssGroupEntry& g) {
    if (!is_valid_user_name(g.name))
        return invalid("group name '" + g.name + "' is not valid");
    if (g.gid == 0)
        return invalid("group '" + g.name + "' has gid 0");
    std::unordered_set<std::string_view> members;
    for (const auto& m : g.members) {
        if (!is_valid_user_name(m))
            return invalid("group '" + g.name + "' has invalid member '" + m + "'");
        if (!members.insert(m).second)
            return invalid("group '" + g.name + "' lists '" + m + "' twice");
    }
    return {};
}

std::string encode_nss_field(std::string_view text) {
    static constexpr char HEX[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        auto b = static_cast<unsigned char>(ch);
        // ':' ends a passwd field, ',' a gecos subfield (chfn, finger), '\\'
        // starts an escape in some parsers; '%' keeps the encoding reversible.
        if (b < 0x20 || b > 0x7e || b == ':' || b == ',' || b == '%' || b == '\\') {
            out += '%';
            out += HEX[b >> 4];
            out += HEX[b & 0xf];
        } else {
            out += ch;
        }
    }
    return out;
}

namespace {

Status validate(const std::vector<NssUserEntry>& users, const std::vector<NssGroupEntry>& groups) {
    if (users.size() > LOCKBOX_NSS_CACHE_MAX_RECORDS || groups.size() > LOCKBOX_NSS_CACHE_MAX_RECORDS)
        return invalid("too many entries");
    std::unordered_set<std::string_view> names;
    std::unordered_set<uint32_t> ids;
    names.reserve(std::max(users.size(), groups.size()));
    ids.reserve(std::max(users.size(), groups.size()));
    for (const auto& u : users) {
        if (auto st = validate_nss_user(u); !st)
            return st;
        if (!names.insert(u.name).second)
            return invalid("duplicate user name '" + u.name + "'");
        if (!ids.insert(u.uid).second)
            return invalid("duplicate uid " + std::to_string(u.uid));
    }
    names.clear();
    ids.clear();
    size_t member_total = 0;
    for (const auto& g : groups) {
        if (auto st = validate_nss_group(g); !st)
            return st;
        if (!names.insert(g.name).second)
            return invalid("duplicate group name '" + g.name + "'");
        if (!ids.insert(g.gid).second)
            return invalid("duplicate gid " + std::to_string(g.gid));
        member_total += g.members.size();
        if (member_total > LOCKBOX_NSS_CACHE_MAX_RECORDS)
            return invalid("too many group members");
    }
    return {};
}

struct Layout {
    lockbox_nss_cache_header h{};
    uint64_t next = align_up(sizeof(lockbox_nss_cache_header));
    void place(lockbox_nss_cache_section& s, uint64_t count, uint64_t elem) {
        s.offset = next;
        s.count = count;
        next = align_up(next + count * elem);
    }
};

template <typename T>
T* at(std::vector<uint8_t>& buf, const lockbox_nss_cache_section& s, uint64_t i) {
    return reinterpret_cast<T*>(buf.data() + s.offset) + i;
}

}  // namespace

Result<std::vector<uint8_t>> encode_nss_cache(const std::vector<NssUserEntry>& users,
                                              const std::vector<NssGroupEntry>& groups, usec_t written_at) {
    if (auto st = validate(users, groups); !st)
        return st.error();

    StringTable strings(users.size() * 4 + groups.size() + 16);
    std::vector<lockbox_nss_cache_user> urecs(users.size());
    for (size_t i = 0; i < users.size(); i++) {
        const auto& u = users[i];
        urecs[i] = lockbox_nss_cache_user{
            u.expires,           u.uid, u.gid, strings.add(u.name), strings.add(u.gecos), strings.add(u.home),
            strings.add(u.shell)};
    }
    std::vector<lockbox_nss_cache_group> grecs(groups.size());
    std::vector<uint32_t> group_members;
    // member name -> indices of the groups that list it, in group order.
    std::vector<std::string> member_names;
    std::unordered_map<std::string, std::vector<uint32_t>> member_of;
    for (size_t i = 0; i < groups.size(); i++) {
        const auto& g = groups[i];
        grecs[i] =
            lockbox_nss_cache_group{g.expires, g.gid, strings.add(g.name), static_cast<uint32_t>(group_members.size()),
                                    static_cast<uint32_t>(g.members.size())};
        for (const auto& m : g.members) {
            group_members.push_back(strings.add(m));
            auto [it, fresh] = member_of.try_emplace(m);
            if (fresh)
                member_names.push_back(m);
            it->second.push_back(static_cast<uint32_t>(i));
        }
    }
    std::vector<lockbox_nss_cache_membership> mrecs(member_names.size());
    std::vector<uint32_t> membership_groups;
    for (size_t i = 0; i < member_names.size(); i++) {
        const auto& list = member_of[member_names[i]];
        mrecs[i] =
            lockbox_nss_cache_membership{strings.add(member_names[i]), static_cast<uint32_t>(membership_groups.size()),
                                         static_cast<uint32_t>(list.size())};
        membership_groups.insert(membership_groups.end(), list.begin(), list.end());
    }
    if (strings.overflow())
        return invalid("string table too large");

    Layout l;
    auto& h = l.h;
    l.place(h.users, urecs.size(), sizeof(lockbox_nss_cache_user));
    l.place(h.user_name_slots, slot_count_for(urecs.size()), sizeof(lockbox_nss_cache_slot));
    l.place(h.user_id_slots, slot_count_for(urecs.size()), sizeof(lockbox_nss_cache_slot));
    l.place(h.groups, grecs.size(), sizeof(lockbox_nss_cache_group));
    l.place(h.group_name_slots, slot_count_for(grecs.size()), sizeof(lockbox_nss_cache_slot));
    l.place(h.group_id_slots, slot_count_for(grecs.size()), sizeof(lockbox_nss_cache_slot));
    l.place(h.group_members, group_members.size(), sizeof(uint32_t));
    l.place(h.memberships, mrecs.size(), sizeof(lockbox_nss_cache_membership));
    l.place(h.membership_slots, slot_count_for(mrecs.size()), sizeof(lockbox_nss_cache_slot));
    l.place(h.membership_groups, membership_groups.size(), sizeof(uint32_t));
    l.place(h.strings, strings.bytes().size(), 1);
    if (l.next > LOCKBOX_NSS_CACHE_MAX_SIZE)
        return invalid("cache would exceed the reader's size limit");

    std::memcpy(h.magic, LOCKBOX_NSS_CACHE_MAGIC, LOCKBOX_NSS_CACHE_MAGIC_SIZE);
    h.version = LOCKBOX_NSS_CACHE_VERSION;
    h.header_size = sizeof(lockbox_nss_cache_header);
    h.stale = 0;
    h.byte_order = LOCKBOX_NSS_CACHE_BYTE_ORDER;
    h.file_size = l.next;
    h.written_at = written_at;

    std::vector<uint8_t> buf(l.next, 0);
    for (auto* sec :
         {&h.user_name_slots, &h.user_id_slots, &h.group_name_slots, &h.group_id_slots, &h.membership_slots})
        for (uint64_t i = 0; i < sec->count; i++)
            *at<lockbox_nss_cache_slot>(buf, *sec, i) = {0, LOCKBOX_NSS_CACHE_NONE};
    // Linear probing; the table is at most half full, so an empty slot is near.
    auto insert = [&](const lockbox_nss_cache_section& sec, uint32_t hash, uint32_t key, uint32_t index) {
        uint64_t mask = sec.count - 1;
        for (uint64_t i = hash & mask;; i = (i + 1) & mask) {
            auto* slot = at<lockbox_nss_cache_slot>(buf, sec, i);
            if (slot->index == LOCKBOX_NSS_CACHE_NONE) {
                *slot = {key, index};
                return;
            }
        }
    };
    const char* str = strings.bytes().data();
    for (uint32_t i = 0; i < urecs.size(); i++) {
        const auto& r = urecs[i];
        uint32_t nh = lockbox_nss_cache_hash_name(str + r.name);
        insert(h.user_name_slots, nh, nh, i);
        insert(h.user_id_slots, lockbox_nss_cache_hash_id(r.uid), r.uid, i);
        *at<lockbox_nss_cache_user>(buf, h.users, i) = r;
    }
    for (uint32_t i = 0; i < grecs.size(); i++) {
        const auto& r = grecs[i];
        uint32_t nh = lockbox_nss_cache_hash_name(str + r.name);
        insert(h.group_name_slots, nh, nh, i);
        insert(h.group_id_slots, lockbox_nss_cache_hash_id(r.gid), r.gid, i);
        *at<lockbox_nss_cache_group>(buf, h.groups, i) = r;
    }
    for (uint32_t i = 0; i < mrecs.size(); i++) {
        const auto& r = mrecs[i];
        uint32_t nh = lockbox_nss_cache_hash_name(str + r.name);
        insert(h.membership_slots, nh, nh, i);
        *at<lockbox_nss_cache_membership>(buf, h.memberships, i) = r;
    }
    for (size_t i = 0; i < group_members.size(); i++)
        *at<uint32_t>(buf, h.group_members, i) = group_members[i];
    for (size_t i = 0; i < membership_groups.size(); i++)
        *at<uint32_t>(buf, h.membership_groups, i) = membership_groups[i];
    std::memcpy(buf.data() + h.strings.offset, str, strings.bytes().size());
    std::memcpy(buf.data(), &h, sizeof h);
    return buf;
}

namespace {

Status write_all(int fd, const std::vector<uint8_t>& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return errno_error("write");
        done += static_cast<size_t>(n);
    }
    return {};
}

// Tells every process that maps the old file to remap, through the mapping they
// already have: one aligned 4-byte store, which readers load atomically.
void mark_stale(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (fd.get() < 0)
        return;  // no old file: nothing to tell
    struct stat st {};
    if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size < static_cast<off_t>(sizeof(lockbox_nss_cache_header)))
        return;
    char magic[LOCKBOX_NSS_CACHE_MAGIC_SIZE];
    if (pread(fd.get(), magic, sizeof magic, 0) != static_cast<ssize_t>(sizeof magic) ||
        std::memcmp(magic, LOCKBOX_NSS_CACHE_MAGIC, sizeof magic) != 0)
        return;  // not ours: never scribble on a foreign file
    uint32_t one = 1;
    (void)!pwrite(fd.get(), &one, sizeof one, offsetof(lockbox_nss_cache_header, stale));
}

}  // namespace

Status write_nss_cache(const std::string& path, const std::vector<NssUserEntry>& users,
                       const std::vector<NssGroupEntry>& groups) {
    auto bytes = encode_nss_cache(users, groups, system_clock().now());
    if (!bytes)
        return bytes.error();
    return replace_nss_cache(path, *bytes);
}

Status replace_nss_cache(const std::string& path, const std::vector<uint8_t>& bytes, Durability durability) {
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    // Same directory, so the rename is atomic; a dot name so no glob picks it up.
    std::string tmp = dir + "/.nss.cache.XXXXXX";
    UniqueFd fd(mkostemp(tmp.data(), O_CLOEXEC));  // O_CREAT|O_EXCL, mode 0600
    if (fd.get() < 0)
        return errno_error("create temp file in " + dir);
    auto fail = [&](Error e) {
        ::unlink(tmp.c_str());
        return e;
    };
    if (auto st = write_all(fd.get(), bytes); !st)
        return fail(st.error());
    // The reader refuses group/other-writable files; 0644 lets every process read.
    if (fchmod(fd.get(), 0644) != 0)
        return fail(errno_error("fchmod " + tmp));
    if (durability == Durability::Synced && fsync(fd.get()) != 0)
        return fail(errno_error("fsync " + tmp));
    if (fd.close_checked() != 0)
        return fail(errno_error("close " + tmp));

    // Marked before the rename: if we die between the two, readers fall back to
    // checking the path rather than trusting an old mapping forever.
    mark_stale(path);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        return fail(errno_error("rename " + tmp + " to " + path));

    if (durability == Durability::Unsynced)
        return {};
    UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd.get() < 0)
        return errno_error("open " + dir);
    if (fsync(dfd.get()) != 0)
        return errno_error("fsync " + dir);
    return {};
}

Status withdraw_nss_cache(const std::string& path) {
    // Stale first: a process that keeps the old mapping re-checks the path,
    // finds nothing and answers "no such user".
    mark_stale(path);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return errno_error("unlink " + path);
    return {};
}

}  // namespace lockbox
