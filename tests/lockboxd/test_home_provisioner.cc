// Homes are created owned by the engineer with mode 0700 and removed without
// following links; leftovers owned by the uid vanish from scratch dirs.

#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "home_provisioner.h"
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

constexpr uid_t UID = 2100099972;

bool exists(const std::string& p) {
    struct stat st {};
    return lstat(p.c_str(), &st) == 0;
}

void test_home_is_created_owned_and_private(void**) {
    if (geteuid() != 0)
        skip();
    TempDir t;
    auto st = create_home(t / "home", "eng", UID);
    assert_true(st.ok());
    struct stat s {};
    assert_int_equal(stat((t / "home/eng").c_str(), &s), 0);
    assert_int_equal(s.st_uid, UID);
    assert_int_equal(s.st_gid, UID);
    assert_int_equal(s.st_mode & 07777, 0700);
}

void test_invalid_name_is_refused(void**) {
    TempDir t;
    assert_false(create_home(t.path(), "../etc", UID).ok());
    assert_false(remove_home(t.path(), "../etc").ok());
}

void test_remove_home_does_not_follow_symlinks(void**) {
    TempDir t;
    mkdir((t / "outside").c_str(), 0755);
    std::ofstream(t / "outside/precious") << "keep me";
    assert_true(create_home(t / "home", "eng", geteuid()).ok());
    mkdir((t / "home/eng/sub").c_str(), 0755);
    std::ofstream(t / "home/eng/sub/file") << "x";
    assert_int_equal(symlink((t / "outside").c_str(), (t / "home/eng/link").c_str()), 0);
    assert_true(remove_home(t / "home", "eng").ok());
    assert_false(exists(t / "home/eng"));
    assert_true(exists(t / "outside/precious"));
}

void test_leftovers_owned_by_uid_are_removed_and_others_kept(void**) {
    if (geteuid() != 0)
        skip();
    TempDir t;
    std::string scratch = t / "tmp";
    mkdir(scratch.c_str(), 01777);
    std::ofstream(scratch + "/mine") << "x";
    std::ofstream(scratch + "/theirs") << "x";
    mkdir((scratch + "/mydir").c_str(), 0700);
    std::ofstream(scratch + "/mydir/inner") << "x";
    mkdir((scratch + "/shared").c_str(), 0755);
    std::ofstream(scratch + "/shared/deep-mine") << "x";
    for (auto p : {"/mine", "/mydir", "/mydir/inner", "/shared/deep-mine"})
        assert_int_equal(lchown((scratch + p).c_str(), UID, UID), 0);
    mkdir((t / "crontabs").c_str(), 0755);
    std::ofstream(t / "crontabs/eng") << "* * * * * true\n";
    LeftoverPlaces places;
    places.scratch_dirs = {scratch};
    places.crontab_dir = t / "crontabs";
    places.atjobs_dir = t / "atjobs";
    places.sysv_ipc = false;
    auto report = remove_leftovers(UID, "eng", places);
    assert_true(report.problems.empty());
    assert_false(exists(scratch + "/mine"));
    assert_false(exists(scratch + "/mydir"));
    assert_false(exists(scratch + "/shared/deep-mine"));
    assert_true(exists(scratch + "/theirs"));
    assert_true(exists(scratch + "/shared"));
    assert_false(exists(t / "crontabs/eng"));
}

}  // namespace

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_home_is_created_owned_and_private),
        cmocka_unit_test(test_invalid_name_is_refused),
        cmocka_unit_test(test_remove_home_does_not_follow_symlinks),
        cmocka_unit_test(test_leftovers_owned_by_uid_are_removed_and_others_kept),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
