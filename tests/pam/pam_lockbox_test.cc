// pam_lockbox.so under pam_wrapper and nss_wrapper, against the stub Enforcer1
// on a private dbus-daemon. One cmocka group per stub behaviour; every case
// runs the real module through libpam and checks the PAM result, what the user
// was told, and what reached the stub.
//
// Environment (tests/pam/meson.build): LD_PRELOAD with libpam_wrapper and
// libnss_wrapper, PAM_WRAPPER=1, PAM_WRAPPER_SERVICE_DIR, NSS_WRAPPER_PASSWD and
// _GROUP, LOCKBOX_STUB_ENFORCER, LOCKBOX_PAM_TEST_CONFIG.
#include <security/pam_appl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include <setjmp.h>
#include <cmocka.h>
#include <libpamtest.h>
}

#include "test_bus.h"

using lockbox::test::ChildProcess;

namespace {

constexpr const char* MANAGED = "eng-carol";  // uid inside [Accounts] range
constexpr const char* GATED = "opsbob";       // local, member of gated-ops
constexpr const char* UNMANAGED = "alice";    // local customer admin
constexpr const char* UNKNOWN = "ghost";      // resolves nowhere
constexpr const char* RHOST = "198.51.100.7";
constexpr const char* TTY = "pts/3";
constexpr const char* STUB_GRANT = "5f0c6b1e-7d7a-4c55-9a51-3c1e2f6d8a90";

struct Suite {
    lockbox::test::ScratchDir dir;
    lockbox::test::PrivateBus bus;
    ChildProcess stub;
    std::string stub_path;
    std::string record_path;
};
Suite* suite = nullptr;

struct Conversation {
    std::vector<std::string> errors;
    std::vector<std::string> infos;

    bool said(const std::vector<std::string>& where, const char* needle) const {
        for (const auto& s : where)
            if (s.find(needle) != std::string::npos)
                return true;
        return false;
    }
    std::string all() const {
        std::string out;
        for (const auto& s : errors)
            out += "  error: " + s + "\n";
        for (const auto& s : infos)
            out += "  info: " + s + "\n";
        return out;
    }
};

int converse(int n, const struct pam_message** msg, struct pam_response** resp, void* data) {
    auto* conv = static_cast<Conversation*>(data);
    auto* replies = static_cast<struct pam_response*>(calloc(static_cast<size_t>(n), sizeof **resp));
    if (replies == nullptr)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; ++i) {
        switch (msg[i]->msg_style) {
        case PAM_ERROR_MSG:
            conv->errors.emplace_back(msg[i]->msg);
            break;
        case PAM_TEXT_INFO:
            conv->infos.emplace_back(msg[i]->msg);
            break;
        default:
            free(replies);
            return PAM_CONV_ERR;  // the module never prompts
        }
    }
    *resp = replies;
    return PAM_SUCCESS;
}

struct Step {
    pamtest_ops op;
    int expected;
};

// Runs the steps in one PAM transaction with PAM_RHOST and PAM_TTY set, as sshd
// and login do, and fails the test with the step that differed.
Conversation run(const char* service, const char* user, std::initializer_list<Step> steps,
                 const char* pam_env = nullptr) {
    Conversation conv;
    struct pam_conv pc = {converse, &conv};
    pam_handle_t* ph = nullptr;
    assert_int_equal(pam_start(service, user, &pc, &ph), PAM_SUCCESS);
    assert_int_equal(pam_set_item(ph, PAM_RHOST, RHOST), PAM_SUCCESS);
    assert_int_equal(pam_set_item(ph, PAM_TTY, TTY), PAM_SUCCESS);
    if (pam_env != nullptr)
        assert_int_equal(pam_putenv(ph, pam_env), PAM_SUCCESS);

    std::vector<struct pam_testcase> cases;
    for (const auto& s : steps)
        cases.push_back(pam_test(s.op, s.expected));
    // With a handle, libpamtest runs the cases on it and ends it.
    enum pamtest_err perr = _pamtest_conv(service, user, converse, &conv, cases.data(), cases.size(), ph);
    if (perr == PAMTEST_ERR_CASE) {
        const struct pam_testcase* failed = _pamtest_failed_case(cases.data(), cases.size());
        fail_msg("%s/%s: step %td returned %s (%d), expected %s (%d)\n%s", service, user, failed - cases.data(),
                 pam_strerror(nullptr, failed->op_rv), failed->op_rv, pam_strerror(nullptr, failed->expected_rv),
                 failed->expected_rv, conv.all().c_str());
    }
    if (perr != PAMTEST_ERR_OK)
        fail_msg("%s/%s: %s", service, user, pamtest_strerror(perr));
    return conv;
}

