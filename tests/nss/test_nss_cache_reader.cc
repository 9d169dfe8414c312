// nss_lockbox/nss_cache_reader.cc against bytes from the real encoder: round trip,
// expiry, ERANGE, and every way a file can lie about itself.

#include <cstring>
#include <string>
#include <vector>

#include "nss_cache_reader.h"
#include "nss_test_fixtures.h"

// cmocka last: its fail() macro would break C++ standard headers.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
extern "C" {  // cmocka 1.1 has no C++ guards of its own
#include <cmocka.h>
}

using namespace lockbox;
using namespace lockbox::nss;
using namespace lockbox::nss_test;

namespace {

std::vector<uint8_t> sample_bytes(usec_t now) {
    auto r = encode_nss_cache(sample_users(now), sample_groups(now), now);
    assert_true(r.ok());
    return *r;
}

lockbox_nss_cache_header* header_of(AlignedBytes& b) { return reinterpret_cast<lockbox_nss_cache_header*>(b.data()); }

bool opens(AlignedBytes& b) {
    CacheView v;
    return view_open(&v, b.data(), b.size());
}

void test_round_trip_resolves_users_by_name_and_uid(void**) {
    usec_t now = wall_now();
    AlignedBytes b(sample_bytes(now));
    CacheView v;
    assert_true(view_open(&v, b.data(), b.size()));
    assert_false(view_is_stale(&v));
    const auto* u = find_user_by_name(&v, "eng2", now);
    assert_non_null(u);
    passwd pw{};
    char buf[512];
    assert_int_equal(static_cast<int>(fill_passwd(&v, u, &pw, buf, sizeof buf)), static_cast<int>(Fill::ok));
    assert_string_equal(pw.pw_name, "eng2");
    assert_string_equal(pw.pw_passwd, "*");
    assert_int_equal(pw.pw_uid, kUid2);
    assert_int_equal(pw.pw_gid, kUid2);
    assert_string_equal(pw.pw_gecos, "Engineer eng2,INC-1");
    assert_string_equal(pw.pw_dir, "/var/lib/lockbox/home/eng2");
    assert_string_equal(pw.pw_shell, "/bin/bash");
    assert_ptr_equal(find_user_by_uid(&v, kUid1, now), find_user_by_name(&v, "eng1", now));
}

void test_round_trip_resolves_groups_with_members(void**) {
    usec_t now = wall_now();
    AlignedBytes b(sample_bytes(now));
    CacheView v;
    assert_true(view_open(&v, b.data(), b.size()));
    const auto* g = find_group_by_name(&v, "lockbox-team", now);
    assert_non_null(g);
    assert_ptr_equal(g, find_group_by_gid(&v, kTeamGid, now));
    group gr{};
    char buf[512];
    assert_int_equal(static_cast<int>(fill_group(&v, g, &gr, buf, sizeof buf)), static_cast<int>(Fill::ok));
    assert_string_equal(gr.gr_name, "lockbox-team");
    assert_int_equal(gr.gr_gid, kTeamGid);
    assert_string_equal(gr.gr_mem[0], "eng1");
    assert_string_equal(gr.gr_mem[1], "eng2");
    assert_string_equal(gr.gr_mem[2], "old1");
    assert_null(gr.gr_mem[3]);
}

void test_unknown_names_and_ids_do_not_resolve(void**) {
    usec_t now = wall_now();
    AlignedBytes b(sample_bytes(now));
    CacheView v;
    assert_true(view_open(&v, b.data(), b.size()));
    assert_null(find_user_by_name(&v, "root", now));
    assert_null(find_user_by_name(&v, "", now));
    assert_null(find_user_by_uid(&v, 0, now));
    assert_null(find_user_by_uid(&v, kTeamGid, now));
    assert_null(find_group_by_name(&v, "eng3", now));
    assert_null(find_group_by_gid(&v, 0, now));
}

void test_expired_records_do_not_resolve(void**) {
    usec_t now = wall_now();
    AlignedBytes b(sample_bytes(now));
    CacheView v;
    assert_true(view_open(&v, b.data(), b.size()));
    assert_null(find_user_by_name(&v, "old1", now));
    assert_null(find_user_by_uid(&v, kUidExpired, now));
    assert_null(find_group_by_name(&v, "old1", now));
    // and the live ones stop at their own expiry, with nobody rewriting the file
    usec_t later = now + 3600 * USEC_PER_SEC;
    assert_non_null(find_user_by_name(&v, "eng1", later - 1));
    assert_null(find_user_by_name(&v, "eng1", later));
    assert_null(find_group_by_gid(&v, kTeamGid, later));
}

bool collect(uint32_t gid, void* ctx) {
    static_cast<std::vector<uint32_t>*>(ctx)->push_back(gid);
    return true;
}

void test_memberships_list_live_groups_of_member(void**) {
    usec_t now = wall_now();
    AlignedBytes b(sample_bytes(now));
    CacheView v;
    assert_true(view_open(&v, b.data(), b.size()));
    std::vector<uint32_t> gids;
    assert_true(for_each_group_of(&v, "eng2", now, collect, &gids));
    assert_int_equal(gids.size(), 1);
    assert_int_equal(gids[0], kTeamGid);
    gids.clear();
    for_each_group_of(&v, "nobody-here", now, collect, &gids);
    assert_true(gids.empty());
    for_each_group_of(&v, "eng2", now + 3600 * USEC_PER_SEC, collect, &gids);
    assert_true(gids.empty());  // the group itself expired
}

void test_fill_passwd_reports_erange_for_every_short_buffer(void**) {
    usec_t now = wall_now();
    AlignedBytes b(sample_bytes(now));
    CacheView v;
    assert_true(view_open(&v, b.data(), b.size()));
    const auto* u = find_user_by_name(&v, "eng1", now);
    size_t need = 5 + 2 + std::strlen("Engineer eng1,INC-1") + 1 + std::strlen("/var/lib/lockbox/home/eng1") + 1 + 10;
    std::vector<char> buf(need);
    passwd pw{};
    for (size_t len = 0; len < need; len++)
        assert_int_equal(static_cast<int>(fill_passwd(&v, u, &pw, buf.data(), len)), static_cast<int>(Fill::erange));
    assert_int_equal(static_cast<int>(fill_passwd(&v, u, &pw, buf.data(), need)), static_cast<int>(Fill::ok));
}

void test_fill_group_reports_erange_for_every_short_buffer(void**) {
    usec_t now = wall_now();
    AlignedBytes b(sample_bytes(now));
    CacheView v;
    assert_true(view_open(&v, b.data(), b.size()));
    const auto* g = find_group_by_name(&v, "lockbox-team", now);
    group gr{};
    std::vector<char> buf(256);
    // from an odd address too: gr_mem must still land aligned
    for (size_t off : {0, 1, 3}) {
        size_t len = 0;
        while (fill_group(&v, g, &gr, buf.data() + off, len) == Fill::erange)
            len++;
        assert_true(len > 4 * sizeof(char*));
        assert_int_equal(reinterpret_cast<uintptr_t>(gr.gr_mem) % alignof(char*), 0);
        assert_string_equal(gr.gr_mem[2], "old1");
    }
}

void test_rejects_every_truncation(void**) {
    auto bytes = sample_bytes(wall_now());
    for (size_t len = 0; len < bytes.size(); len++) {
        AlignedBytes b(std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(len)));
        assert_false(opens(b));
    }
}

