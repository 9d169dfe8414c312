// process_table: /proc parsing, zombies count as gone.

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "process_table.h"
#include "temp_dir.h"

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

std::string g_root;
TempDir* g_tmp = nullptr;

void write_status(pid_t pid, char state, unsigned r, unsigned e, unsigned s, const std::string& root = g_root) {
    std::string dir = root + "/" + std::to_string(pid);
    mkdir(dir.c_str(), 0755);
    std::ofstream(dir + "/status") << "Name:\ttest\nUmask:\t0022\nState:\t" << state << " (x)\nTgid:\t" << pid
                                   << "\nUid:\t" << r << "\t" << e << "\t" << s << "\t" << e << "\n";
}

int setup(void**) {
    g_tmp = new TempDir();
    g_root = g_tmp->path();
    write_status(100, 'S', 2100000001, 2100000001, 2100000001);
    write_status(101, 'Z', 2100000001, 2100000001, 2100000001);  // zombie: gone
    write_status(102, 'R', 1000, 2100000001, 1000);              // euid only
    write_status(103, 'S', 0, 0, 2100000001);                    // saved uid only
    write_status(104, 'S', 1000, 1000, 1000);
    mkdir((g_root + "/self").c_str(), 0755);
    return 0;
}

int teardown(void**) {
    delete g_tmp;
    return 0;
}

void test_parse_status_reads_state_and_uids(void**) {
    ProcessInfo info;
    assert_true(parse_proc_status("State:\tZ (zombie)\nUid:\t1\t2\t3\t4\n", info));
    assert_int_equal(info.state, 'Z');
    assert_int_equal(info.ruid, 1);
    assert_int_equal(info.euid, 2);
    assert_int_equal(info.suid, 3);
    assert_false(parse_proc_status("State:\tS\n", info));
}

void test_zombies_are_gone_and_any_uid_counts(void**) {
    auto pids = live_processes_of_uid(2100000001, g_root);
    std::sort(pids.begin(), pids.end());
    assert_int_equal(pids.size(), 3);
    assert_int_equal(pids[0], 100);
    assert_int_equal(pids[1], 102);
    assert_int_equal(pids[2], 103);
}

void test_live_uids_in_range_ignores_others(void**) {
    auto uids = live_uids_in_range(2100000000, 2100099999, g_root);
    assert_int_equal(uids.size(), 1);
    assert_int_equal(uids[0], 2100000001);
}

// A login whose shell's child escaped with setsid: same audit session, its own
// kernel session.
void write_session_member(const std::string& root, pid_t pid, char state, uint32_t audit, pid_t sid) {
    write_status(pid, state, 2100000002, 2100000002, 2100000002, root);
    std::string dir = root + "/" + std::to_string(pid);
    std::ofstream(dir + "/sessionid") << audit;
    std::ofstream(dir + "/stat") << pid << " (sh (x)) " << state << " 1 " << sid << " " << sid << " 0 -1 4194560\n";
}

void test_session_scope_prefers_the_audit_session(void**) {
    TempDir tmp;
    const std::string root = tmp.path();
    write_session_member(root, 200, 'S', 7, 200);  // session leader
    write_session_member(root, 201, 'S', 7, 201);  // escaped with setsid
    write_session_member(root, 202, 'S', 8, 202);  // another login of the same engineer
    write_session_member(root, 203, 'Z', 7, 200);  // already dead
    SessionScope by_audit{7, 200};
    auto pids = live_processes_in_session(by_audit, 2100000002, root);
    std::sort(pids.begin(), pids.end());
    assert_int_equal(pids.size(), 2);
    assert_int_equal(pids[0], 200);
    assert_int_equal(pids[1], 201);
    // Without an audit session only the kernel session is left: the escaped
    // process is out of reach, which is why the audit session comes first.
    SessionScope by_sid{UINT32_MAX, 200};
    pids = live_processes_in_session(by_sid, 2100000002, root);
    assert_int_equal(pids.size(), 1);
    assert_int_equal(pids[0], 200);
    // Another uid, or a scope that names nothing, matches nothing.
    assert_int_equal(live_processes_in_session(by_audit, 2100000003, root).size(), 0);
    assert_int_equal(live_processes_in_session(SessionScope{}, 2100000002, root).size(), 0);
}

void test_own_audit_session_is_readable_or_unset(void**) {
    uint32_t s = audit_session_of(getpid());
    (void)s;  // any value; the call must not fail on a real process
    assert_int_equal(audit_session_of(-1), UINT32_MAX);
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_status_reads_state_and_uids),
        cmocka_unit_test(test_zombies_are_gone_and_any_uid_counts),
        cmocka_unit_test(test_live_uids_in_range_ignores_others),
        cmocka_unit_test(test_session_scope_prefers_the_audit_session),
        cmocka_unit_test(test_own_audit_session_is_readable_or_unset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