std::vector<std::string> recorded() {
    std::vector<std::string> lines;
    std::ifstream in(suite->record_path);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

bool recorded_line(const std::string& line) {
    for (const auto& l : recorded())
        if (l == line)
            return true;
    return false;
}

bool recorded_any_for(const std::string& user) {
    for (const auto& l : recorded())
        if (l.find("|" + user + "|") != std::string::npos)
            return true;
    return false;
}

int start_stub(const char* mode) {
    unlink(suite->record_path.c_str());
    setenv("DBUS_SYSTEM_BUS_ADDRESS", suite->bus.address().c_str(), 1);
    if (!lockbox::test::start_stub_enforcer(&suite->stub, suite->stub_path, suite->bus.address(), mode,
                                            suite->record_path)) {
        fprintf(stderr, "cannot start stub_enforcer --mode=%s\n", mode);
        return -1;
    }
    return 0;
}
int setup_allow(void**) { return start_stub("allow"); }
int setup_deny(void**) { return start_stub("deny"); }
int setup_hang(void**) { return start_stub("hang"); }
int setup_malformed(void**) { return start_stub("malformed"); }
int setup_session_error(void**) { return start_stub("session-error"); }
int setup_absent(void**) {
    unlink(suite->record_path.c_str());
    setenv("DBUS_SYSTEM_BUS_ADDRESS", suite->bus.address().c_str(), 1);
    return 0;
}
int teardown_stub(void**) {
    suite->stub.stop();
    return 0;
}

// ---- stub allows -------------------------------------------------------------

void test_account_allows_managed_user_with_grant(void**) {
    auto conv = run("lockbox", MANAGED, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
    assert_true(conv.errors.empty());
    assert_true(recorded_line("CheckAccess|eng-carol|lockbox|198.51.100.7|pts/3"));
}

void test_auth_allows_managed_user_with_grant(void**) {
    run("lockbox", MANAGED, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}, {PAMTEST_SETCRED, PAM_SUCCESS}});
}

