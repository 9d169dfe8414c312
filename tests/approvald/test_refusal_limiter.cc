// The refused-call limiter: per uid the first N refusals of a window are audited,
// the rest only counted; each window that suppressed something yields exactly
// one summary whose count is what was not audited; uids do not share a quota;
// the number of uids tracked is bounded; a flush at shutdown loses nothing.
#include "refusal_limiter.h"
#include "approvald_test.h"

using namespace approvald_test;

namespace {

constexpr usec_t SEC = USEC_PER_SEC;
constexpr usec_t W = 60 * SEC;

void test_first_n_audited_rest_counted_one_summary(void**) {
    RefusalLimiter lim(3, W);
    unsigned audited = 0;
    for (int i = 0; i < 1000; ++i)
        audited += lim.admit(4000, T0 + i * 1000) ? 1 : 0;
    assert_int_equal(audited, 3);
    assert_true(lim.close_windows(T0 + W - 1).empty());  // window still open
    auto s = lim.close_windows(T0 + W);
    assert_int_equal(s.size(), 1);
    assert_int_equal(s[0].uid, 4000);
    assert_int_equal(s[0].suppressed, 997);
    assert_int_equal(s[0].total, 1000);
    assert_int_equal(s[0].window_start, T0);
    assert_int_equal(s[0].window_end, T0 + W);
    assert_int_equal(lim.tracked(), 0);
    assert_false(lim.next_close().has_value());
}

void test_a_window_within_quota_needs_no_summary(void**) {
    RefusalLimiter lim(3, W);
    for (int i = 0; i < 3; ++i)
        assert_true(lim.admit(4000, T0 + i));
    assert_true(lim.close_windows(T0 + W).empty());
    assert_int_equal(lim.tracked(), 0);
}

void test_a_new_window_audits_again(void**) {
    RefusalLimiter lim(2, W);
    for (int i = 0; i < 5; ++i)
        lim.admit(4000, T0 + i);
    assert_int_equal(lim.close_windows(T0 + W).size(), 1);
    assert_true(lim.admit(4000, T0 + W + SEC));
    assert_true(lim.admit(4000, T0 + W + 2 * SEC));
    assert_false(lim.admit(4000, T0 + W + 3 * SEC));
    assert_int_equal(*lim.next_close(), T0 + W + SEC + W);
}

void test_uids_have_their_own_quota(void**) {
    RefusalLimiter lim(2, W);
    for (int i = 0; i < 100; ++i)
        lim.admit(4000, T0 + i);
    assert_true(lim.admit(4001, T0 + 200));
    assert_true(lim.admit(4001, T0 + 201));
    assert_false(lim.admit(4001, T0 + 202));
    auto s = lim.close_windows(T0 + W + 300);
    assert_int_equal(s.size(), 2);
    unsigned long suppressed = 0;
    for (const auto& w : s)
        suppressed += w.suppressed;
    assert_int_equal(suppressed, 98 + 1);
}

void test_tracked_uids_are_bounded(void**) {
    RefusalLimiter lim(1, W, 4);
    for (uid_t uid = 5000; uid < 5100; ++uid)
        lim.admit(uid, T0);
    assert_true(lim.tracked() <= 5);  // 4 uids + the shared overflow window
    auto s = lim.close_windows(T0 + W);
    assert_int_equal(s.size(), 1);
    assert_int_equal(s[0].uid, REFUSAL_OVERFLOW_UID);
    assert_int_equal(s[0].total, 96);
    assert_int_equal(s[0].suppressed, 95);
}

void test_flush_all_closes_open_windows(void**) {
    RefusalLimiter lim(1, W);
    for (int i = 0; i < 10; ++i)
        lim.admit(4000, T0 + i);
    lim.admit(4001, T0);  // within quota: no summary
    auto s = lim.close_windows(T0 + SEC, true);
    assert_int_equal(s.size(), 1);
    assert_int_equal(s[0].suppressed, 9);
    assert_int_equal(s[0].window_end, T0 + SEC);
    assert_int_equal(lim.tracked(), 0);
}

void test_next_close_is_the_earliest_window_end(void**) {
    RefusalLimiter lim(1, W);
    lim.admit(4000, T0 + 10 * SEC);
    lim.admit(4001, T0);
    assert_int_equal(*lim.next_close(), T0 + W);
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_first_n_audited_rest_counted_one_summary),
        cmocka_unit_test(test_a_window_within_quota_needs_no_summary),
        cmocka_unit_test(test_a_new_window_audits_again),
        cmocka_unit_test(test_uids_have_their_own_quota),
        cmocka_unit_test(test_tracked_uids_are_bounded),
        cmocka_unit_test(test_flush_all_closes_open_windows),
        cmocka_unit_test(test_next_close_is_the_earliest_window_end),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