void test_rejects_garbage(void**) {
    std::vector<uint8_t> junk(4096);
    uint32_t x = 12345;
    for (auto& c : junk) {
        x = x * 1103515245 + 12345;
        c = static_cast<uint8_t>(x >> 16);
    }
    AlignedBytes b(junk);
    assert_false(opens(b));
}

void test_rejects_wrong_magic_version_byte_order_and_header_size(void**) {
    auto bytes = sample_bytes(wall_now());
    {
        AlignedBytes b(bytes);
        header_of(b)->magic[0] = 'X';
        assert_false(opens(b));
    }
    {
        AlignedBytes b(bytes);
        header_of(b)->version = LOCKBOX_NSS_CACHE_VERSION + 1;
        assert_false(opens(b));
    }
    {
        AlignedBytes b(bytes);
        header_of(b)->byte_order = 0x04030201;
        assert_false(opens(b));
    }
    {
        AlignedBytes b(bytes);
        header_of(b)->header_size += 8;
        assert_false(opens(b));
    }
    {
        AlignedBytes b(bytes);
        header_of(b)->file_size += 8;  // size disagrees with the file
        assert_false(opens(b));
    }
    AlignedBytes ok(bytes);
    assert_true(opens(ok));
}

void test_rejects_sections_out_of_range(void**) {
    auto bytes = sample_bytes(wall_now());
    using Field = lockbox_nss_cache_section lockbox_nss_cache_header::*;
    const Field fields[] = {&lockbox_nss_cache_header::users,
                            &lockbox_nss_cache_header::user_name_slots,
                            &lockbox_nss_cache_header::user_id_slots,
                            &lockbox_nss_cache_header::groups,
                            &lockbox_nss_cache_header::group_name_slots,
                            &lockbox_nss_cache_header::group_id_slots,
                            &lockbox_nss_cache_header::group_members,
                            &lockbox_nss_cache_header::memberships,
                            &lockbox_nss_cache_header::membership_slots,
                            &lockbox_nss_cache_header::membership_groups,
                            &lockbox_nss_cache_header::strings};
    for (Field f : fields) {
        {
            AlignedBytes b(bytes);
            (header_of(b)->*f).offset = b.size() + 8;
            assert_false(opens(b));
        }
        {
            AlignedBytes b(bytes);
            (header_of(b)->*f).count = UINT64_MAX / 2;  // would overflow offset + count * size
            assert_false(opens(b));
        }
        {
            AlignedBytes b(bytes);
            (header_of(b)->*f).offset = 4;  // inside the header, misaligned
            assert_false(opens(b));
        }
    }
}

