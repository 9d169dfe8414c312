// run_as_engineer() never waits for its child without a deadline: the child
// becomes the engineer's uid, and the engineer can stop it (SIGSTOP), alone or
// with a loop of kill(-1, SIGSTOP). The caller gets an error back and the child
// is killed and reaped; nothing of the uid is left behind.

#include <cerrno>
#include <csignal>
#include <ctime>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "as_engineer.h"
#include "process_table.h"
#include "session_killer.h"

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

// Inside the lockbox range and used by no other test of this suite.
constexpr uid_t TEST_UID = 2100099972;

void no_child_left() {
    // Every child run_as_engineer started was reaped: nothing to wait for.
    errno = 0;
    assert_int_equal(waitpid(-1, nullptr, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

void test_body_result_comes_back(void**) {
    if (geteuid() != 0)
        skip();
    auto r = run_as_engineer(TEST_UID, TEST_UID, [] { return getuid() == TEST_UID && getgid() == TEST_UID ? 7 : 1; });
    assert_true(r.ok());
    assert_int_equal(*r, 7);
    no_child_left();
}

void test_child_that_stops_itself_is_killed_and_reaped(void**) {
    if (geteuid() != 0)
        skip();
    auto r = run_as_engineer(
        TEST_UID, TEST_UID,
        [] {
            ::raise(SIGSTOP);  // what the engineer's kill(-1, SIGSTOP) does to it
            return 0;
        },
        200);
    assert_false(r.ok());
    assert_errc(r.error().code, lockbox::Errc::Timeout);
    no_child_left();
    assert_true(live_processes_of_uid(TEST_UID).empty());
}

// The attack as it runs on a host: a process of the uid loops kill(-1,
// SIGSTOP) with SIGTERM and SIGHUP ignored. Every call returns (done or timed
// out), and the loop itself is ended from root afterwards.
void test_calls_return_while_a_stop_loop_runs(void**) {
    if (geteuid() != 0)
        skip();
    pid_t looper = fork();
    if (looper == 0) {
        if (setgroups(0, nullptr) < 0 || setresgid(TEST_UID, TEST_UID, TEST_UID) < 0 ||
            setresuid(TEST_UID, TEST_UID, TEST_UID) < 0)
            _exit(1);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        alarm(30);
        for (;;)
            kill(-1, SIGSTOP);
    }
    assert_true(looper > 0);
    int timeouts = 0;
    for (int i = 0; i < 20; i++) {
        auto r = run_as_engineer(
            TEST_UID, TEST_UID,
            [] {
                struct timespec ts {
                    0, 20'000'000
                };  // a window the loop can hit
                nanosleep(&ts, nullptr);
                return 0;
            },
            100);
        if (!r.ok()) {
            assert_errc(r.error().code, lockbox::Errc::Timeout);
            timeouts++;
        }
    }
    // The loop stopped at least one child: the deadline, not luck, returned.
    assert_true(timeouts > 0);
    assert_true(end_processes_of_uid_now(TEST_UID).ok());
    assert_int_equal(waitpid(looper, nullptr, 0), looper);
    no_child_left();
}

void test_uid_zero_is_refused(void**) {
    auto r = run_as_engineer(0, 0, [] { return 0; });
    assert_false(r.ok());
}

int teardown(void**) {
    if (geteuid() == 0)
        (void)end_processes_of_uid_now(TEST_UID);
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    return 0;
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_result_comes_back),
        cmocka_unit_test(test_child_that_stops_itself_is_killed_and_reaped),
        cmocka_unit_test(test_calls_return_while_a_stop_loop_runs),
        cmocka_unit_test(test_uid_zero_is_refused),
    };
    return cmocka_run_group_tests(tests, nullptr, teardown);
}
