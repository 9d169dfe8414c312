// SessionKiller against real processes running as a lockbox-range uid: a
// setsid-escaped grandchild and a child that keeps forking while ignoring
// SIGTERM, a fork bomb, and a loop of kill(-1, SIGSTOP) that stops everything
// else of the uid are all gone (by /proc state) when the kill reports done.

#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>
#include <vector>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

using namespace lockboxd;

namespace {

// Inside the lockbox range and used by no other test of this suite.
constexpr uid_t TEST_UID = 2100099971;
// Another login's uid, used by no other test: the test binaries run in
// parallel and scan the whole /proc, so a bystander with a uid another test
// owns (test_as_engineer's 2100099972) is a live process of that test's uid.
constexpr uid_t BYSTANDER_UID = 2100099961;

void become_engineer() {
    if (setgroups(0, nullptr) < 0 || setresgid(TEST_UID, TEST_UID, TEST_UID) < 0 ||
        setresuid(TEST_UID, TEST_UID, TEST_UID) < 0)
        _exit(1);
}

void short_sleep() {
    struct timespec ts {
        0, 2'000'000
    };
    nanosleep(&ts, nullptr);
}

// The engineer's "session": a shell-like parent with an escaped grandchild and
// a forker that ignores SIGTERM. Every process ends on its own after 30 s.
pid_t spawn_tree() {
    pid_t leader = fork();
    if (leader != 0)
        return leader;
    become_engineer();
    alarm(30);
    if (fork() == 0) {  // escapes with setsid, like nohup/disown
        alarm(30);
        setsid();
        if (fork() == 0) {
            alarm(30);
            pause();
            _exit(0);
        }
        pause();
        _exit(0);
    }
    if (fork() == 0) {  // keeps forking, ignores SIGTERM
        alarm(30);
        signal(SIGTERM, SIG_IGN);
        for (int i = 0; i < 100000; i++) {
            pid_t c = fork();
            if (c == 0) {
                alarm(30);
                pause();
                _exit(0);
            }
            short_sleep();
        }
        pause();
        _exit(0);
    }
    pause();
    _exit(0);
}

// A fork bomb held at RLIMIT_NPROC: every process ignores SIGTERM and forks
// again whenever the limit lets it, so a slot freed by a kill is refilled at
// once. The freeze (SIGSTOP until a scan finds nothing new, then SIGKILL) must
// outrun the refills. Ends by itself after 30 s.
constexpr rlim_t BOMB_LIMIT = 64;

pid_t spawn_fork_bomb() {
    pid_t leader = fork();
    if (leader != 0)
        return leader;
    struct rlimit lim {
        BOMB_LIMIT, BOMB_LIMIT
    };
    if (setrlimit(RLIMIT_NPROC, &lim) < 0)
        _exit(1);
    become_engineer();
    signal(SIGTERM, SIG_IGN);
    alarm(30);
    for (;;) {
        pid_t c = fork();
        if (c == 0)
            alarm(30);  // the child joins the bomb: it loops and forks too
        else if (c < 0)
            short_sleep();  // at the limit: try again (the sleep spares the test machine)
    }
}

void reap_all() {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
}

int setup(void**) {
    if (geteuid() != 0)
        return 0;
    // Orphans come to us, so the test can reap what it created.
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    return 0;
}

int teardown(void**) {
    if (geteuid() == 0)
        (void)end_processes_of_uid_now(TEST_UID);
    reap_all();
    return 0;
}

bool wait_for_processes(size_t at_least) {
    for (int i = 0; i < 2500; i++) {  // bounded: 5 s
        if (live_processes_of_uid(TEST_UID).size() >= at_least)
            return true;
        short_sleep();
    }
    return false;
}

void test_every_process_of_uid_is_gone_after_kill(void** state) {
    (void)state;
    if (geteuid() != 0)
        skip();
    assert_true(live_processes_of_uid(TEST_UID).empty());
    spawn_tree();
    assert_true(wait_for_processes(6));
    lockbox::FakeClock clock(1000);
    SessionKiller killer(nullptr, clock);
    bool done = false;
    KillReport report;
    killer.kill_uid(TEST_UID, [&](const KillReport& r) {
        done = true;
        report = r;
    });
    assert_true(done);
    assert_true(report.stragglers.empty());
    assert_true(report.pids.size() >= 6);
    assert_true(live_processes_of_uid(TEST_UID).empty());
    reap_all();
}

void test_fork_bomb_at_its_nproc_limit_is_gone_after_kill(void**) {
    if (geteuid() != 0)
        skip();
    assert_true(live_processes_of_uid(TEST_UID).empty());
    spawn_fork_bomb();
    assert_true(wait_for_processes(BOMB_LIMIT - 4));
    // The killer's own RLIMIT_NPROC below the bomb's count: nothing in the kill
    // may depend on forking or on becoming the uid (on a real host, a bomb
    // fills the default limit every process inherits).
    struct rlimit saved {};
    getrlimit(RLIMIT_NPROC, &saved);
    struct rlimit low {
        BOMB_LIMIT / 2, saved.rlim_max
    };
    assert_int_equal(setrlimit(RLIMIT_NPROC, &low), 0);
    lockbox::FakeClock clock(1000);
    SessionKiller killer(nullptr, clock);
    bool done = false;
    KillReport report;
    killer.kill_uid(TEST_UID, [&](const KillReport& r) {
        done = true;
        report = r;
    });
    setrlimit(RLIMIT_NPROC, &saved);
    assert_true(done);
    assert_true(report.stragglers.empty());
    assert_true(report.pids.size() >= BOMB_LIMIT - 4);
    assert_true(live_processes_of_uid(TEST_UID).empty());
    reap_all();
}

void test_kill_of_uid_without_processes_reports_at_once(void**) {
    if (geteuid() != 0)
        skip();
    lockbox::FakeClock clock(5);
    SessionKiller killer(nullptr, clock);
    bool done = false;
    killer.kill_uid(TEST_UID, [&](const KillReport& r) {
        done = true;
        assert_true(r.pids.empty());
        assert_int_equal(r.finished_at, 5);
    });
    assert_true(done);
}

// The attack of issue 17: the engineer's loop stops every other process of
// the uid, again and again, and ignores SIGTERM and SIGHUP. Nothing of the kill
// runs as the uid, so nothing of it can be stopped: every process goes.
pid_t spawn_stop_loop() {
    pid_t leader = fork();
    if (leader != 0)
        return leader;
    become_engineer();
    alarm(30);
    if (fork() == 0) {  // a session's shell, which the loop keeps stopped
        alarm(30);
        pause();
        _exit(0);
    }
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    for (;;)
        kill(-1, SIGSTOP);
}

bool some_process_stopped() {
    for (int i = 0; i < 2500; i++) {  // bounded: 5 s
        for (pid_t pid : live_processes_of_uid(TEST_UID)) {
            char path[64];
            std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
            if (FILE* f = std::fopen(path, "r")) {
                char buf[512] = {};
                size_t n = std::fread(buf, 1, sizeof buf - 1, f);
                std::fclose(f);
                const char* close = std::strrchr(buf, ')');
                if (n > 0 && close && close[1] == ' ' && close[2] == 'T')
                    return true;
            }
        }
        short_sleep();
    }
    return false;
}

void test_stop_loop_of_the_uid_is_gone_after_kill(void**) {
    if (geteuid() != 0)
        skip();
    assert_true(live_processes_of_uid(TEST_UID).empty());
    spawn_stop_loop();
    assert_true(wait_for_processes(2));
    assert_true(some_process_stopped());
    lockbox::FakeClock clock(1000);
    SessionKiller killer(nullptr, clock);
    bool done = false;
    KillReport report;
    killer.kill_uid(TEST_UID, [&](const KillReport& r) {
        done = true;
        report = r;
    });
    assert_true(done);
    assert_true(report.stragglers.empty());
    assert_true(report.pids.size() >= 2);
    assert_true(live_processes_of_uid(TEST_UID).empty());
    reap_all();
}

// What the engineer ran through sudo: uid 0 now, but the login uid that
// pam_loginuid wrote at their login. The kill reaches it, and leaves alone a
// root process of another login.
void test_root_process_with_the_engineers_login_uid_is_gone_after_kill(void**) {
    if (geteuid() != 0)
        skip();
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    auto spawn_root_with_login_uid = [&](uid_t login) {
        pid_t pid = fork();
        if (pid == 0) {
            close(ready[0]);
            alarm(30);
            FILE* f = fopen("/proc/self/loginuid", "w");
            char ok = f && fprintf(f, "%u", static_cast<unsigned>(login)) > 0 && fclose(f) == 0 ? 'y' : 'n';
            if (write(ready[1], &ok, 1) != 1)
                _exit(1);
            pause();
            _exit(0);
        }
        char ok = 0;
        if (read(ready[0], &ok, 1) != 1)
            ok = 'n';
        return std::make_pair(pid, ok == 'y');
    };
    auto [sudoed, set_ok] = spawn_root_with_login_uid(TEST_UID);
    if (!set_ok) {
        // No CAP_AUDIT_CONTROL, or a kernel without audit: nothing to test here.
        kill(sudoed, SIGKILL);
        waitpid(sudoed, nullptr, 0);
        close(ready[0]);
        close(ready[1]);
        skip();
    }
    auto [bystander, bystander_ok] = spawn_root_with_login_uid(BYSTANDER_UID);
    close(ready[0]);
    close(ready[1]);
    assert_true(bystander_ok);
    assert_int_equal(login_uid_of(sudoed), TEST_UID);
    std::vector<pid_t> before = live_processes_of_uid(TEST_UID);
    assert_int_equal(before.size(), 1);
    assert_int_equal(before[0], sudoed);
    lockbox::FakeClock clock(1000);
    SessionKiller killer(nullptr, clock);
    bool done = false;
    KillReport report;
    killer.kill_uid(TEST_UID, [&](const KillReport& r) {
        done = true;
        report = r;
    });
    assert_true(done);
    assert_true(report.stragglers.empty());
    int status = 0;
    assert_int_equal(waitpid(sudoed, &status, 0), sudoed);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    // The other login's root process still runs.
    assert_int_equal(waitpid(bystander, &status, WNOHANG), 0);
    kill(bystander, SIGKILL);
    waitpid(bystander, nullptr, 0);
}

void test_uid_zero_is_refused(void**) {
    assert_false(end_processes_of_uid_now(0).ok());
    assert_int_equal(signal_processes_of_uid(0, SIGTERM), 0);
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_process_of_uid_is_gone_after_kill),
        cmocka_unit_test(test_fork_bomb_at_its_nproc_limit_is_gone_after_kill),
        cmocka_unit_test(test_kill_of_uid_without_processes_reports_at_once),
        cmocka_unit_test(test_stop_loop_of_the_uid_is_gone_after_kill),
        cmocka_unit_test(test_root_process_with_the_engineers_login_uid_is_gone_after_kill),
        cmocka_unit_test(test_uid_zero_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