void test_gate_group_member_is_checked_like_an_engineer(void**) {
    run("lockbox", GATED, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
    assert_true(recorded_line("CheckAccess|opsbob|lockbox|198.51.100.7|pts/3"));
}

void test_session_open_and_close_reach_enforcer_with_arguments(void**) {
    auto conv = run("lockbox", MANAGED, {{PAMTEST_OPEN_SESSION, PAM_SUCCESS}, {PAMTEST_CLOSE_SESSION, PAM_SUCCESS}},
                    "XDG_SESSION_ID=c42");
    std::string open_line = "OpenSession|eng-carol|" + std::to_string(getpid()) + "|pts/3|198.51.100.7|c42";
    assert_true(recorded_line(open_line));
    assert_true(recorded_line("CloseSession|stub-session-1"));
    // The engineer learns the request, the ticket and the end of access.
    assert_true(conv.said(conv.infos, STUB_GRANT));
    assert_true(conv.said(conv.infos, "ticket INC-4711"));
    assert_true(conv.said(conv.infos, "UTC)"));
}

void test_session_of_unmanaged_user_is_not_registered(void**) {
    run("lockbox-then-permit", UNMANAGED, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
    assert_false(recorded_any_for(UNMANAGED));
}

void test_unknown_option_is_ignored(void**) {
    run("lockbox-unknown-option", MANAGED, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
}

void test_config_taken_from_lockbox_config_env(void**) {
    const char* config = getenv("LOCKBOX_PAM_TEST_CONFIG");
    assert_non_null(config);
    setenv("LOCKBOX_CONFIG", config, 1);
    run("lockbox-env-config", MANAGED, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
    unsetenv("LOCKBOX_CONFIG");
}

void test_unmanaged_user_is_ignored_so_other_modules_decide(void**) {
    // pam_permit after us: the stack succeeds, so we did not fail it ...
    auto conv = run("lockbox-then-permit", UNMANAGED, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
    assert_true(conv.errors.empty());
    // ... and "sufficient" then pam_deny (whose account answer is PAM_AUTH_ERR):
    // had we said yes, the stack would pass.
    run("lockbox-sufficient-then-deny", UNMANAGED, {{PAMTEST_ACCOUNT, PAM_AUTH_ERR}});
    run("lockbox-then-permit", UNKNOWN, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
    run("lockbox-then-permit", "root", {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
    assert_false(recorded_any_for(UNMANAGED));
    assert_false(recorded_any_for(UNKNOWN));
}

// Opens a session on a handle the test keeps, for the cases that act between
// open and close.
pam_handle_t* open_kept_session(Conversation* conv, struct pam_conv* pc) {
    pc->conv = converse;
    pc->appdata_ptr = conv;
    pam_handle_t* ph = nullptr;
    assert_int_equal(pam_start("lockbox", MANAGED, pc, &ph), PAM_SUCCESS);
    assert_int_equal(pam_set_item(ph, PAM_TTY, TTY), PAM_SUCCESS);
    assert_int_equal(pam_open_session(ph, 0), PAM_SUCCESS);
    return ph;
}

void test_close_session_from_forked_child_uses_its_own_connection(void**) {
    Conversation conv;
    struct pam_conv pc {};
    pam_handle_t* ph = open_kept_session(&conv, &pc);
    // sshd and su fork between PAM phases; the child must not touch a bus
    // connection its parent opened.
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        alarm(20);  // bounded even if something hangs
        _exit(pam_close_session(ph, 0) == PAM_SUCCESS ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    pam_end(ph, PAM_SUCCESS);
    assert_true(recorded_line("CloseSession|stub-session-1"));
}

void test_close_session_succeeds_when_enforcer_is_gone(void**) {
    Conversation conv;
    struct pam_conv pc {};
    pam_handle_t* ph = open_kept_session(&conv, &pc);
    suite->stub.stop();  // lockboxd ends the session at expiry by itself
    assert_int_equal(pam_close_session(ph, 0), PAM_SUCCESS);
    pam_end(ph, PAM_SUCCESS);
}

// ---- stub denies -------------------------------------------------------------

void test_account_denies_without_grant_and_says_why(void**) {
    auto conv = run("lockbox", MANAGED, {{PAMTEST_ACCOUNT, PAM_PERM_DENIED}});
    assert_true(conv.said(conv.errors, "approved Lockbox request for tenant contoso on host db01"));
    assert_true(conv.said(conv.errors, "No grant"));
    assert_true(conv.said(conv.errors, "reason: no-grant"));
    assert_false(conv.said(conv.errors, "unavailable"));
}

void test_auth_denies_without_grant(void**) { run("lockbox", MANAGED, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}}); }

void test_gate_group_member_denied_without_grant(void**) {
    run("lockbox", GATED, {{PAMTEST_ACCOUNT, PAM_PERM_DENIED}});
}

void test_sufficient_line_does_not_admit_denied_engineer(void**) {
    run("lockbox-sufficient-then-deny", MANAGED, {{PAMTEST_ACCOUNT, PAM_AUTH_ERR}});
}

void test_bad_option_values_are_service_errors(void**) {
    for (const char* service : {"lockbox-bad-timeout-zero", "lockbox-bad-timeout-suffix", "lockbox-bad-timeout-large",
                                "lockbox-bad-config-path", "lockbox-bad-gate-group"}) {
        run(service, MANAGED, {{PAMTEST_ACCOUNT, PAM_SERVICE_ERR}});
        run(service, UNMANAGED, {{PAMTEST_ACCOUNT, PAM_SERVICE_ERR}});
    }
}

void test_missing_config_refuses_managed_and_ignores_others(void**) {
    auto conv = run("lockbox-missing-config", MANAGED, {{PAMTEST_ACCOUNT, PAM_SERVICE_ERR}});
    assert_true(conv.said(conv.errors, "misconfigured"));
    run("lockbox-missing-config", UNMANAGED, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
    run("lockbox-missing-config", MANAGED, {{PAMTEST_OPEN_SESSION, PAM_SESSION_ERR}});
}

// ---- stub answers CheckAccess with the wrong signature ------------------------

void test_malformed_reply_denies(void**) {
    auto conv = run("lockbox", MANAGED, {{PAMTEST_ACCOUNT, PAM_PERM_DENIED}});
    assert_true(conv.said(conv.errors, "Lockbox is unavailable on this host"));
    run("lockbox", MANAGED, {{PAMTEST_AUTHENTICATE, PAM_AUTH_ERR}});
}

void test_malformed_open_session_reply_refuses_session(void**) {
    run("lockbox", MANAGED, {{PAMTEST_OPEN_SESSION, PAM_SESSION_ERR}});
}

// ---- stub never answers ------------------------------------------------------

void test_silent_enforcer_denies_when_timeout_ends(void**) {
    auto conv = run("lockbox-short-timeout", MANAGED, {{PAMTEST_ACCOUNT, PAM_PERM_DENIED}});
    assert_true(conv.said(conv.errors, "lockboxd not reachable"));
    assert_true(recorded_any_for(MANAGED));  // it did ask, and gave up
}

void test_silent_enforcer_refuses_session_when_timeout_ends(void**) {
    run("lockbox-short-timeout", MANAGED, {{PAMTEST_OPEN_SESSION, PAM_SESSION_ERR}});
}

void test_silent_enforcer_does_not_affect_unmanaged_user(void**) {
    run("lockbox-then-permit", UNMANAGED, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
}

// ---- no lockboxd on the bus, or no bus ----------------------------------------

void test_absent_enforcer_denies_with_unavailable_message(void**) {
    auto conv = run("lockbox", MANAGED, {{PAMTEST_ACCOUNT, PAM_PERM_DENIED}});
    assert_true(conv.said(conv.errors, "Lockbox is unavailable on this host (lockboxd not reachable)"));
    assert_true(conv.said(conv.errors, "tenant contoso on host db01"));
    assert_false(conv.said(conv.errors, "No grant"));
    run("lockbox", MANAGED, {{PAMTEST_OPEN_SESSION, PAM_SESSION_ERR}});
}

void test_bus_down_denies_managed_and_ignores_others(void**) {
    std::string saved = suite->bus.address();
    setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + suite->dir.path() + "/no-such-bus").c_str(), 1);
    auto conv = run("lockbox", MANAGED, {{PAMTEST_ACCOUNT, PAM_PERM_DENIED}});
    run("lockbox-then-permit", UNMANAGED, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
    setenv("DBUS_SYSTEM_BUS_ADDRESS", saved.c_str(), 1);
    assert_true(conv.said(conv.errors, "lockboxd not reachable"));
}

void test_wedged_bus_denies_when_timeout_ends(void**) {
    // A socket that accepts connections into its backlog and never speaks:
    // the bus handshake itself must be bounded by the module's timeout.
    std::string path = suite->dir.path() + "/wedged-bus";
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    assert_int_equal(bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr), 0);
    assert_int_equal(listen(fd, 16), 0);
    setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + path).c_str(), 1);
    auto conv = run("lockbox-short-timeout", MANAGED, {{PAMTEST_ACCOUNT, PAM_PERM_DENIED}});
    setenv("DBUS_SYSTEM_BUS_ADDRESS", suite->bus.address().c_str(), 1);
    close(fd);
    assert_true(conv.said(conv.errors, "lockboxd not reachable"));
}

void test_silent_flag_suppresses_messages(void**) {
    auto conv = run("lockbox", MANAGED, {{PAMTEST_ACCOUNT, PAM_PERM_DENIED}});
    assert_false(conv.errors.empty());
    Conversation quiet;
    struct pam_conv pc = {converse, &quiet};
    pam_handle_t* ph = nullptr;
    assert_int_equal(pam_start("lockbox", MANAGED, &pc, &ph), PAM_SUCCESS);
    assert_int_equal(pam_acct_mgmt(ph, PAM_SILENT), PAM_PERM_DENIED);
    pam_end(ph, PAM_PERM_DENIED);
    assert_true(quiet.errors.empty());
}

// ---- stub allows access but refuses sessions ----------------------------------

void test_session_refused_when_enforcer_cannot_register_it(void**) {
    run("lockbox", MANAGED, {{PAMTEST_ACCOUNT, PAM_SUCCESS}});
    auto conv = run("lockbox", MANAGED, {{PAMTEST_OPEN_SESSION, PAM_SESSION_ERR}});
    assert_true(conv.said(conv.errors, "could not be registered"));
    assert_true(recorded_any_for(MANAGED));
}

}  // namespace

int main() {
#if defined(__SANITIZE_ADDRESS__)
    // The sanitizer runtime must come first in the library list; the
    // LD_PRELOADed cwrap wrappers this test needs cannot coexist with it.
    return 77;
#endif
    if (getenv("PAM_WRAPPER") == nullptr || getenv("LOCKBOX_STUB_ENFORCER") == nullptr) {
        fprintf(stderr, "run through meson test: needs pam_wrapper and the stub\n");
        return 77;
    }
    Suite s;
    suite = &s;
    s.stub_path = getenv("LOCKBOX_STUB_ENFORCER");
    if (!s.dir.ok() || !s.bus.start(s.dir.path())) {
        fprintf(stderr, "cannot start a private dbus-daemon\n");
        return 1;
    }
    s.record_path = s.dir.path() + "/calls";
    setenv("DBUS_SYSTEM_BUS_ADDRESS", s.bus.address().c_str(), 1);

    const struct CMUnitTest allow[] = {
        cmocka_unit_test(test_account_allows_managed_user_with_grant),
        cmocka_unit_test(test_auth_allows_managed_user_with_grant),
        cmocka_unit_test(test_gate_group_member_is_checked_like_an_engineer),
        cmocka_unit_test(test_session_open_and_close_reach_enforcer_with_arguments),
        cmocka_unit_test(test_session_of_unmanaged_user_is_not_registered),
        cmocka_unit_test(test_unknown_option_is_ignored),
        cmocka_unit_test(test_config_taken_from_lockbox_config_env),
        cmocka_unit_test(test_unmanaged_user_is_ignored_so_other_modules_decide),
        cmocka_unit_test(test_close_session_from_forked_child_uses_its_own_connection),
        cmocka_unit_test(test_close_session_succeeds_when_enforcer_is_gone),  // stops the stub: last
    };
    const struct CMUnitTest deny[] = {
        cmocka_unit_test(test_account_denies_without_grant_and_says_why),
        cmocka_unit_test(test_auth_denies_without_grant),
        cmocka_unit_test(test_gate_group_member_denied_without_grant),
        cmocka_unit_test(test_sufficient_line_does_not_admit_denied_engineer),
        cmocka_unit_test(test_bad_option_values_are_service_errors),
        cmocka_unit_test(test_missing_config_refuses_managed_and_ignores_others),
    };
    const struct CMUnitTest malformed[] = {
        cmocka_unit_test(test_malformed_reply_denies),
        cmocka_unit_test(test_malformed_open_session_reply_refuses_session),
    };
    const struct CMUnitTest hang[] = {
        cmocka_unit_test(test_silent_enforcer_denies_when_timeout_ends),
        cmocka_unit_test(test_silent_enforcer_refuses_session_when_timeout_ends),
        cmocka_unit_test(test_silent_enforcer_does_not_affect_unmanaged_user),
    };
    const struct CMUnitTest absent[] = {
        cmocka_unit_test(test_absent_enforcer_denies_with_unavailable_message),
        cmocka_unit_test(test_bus_down_denies_managed_and_ignores_others),
        cmocka_unit_test(test_wedged_bus_denies_when_timeout_ends),
        cmocka_unit_test(test_silent_flag_suppresses_messages),
    };
    const struct CMUnitTest session_error[] = {
        cmocka_unit_test(test_session_refused_when_enforcer_cannot_register_it),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name("stub allows", allow, setup_allow, teardown_stub);
    failed += cmocka_run_group_tests_name("stub denies", deny, setup_deny, teardown_stub);
    failed += cmocka_run_group_tests_name("stub malformed", malformed, setup_malformed, teardown_stub);
    failed += cmocka_run_group_tests_name("stub silent", hang, setup_hang, teardown_stub);
    failed += cmocka_run_group_tests_name("no enforcer", absent, setup_absent, teardown_stub);
    failed += cmocka_run_group_tests_name("session refused", session_error, setup_session_error, teardown_stub);
    s.stub.stop();
    s.bus.stop();
    suite = nullptr;
    return failed == 0 ? 0 : 1;
}
