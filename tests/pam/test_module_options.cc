// pam_lockbox/module_options.cc: strict parsing of the words on a PAM line.
#include <cstdlib>
#include <vector>

extern "C" {
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
}

#include "module_options.h"
#include "../errc_assert.h"

using namespace lockbox;
using namespace lockbox::pam;

namespace {

Result<ModuleOptions> parse(std::vector<const char*> args) {
    return parse_module_options(static_cast<int>(args.size()), args.data());
}

void test_no_options_give_defaults(void**) {
    auto o = parse({});
    assert_true(o.ok());
    assert_false(o->debug);
    assert_int_equal(o->timeout, DEFAULT_TIMEOUT);
    assert_true(o->config_path.empty());
    assert_true(o->gate_group.empty());
    assert_true(o->unknown.empty());
}

void test_every_known_option_is_taken(void**) {
    auto o = parse({"debug", "timeout=7", "config=/etc/lockbox/other.conf", "gate_group=ops-admins"});
    assert_true(o.ok());
    assert_true(o->debug);
    assert_int_equal(o->timeout, 7 * USEC_PER_SEC);
    assert_string_equal(o->config_path.c_str(), "/etc/lockbox/other.conf");
    assert_string_equal(o->gate_group.c_str(), "ops-admins");
}

void test_timeout_bounds_are_inclusive(void**) {
    assert_int_equal(parse({"timeout=1"})->timeout, 1 * USEC_PER_SEC);
    assert_int_equal(parse({"timeout=30"})->timeout, 30 * USEC_PER_SEC);
}

void test_bad_timeouts_are_refused(void**) {
    for (const char* bad : {"timeout=", "timeout=0", "timeout=31", "timeout=2s", "timeout=-1", "timeout=1.5",
                            "timeout= 2", "timeout=99999999999999999999"}) {
        auto o = parse({bad});
        if (o.ok())
            fail_msg("accepted %s", bad);
        assert_errc(o.error().code, lockbox::Errc::BadConfig);
    }
}

void test_relative_or_empty_config_is_refused(void**) {
    assert_false(parse({"config="}).ok());
    assert_false(parse({"config=lockbox.conf"}).ok());
}

void test_bad_gate_group_is_refused(void**) {
    for (const char* bad :
         {"gate_group=", "gate_group=-ops", "gate_group=ops admins", "gate_group=ops\nx", "gate_group=a:b"})
        if (parse({bad}).ok())
            fail_msg("accepted %s", bad);
}

void test_unknown_words_are_collected_not_fatal(void**) {
    auto o = parse({"frobnicate", "debug", "use_first_pass"});
    assert_true(o.ok());
    assert_true(o->debug);
    assert_int_equal(o->unknown.size(), 2);
    assert_string_equal(o->unknown[0].c_str(), "frobnicate");
}

void test_overlong_option_is_refused(void**) {
    std::string huge = "config=/" + std::string(MAX_OPTION_VALUE, 'a');
    assert_false(parse({huge.c_str()}).ok());
}

void test_config_option_beats_environment(void**) {
    setenv("LOCKBOX_CONFIG", "/from/env.conf", 1);
    ModuleOptions o;
    assert_string_equal(resolve_config_path(o).c_str(), "/from/env.conf");
    o.config_path = "/from/option.conf";
    assert_string_equal(resolve_config_path(o).c_str(), "/from/option.conf");
    setenv("LOCKBOX_CONFIG", "relative.conf", 1);
    o.config_path.clear();
    assert_string_not_equal(resolve_config_path(o).c_str(), "relative.conf");
    unsetenv("LOCKBOX_CONFIG");
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_options_give_defaults),
        cmocka_unit_test(test_every_known_option_is_taken),
        cmocka_unit_test(test_timeout_bounds_are_inclusive),
        cmocka_unit_test(test_bad_timeouts_are_refused),
        cmocka_unit_test(test_relative_or_empty_config_is_refused),
        cmocka_unit_test(test_bad_gate_group_is_refused),
        cmocka_unit_test(test_unknown_words_are_collected_not_fatal),
        cmocka_unit_test(test_overlong_option_is_refused),
        cmocka_unit_test(test_config_option_beats_environment),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