void test_rejects_slot_count_not_power_of_two(void**) {
    AlignedBytes b(sample_bytes(wall_now()));
    header_of(b)->user_name_slots.count -= 1;
    assert_false(opens(b));
    AlignedBytes z(sample_bytes(wall_now()));
    header_of(z)->group_id_slots.count = 0;
    assert_false(opens(z));
}

void test_rejects_string_table_without_final_nul(void**) {
    AlignedBytes b(sample_bytes(wall_now()));
    auto* h = header_of(b);
    b.data()[h->strings.offset + h->strings.count - 1] = 'x';
    assert_false(opens(b));
}

void test_rejects_oversize_before_reading(void**) {
    AlignedBytes b(sample_bytes(wall_now()));
    header_of(b)->file_size = uint64_t{LOCKBOX_NSS_CACHE_MAX_SIZE} + 8;
    CacheView v;
    // the size check comes first, so no byte past the real buffer is touched
    assert_false(view_open(&v, b.data(), uint64_t{LOCKBOX_NSS_CACHE_MAX_SIZE} + 8));
}

lockbox_nss_cache_slot* slots(AlignedBytes& b, const lockbox_nss_cache_section& s) {
    return reinterpret_cast<lockbox_nss_cache_slot*>(b.data() + s.offset);
}

void test_probe_of_a_table_without_empty_slot_terminates(void**) {
    usec_t now = wall_now();
    AlignedBytes b(sample_bytes(now));
    auto* h = header_of(b);
    uint32_t miss = lockbox_nss_cache_hash_name("missing");
    for (uint64_t i = 0; i < h->user_name_slots.count; i++)
        slots(b, h->user_name_slots)[i] = {miss, 0};  // every slot claims the key, none matches
    for (uint64_t i = 0; i < h->user_id_slots.count; i++)
        slots(b, h->user_id_slots)[i] = {42, 1};
    CacheView v;
    assert_true(view_open(&v, b.data(), b.size()));
    assert_null(find_user_by_name(&v, "missing", now));
    assert_null(find_user_by_uid(&v, 42, now));
}

