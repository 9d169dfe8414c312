// expire_nss_names: lockboxd's fast way to make names stop resolving at 100 000
// engineers, where encoding the whole cache again takes about a second. It
// patches the `expires` field of records in an encoded cache; the patched bytes
// are then written through the same atomic replace as a full rebuild, so a
// reader never sees a half-written file and the format does not change.
#include <cstring>

#include "nss_cache.h"
#include "nss_cache_format.h"

namespace lockbox {
namespace {

// The reader's own checks (nss_lockbox/nss_cache_reader.cc): these bytes came
// from this process, but a patch outside a section would write a wild field.
bool section_fits(const lockbox_nss_cache_section& s, uint64_t elem, uint64_t size) {
    if (s.offset % LOCKBOX_NSS_CACHE_ALIGN != 0 || s.offset < sizeof(lockbox_nss_cache_header) || s.offset > size)
        return false;
    if (s.count > LOCKBOX_NSS_CACHE_MAX_RECORDS * 2ull)
        return false;
    return s.count * elem <= size - s.offset;
}

bool slots_fit(const lockbox_nss_cache_section& s, uint64_t size) {
    return s.count >= 1 && (s.count & (s.count - 1)) == 0 && section_fits(s, sizeof(lockbox_nss_cache_slot), size);
}

// The record index the name's slot table holds for name, or NONE.
template <typename Record>
uint32_t find_by_name(const uint8_t* base, const lockbox_nss_cache_header& h, const lockbox_nss_cache_section& slots,
                      const lockbox_nss_cache_section& records, const char* name) {
    const char* strings = reinterpret_cast<const char*>(base + h.strings.offset);
    uint32_t hash = lockbox_nss_cache_hash_name(name);
    uint64_t mask = slots.count - 1;
    // At most every slot once: a table the writer made is never full.
    for (uint64_t n = 0, i = hash & mask; n < slots.count; n++, i = (i + 1) & mask) {
        lockbox_nss_cache_slot slot;
        std::memcpy(&slot, base + slots.offset + i * sizeof slot, sizeof slot);
        if (slot.index == LOCKBOX_NSS_CACHE_NONE)
            return LOCKBOX_NSS_CACHE_NONE;
        if (slot.key != hash || slot.index >= records.count)
            continue;
        Record r;
        std::memcpy(&r, base + records.offset + slot.index * sizeof r, sizeof r);
        if (r.name < h.strings.count && std::strcmp(strings + r.name, name) == 0)
            return slot.index;
    }
    return LOCKBOX_NSS_CACHE_NONE;
}

}  // namespace

Result<size_t> expire_nss_names(std::vector<uint8_t>& bytes, const std::vector<std::string>& names) {
    auto refuse = [](const char* why) { return make_error(Errc::InvalidArgument, std::string("NSS cache: ") + why); };
    if (bytes.size() < sizeof(lockbox_nss_cache_header))
        return refuse("shorter than its header");
    lockbox_nss_cache_header h;
    std::memcpy(&h, bytes.data(), sizeof h);
    const uint64_t size = bytes.size();
    if (std::memcmp(h.magic, LOCKBOX_NSS_CACHE_MAGIC, LOCKBOX_NSS_CACHE_MAGIC_SIZE) != 0 ||
        h.version != LOCKBOX_NSS_CACHE_VERSION || h.byte_order != LOCKBOX_NSS_CACHE_BYTE_ORDER ||
        h.header_size != sizeof h || h.file_size != size)
        return refuse("not a cache of this version");
    if (!section_fits(h.users, sizeof(lockbox_nss_cache_user), size) ||
        !section_fits(h.groups, sizeof(lockbox_nss_cache_group), size) || !section_fits(h.strings, 1, size) ||
        h.strings.count == 0 || bytes[h.strings.offset + h.strings.count - 1] != 0 ||
        !slots_fit(h.user_name_slots, size) || !slots_fit(h.group_name_slots, size))
        return refuse("a section lies outside the file");
    uint8_t* base = bytes.data();
    const int64_t never = 0;  // the reader resolves a record while now < expires
    size_t expired = 0;
    for (const auto& name : names) {
        uint32_t u = find_by_name<lockbox_nss_cache_user>(base, h, h.user_name_slots, h.users, name.c_str());
        if (u != LOCKBOX_NSS_CACHE_NONE) {
            std::memcpy(
                base + h.users.offset + u * sizeof(lockbox_nss_cache_user) + offsetof(lockbox_nss_cache_user, expires),
                &never, sizeof never);
            expired++;
        }
        uint32_t g = find_by_name<lockbox_nss_cache_group>(base, h, h.group_name_slots, h.groups, name.c_str());
        if (g != LOCKBOX_NSS_CACHE_NONE) {
            std::memcpy(base + h.groups.offset + g * sizeof(lockbox_nss_cache_group) +
                            offsetof(lockbox_nss_cache_group, expires),
                        &never, sizeof never);
            expired++;
        }
    }
    return expired;
}

}  // namespace lockbox
