// terminal_finder and controlling_terminals_of_uid: the engineer's terminals
// come from their processes' controlling ttys, matched to /dev by device
// number without following links.

#include <algorithm>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "process_table.h"
#include "temp_dir.h"
#include "terminal_finder.h"

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

// The kernel's tty_nr encoding in /proc/PID/stat.
unsigned encode_tty(unsigned major, unsigned minor) { return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12); }

void fake_process(const std::string& root, pid_t pid, char state, uid_t uid, unsigned tty_nr) {
    std::string dir = root + "/" + std::to_string(pid);
    mkdir(dir.c_str(), 0755);
    std::ofstream(dir + "/status") << "Name:\tbash\nState:\t" << state << " (x)\nUid:\t" << uid << "\t" << uid << "\t"
                                   << uid << "\t" << uid << "\n";
    std::ofstream(dir + "/stat") << pid << " (ba)sh) " << state << " 1 " << pid << " " << pid << " " << tty_nr
                                 << " -1 4194560\n";
}

void test_controlling_terminals_come_from_live_processes_of_the_uid(void**) {
    TempDir proc;
    const uid_t eng = 2100000007;
    fake_process(proc.path(), 10, 'S', eng, encode_tty(136, 3));    // pts/3
    fake_process(proc.path(), 11, 'S', eng, encode_tty(136, 3));    // same terminal: once
    fake_process(proc.path(), 12, 'S', eng, encode_tty(136, 300));  // pts/300: minor above 255
    fake_process(proc.path(), 13, 'S', eng, 0);                     // no terminal (setsid escapee)
    fake_process(proc.path(), 14, 'Z', eng, encode_tty(136, 9));    // zombie: gone
    fake_process(proc.path(), 15, 'S', 1000, encode_tty(136, 4));   // somebody else
    auto devs = controlling_terminals_of_uid(eng, proc.path());
    std::sort(devs.begin(), devs.end());
    assert_int_equal(devs.size(), 2);
    assert_true(devs[0] == makedev(136, 3));
    assert_true(devs[1] == makedev(136, 300));
}

void test_terminal_paths_match_devices_and_ignore_links(void**) {
    if (geteuid() != 0)
        skip();  // mknod
    TempDir dev;
    mkdir((dev / "pts").c_str(), 0755);
    if (mknod((dev / "pts/3").c_str(), S_IFCHR | 0620, makedev(136, 3)) < 0)
        skip();  // a nodev /tmp
    assert_int_equal(mknod((dev / "tty2").c_str(), S_IFCHR | 0620, makedev(4, 2)), 0);
    assert_int_equal(mknod((dev / "pts/5").c_str(), S_IFCHR | 0620, makedev(136, 5)), 0);
    assert_int_equal(symlink((dev / "pts/3").c_str(), (dev / "pts/7").c_str()), 0);  // not followed
    std::ofstream(dev / "pts/8") << "plain file";
    auto paths = terminal_paths({makedev(136, 3), makedev(4, 2), makedev(136, 8)}, dev.path());
    std::sort(paths.begin(), paths.end());
    assert_int_equal(paths.size(), 2);
    assert_string_equal(paths[0].c_str(), (dev / "pts/3").c_str());
    assert_string_equal(paths[1].c_str(), (dev / "tty2").c_str());
    assert_true(terminal_paths({}, dev.path()).empty());
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_controlling_terminals_come_from_live_processes_of_the_uid),
        cmocka_unit_test(test_terminal_paths_match_devices_and_ignore_links),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
