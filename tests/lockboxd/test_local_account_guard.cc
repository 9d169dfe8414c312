// The local-account guard: lockbox is cut out of this process's NSS lists, and
// a name or uid that any other source knows is refused whatever its uid (also
// inside the lockbox range); a source that fails is a refusal, not "absent".
// The first tests ask this host's real NSS; the rest put in sources that answer
// or fail on demand (NssLookups) to reach what a real host rarely shows.

#include <cerrno>
#include <cstring>
#include <string>

#include "local_account_guard.h"

// cmocka last: its macros (fail, skip) must not meet the C++ headers.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}
#include "../errc_assert.h"

using namespace lockboxd;

namespace {

constexpr uint32_t MIN = 2100000000;

// What each fake lookup answers: 0 absent, 1 found, anything else that error.
struct Answers {
    int pwnam = 0, pwuid = 0, grnam = 0, grgid = 0;
    size_t need_buffer = 0;  // ERANGE while the caller's buffer is smaller
};
Answers answers;
char fake_name[] = "eng";

template <typename Record>
int answer(int how, Record* rec, size_t len, Record** res) {
    *res = nullptr;
    if (len < answers.need_buffer)
        return ERANGE;
    if (how == 0)
        return 0;
    if (how != 1)
        return how;
    *res = rec;
    return 0;
}
int fake_pwnam(const char*, struct passwd* pw, char*, size_t len, struct passwd** res) {
    pw->pw_name = fake_name;
    pw->pw_uid = MIN + 3;  // inside the lockbox range: still not ours
    return answer(answers.pwnam, pw, len, res);
}
int fake_pwuid(uid_t uid, struct passwd* pw, char*, size_t len, struct passwd** res) {
    pw->pw_name = fake_name;
    pw->pw_uid = uid;
    return answer(answers.pwuid, pw, len, res);
}
int fake_grnam(const char*, struct group* gr, char*, size_t len, struct group** res) {
    gr->gr_name = fake_name;
    gr->gr_gid = MIN + 3;
    return answer(answers.grnam, gr, len, res);
}
int fake_grgid(gid_t gid, struct group* gr, char*, size_t len, struct group** res) {
    gr->gr_name = fake_name;
    gr->gr_gid = gid;
    return answer(answers.grgid, gr, len, res);
}

NssLookups fake_sources(Answers a) {
    answers = a;
    NssLookups n;
    n.getpwnam_r = fake_pwnam;
    n.getpwuid_r = fake_pwuid;
    n.getgrnam_r = fake_grnam;
    n.getgrgid_r = fake_grgid;
    return n;
}

void expect_code(const lockbox::Status& st, lockbox::Errc code) {
    if (st.ok())
        fail_msg("expected %s, got success", lockbox::errc_name(code));
    if (st.error().code != code)
        fail_msg("expected %s, got %s: %s", lockbox::errc_name(code), lockbox::errc_name(st.error().code),
                 st.error().message.c_str());
}

void test_lockbox_service_is_removed_with_its_actions(void**) {
    assert_string_equal(services_without_lockbox(" files lockbox systemd").c_str(), "files systemd");
    assert_string_equal(services_without_lockbox("files lockbox [NOTFOUND=return] sss").c_str(), "files sss");
    assert_string_equal(services_without_lockbox("files [SUCCESS=return] lockbox").c_str(), "files [SUCCESS=return]");
    assert_string_equal(services_without_lockbox("lockbox").c_str(), "files");
    assert_string_equal(services_without_lockbox("files systemd").c_str(), "files systemd");
}

void test_root_name_is_a_local_account(void**) {
    expect_code(check_no_local_account("root", MIN + 5), lockbox::Errc::NameConflict);
}

void test_unknown_name_in_range_is_accepted(void**) {
    assert_true(check_no_local_account("lbx-nobody-here", MIN + 7).ok());
}

void test_uid_of_a_local_account_is_refused(void**) {
    // uid 0 resolves to root in every NSS setup.
    expect_code(check_no_local_account("lbx-nobody-here", 0), lockbox::Errc::NameConflict);
}

void test_name_known_elsewhere_with_uid_in_lockbox_range_is_refused(void**) {
    auto st = check_no_local_account("eng", MIN + 3, fake_sources({.pwnam = 1}));
    expect_code(st, lockbox::Errc::NameConflict);
    assert_non_null(std::strstr(st.error().message.c_str(), "user name eng"));
}

void test_uid_known_elsewhere_under_the_same_name_is_refused(void**) {
    expect_code(check_no_local_account("eng", MIN + 3, fake_sources({.pwuid = 1})), lockbox::Errc::NameConflict);
}

void test_group_name_or_gid_known_elsewhere_is_refused(void**) {
    expect_code(check_no_local_account("eng", MIN + 3, fake_sources({.grnam = 1})), lockbox::Errc::NameConflict);
    expect_code(check_no_local_account("eng", MIN + 3, fake_sources({.grgid = 1})), lockbox::Errc::NameConflict);
}

void test_nobody_knows_it_is_ours(void**) {
    assert_true(check_no_local_account("eng", MIN + 3, fake_sources({})).ok());
}

void test_a_failing_source_refuses_instead_of_absent(void**) {
    // sssd down or a directory unreachable: glibc returns the source's errno.
    for (int e : {EIO, EAGAIN, ENOENT, ETIMEDOUT, ECONNREFUSED}) {
        auto st = check_no_local_account("eng", MIN + 3, fake_sources({.pwnam = e}));
        expect_code(st, lockbox::Errc::NssLookupFailed);
        assert_non_null(std::strstr(st.error().message.c_str(), strerrorname_np(e)));
    }
    expect_code(check_no_local_account("eng", MIN + 3, fake_sources({.grgid = EIO})), lockbox::Errc::NssLookupFailed);
}

void test_a_conflict_wins_over_a_failure_in_the_report(void**) {
    expect_code(check_no_local_account("eng", MIN + 3, fake_sources({.pwnam = EIO, .grnam = 1})),
                lockbox::Errc::NameConflict);
}

void test_a_large_record_is_retried_with_a_larger_buffer(void**) {
    expect_code(check_no_local_account("eng", MIN + 3, fake_sources({.pwnam = 1, .need_buffer = 200000})),
                lockbox::Errc::NameConflict);
    assert_true(check_no_local_account("eng", MIN + 3, fake_sources({.need_buffer = 200000})).ok());
}

void test_erange_without_end_is_a_failure(void**) {
    expect_code(check_no_local_account("eng", MIN + 3, fake_sources({.need_buffer = SIZE_MAX})),
                lockbox::Errc::NssLookupFailed);
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lockbox_service_is_removed_with_its_actions),
        cmocka_unit_test(test_root_name_is_a_local_account),
        cmocka_unit_test(test_unknown_name_in_range_is_accepted),
        cmocka_unit_test(test_uid_of_a_local_account_is_refused),
        cmocka_unit_test(test_name_known_elsewhere_with_uid_in_lockbox_range_is_refused),
        cmocka_unit_test(test_uid_known_elsewhere_under_the_same_name_is_refused),
        cmocka_unit_test(test_group_name_or_gid_known_elsewhere_is_refused),
        cmocka_unit_test(test_nobody_knows_it_is_ours),
        cmocka_unit_test(test_a_failing_source_refuses_instead_of_absent),
        cmocka_unit_test(test_a_conflict_wins_over_a_failure_in_the_report),
        cmocka_unit_test(test_a_large_record_is_retried_with_a_larger_buffer),
        cmocka_unit_test(test_erange_without_end_is_a_failure),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