void test_out_of_range_indexes_and_offsets_are_not_followed(void**) {
    usec_t now = wall_now();
    AlignedBytes b(sample_bytes(now));
    auto* h = header_of(b);
    uint32_t miss = lockbox_nss_cache_hash_name("missing");
    slots(b, h->user_name_slots)[miss & (h->user_name_slots.count - 1)] = {miss, 999999};
    CacheView v;
    assert_true(view_open(&v, b.data(), b.size()));
    assert_null(find_user_by_name(&v, "missing", now));

    const auto* u = find_user_by_name(&v, "eng1", now);
    assert_non_null(u);
    const_cast<lockbox_nss_cache_user*>(u)->home = UINT32_MAX - 1;
    passwd pw{};
    char buf[512];
    assert_int_equal(static_cast<int>(fill_passwd(&v, u, &pw, buf, sizeof buf)), static_cast<int>(Fill::invalid));
    const_cast<lockbox_nss_cache_user*>(u)->name = UINT32_MAX;
    assert_null(find_user_by_uid(&v, kUid1, now));

    auto* g = const_cast<lockbox_nss_cache_group*>(find_group_by_name(&v, "lockbox-team", now));
    g->members_count = 1000000;
    group gr{};
    assert_int_equal(static_cast<int>(fill_group(&v, g, &gr, buf, sizeof buf)), static_cast<int>(Fill::invalid));
}

void test_record_with_uid_zero_is_refused(void**) {
    usec_t now = wall_now();
    AlignedBytes b(sample_bytes(now));
    CacheView v;
    assert_true(view_open(&v, b.data(), b.size()));
    auto* u = const_cast<lockbox_nss_cache_user*>(find_user_by_name(&v, "eng1", now));
    u->gid = 0;
    assert_null(find_user_by_name(&v, "eng1", now));
    u->gid = kUid1;
    u->uid = 0;
    assert_null(find_user_by_name(&v, "eng1", now));
}

void test_precise_clock_decides_near_expiry(void**) {
    int64_t now = realtime_now_usec();
    assert_true(live_at_precise_time(now + 3600 * USEC_PER_SEC, now));
    // a coarse clock lagging 15 ms must not keep an expired record alive
    assert_false(live_at_precise_time(now - 1, now - 15000));
    assert_true(realtime_coarse_usec() <= realtime_now_usec());
}

void test_empty_cache_opens_and_resolves_nothing(void**) {
    usec_t now = wall_now();
    auto r = encode_nss_cache({}, {}, now);
    assert_true(r.ok());
    AlignedBytes b(*r);
    CacheView v;
    assert_true(view_open(&v, b.data(), b.size()));
    assert_null(find_user_by_name(&v, "eng1", now));
    assert_null(user_at(&v, 0, now));
    assert_null(group_at(&v, 0, now));
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_resolves_users_by_name_and_uid),
        cmocka_unit_test(test_round_trip_resolves_groups_with_members),
        cmocka_unit_test(test_unknown_names_and_ids_do_not_resolve),
        cmocka_unit_test(test_expired_records_do_not_resolve),
        cmocka_unit_test(test_memberships_list_live_groups_of_member),
        cmocka_unit_test(test_fill_passwd_reports_erange_for_every_short_buffer),
        cmocka_unit_test(test_fill_group_reports_erange_for_every_short_buffer),
        cmocka_unit_test(test_rejects_every_truncation),
        cmocka_unit_test(test_rejects_garbage),
        cmocka_unit_test(test_rejects_wrong_magic_version_byte_order_and_header_size),
        cmocka_unit_test(test_rejects_sections_out_of_range),
        cmocka_unit_test(test_rejects_slot_count_not_power_of_two),
        cmocka_unit_test(test_rejects_string_table_without_final_nul),
        cmocka_unit_test(test_rejects_oversize_before_reading),
        cmocka_unit_test(test_probe_of_a_table_without_empty_slot_terminates),
        cmocka_unit_test(test_out_of_range_indexes_and_offsets_are_not_followed),
        cmocka_unit_test(test_record_with_uid_zero_is_refused),
        cmocka_unit_test(test_precise_clock_decides_near_expiry),
        cmocka_unit_test(test_empty_cache_opens_and_resolves_nothing),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
