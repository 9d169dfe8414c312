// libFuzzer target: arbitrary bytes as an NSS cache file, through the same
// validation and lookup code libnss_lockbox.so.2 runs (compiled in from its source,
// as fuzz/meson.build links only liblockbox). Inputs with the low bit of the first
// byte set get a valid magic/version/size header patched in, so the fuzzer spends
// its time on section bounds, slot tables, records and strings rather than on
// guessing the magic.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../nss_lockbox/nss_cache_reader.cc"

using namespace lockbox::nss;

namespace {

bool count_gid(uint32_t, void* ctx) { return ++*static_cast<int*>(ctx) < 1000; }

void exercise(const CacheView* v) {
    const int64_t now = 1700000000LL * 1000000;
    char buf[512];
    passwd pw{};
    group gr{};
    const char* names[] = {"eng1", "eng2", "root", "", "lockbox-team", "a"};
    for (const char* n : names) {
        if (const auto* u = find_user_by_name(v, n, now))
            (void)fill_passwd(v, u, &pw, buf, sizeof buf);
        if (const auto* g = find_group_by_name(v, n, now))
            (void)fill_group(v, g, &gr, buf + 1, sizeof buf - 1);
        int n_groups = 0;
        for_each_group_of(v, n, now, count_gid, &n_groups);
    }
    for (uint32_t id : {0u, 1u, 1000u, 2100000001u, 2100090000u, 0xffffffffu}) {
        if (const auto* u = find_user_by_uid(v, id, now))
            (void)fill_passwd(v, u, &pw, buf, 7);  // and a short buffer
        if (const auto* g = find_group_by_gid(v, id, now))
            (void)fill_group(v, g, &gr, buf, sizeof buf);
    }
    // enumeration, bounded so a huge count in a corrupt header cannot stall a run
    for (uint64_t i = 0; i < user_count(v) && i < 4096; i++)
        if (const auto* u = user_at(v, i, now))
            (void)fill_passwd(v, u, &pw, buf, sizeof buf);
    for (uint64_t i = 0; i < group_count(v) && i < 4096; i++)
        if (const auto* g = group_at(v, i, now))
            (void)fill_group(v, g, &gr, buf, sizeof buf);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > (1u << 20))
        return 0;
    // The reader requires the alignment mmap gives it.
    std::vector<uint64_t> words(size / 8 + 1);
    auto* bytes = reinterpret_cast<uint8_t*>(words.data());
    if (size)
        std::memcpy(bytes, data, size);
    if (size >= sizeof(lockbox_nss_cache_header) && (data[0] & 1)) {
        auto* h = reinterpret_cast<lockbox_nss_cache_header*>(bytes);
        std::memcpy(h->magic, LOCKBOX_NSS_CACHE_MAGIC, LOCKBOX_NSS_CACHE_MAGIC_SIZE);
        h->version = LOCKBOX_NSS_CACHE_VERSION;
        h->header_size = sizeof(lockbox_nss_cache_header);
        h->byte_order = LOCKBOX_NSS_CACHE_BYTE_ORDER;
        h->file_size = size;
    }
    CacheView v;
    if (view_open(&v, bytes, size)) {
        (void)view_is_stale(&v);
        exercise(&v);
    }
    return 0;
}
