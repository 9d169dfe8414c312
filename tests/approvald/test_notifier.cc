// The mail command runner: the message reaches the command's stdin, a failing or
// missing command is reported (never thrown or hung on), an overstaying one is
// killed, and the command line is split without a shell.
#include <csignal>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "approvald_test.h"
#include "notifier.h"
#include "../errc_assert.h"

using namespace approvald_test;

namespace {

struct Run {
    std::vector<Status> results;
    std::vector<MailMessage> messages;
};

MailMessage message() {
    MailMessage m;
    m.kind = "pending-approver";
    m.request_id = ID;
    m.to = {"approvers@contoso.example"};
    m.subject = "[Lockbox] test";
    m.body = "hello approvers\n";
    return m;
}

// Runs the loop until `expected` commands finished; a 20 s guard ends a hang.
Run run_commands(const std::string& command, size_t expected, usec_t timeout = 10 * USEC_PER_SEC) {
    sd_event* raw = nullptr;
    assert_true(sd_event_new(&raw) >= 0);
    EventPtr event(raw);
    Run run;
    Notifier n(event.get(), command, timeout, [&](const MailMessage& m, const Status& s) {
        run.results.push_back(s);
        run.messages.push_back(m);
        if (run.results.size() == expected)
            sd_event_exit(event.get(), 0);
    });
    sd_event_source* guard = nullptr;
    uint64_t now = 0;
    sd_event_now(event.get(), CLOCK_MONOTONIC, &now);
    sd_event_add_time(
        event.get(), &guard, CLOCK_MONOTONIC, now + 20 * USEC_PER_SEC, 0,
        [](sd_event_source* s, uint64_t, void*) { return sd_event_exit(sd_event_source_get_event(s), 1); }, nullptr);
    EventSourcePtr guard_owner(guard);
    for (size_t i = 0; i < expected; ++i)
        n.send(message(), T0);
    if (run.results.size() < expected)
        assert_int_equal(sd_event_loop(event.get()), 0);
    assert_int_equal(n.in_flight(), 0);
    // Every command was reaped: no zombie, no child left behind.
    assert_int_equal(waitpid(-1, nullptr, WNOHANG), -1);
    return run;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void test_message_reaches_command_stdin(void**) {
    char tmpl[] = "/tmp/approvald-mail-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    close(fd);
    auto run = run_commands(std::string("/usr/bin/tee ") + tmpl, 1);
    assert_true(run.results[0].ok());
    const std::string got = read_file(tmpl);
    unlink(tmpl);
    assert_non_null(strstr(got.c_str(), "To: approvers@contoso.example\n"));
    assert_non_null(strstr(got.c_str(), "Subject: [Lockbox] test\n"));
    assert_non_null(strstr(got.c_str(), "\n\nhello approvers\n"));
}

void test_failing_command_is_reported_with_its_status(void**) {
    auto run = run_commands("/bin/false", 2);
    for (const auto& r : run.results) {
        assert_false(r.ok());
        assert_errc(r.error().code, lockbox::Errc::ProcessFailed);
        assert_non_null(strstr(r.error().message.c_str(), "exit status 1"));
    }
    assert_string_equal(run.messages[0].request_id.c_str(), ID.c_str());
}

void test_missing_command_is_reported(void**) {
    auto run = run_commands("/nonexistent/sendmail -t -i", 1);
    assert_false(run.results[0].ok());
}

void test_overstaying_command_is_killed(void**) {
    auto run = run_commands("/bin/sleep 60", 1, 200 * USEC_PER_MSEC);
    assert_false(run.results[0].ok());
    assert_errc(run.results[0].error().code, lockbox::Errc::Timeout);
}

void test_command_is_split_on_whitespace_without_a_shell(void**) {
    auto argv = split_command("  /usr/bin/msmtp --host=127.0.0.1\t-t  'a b' $(id) ");
    assert_true(argv.ok());
    assert_int_equal(argv->size(), 6);
    assert_string_equal((*argv)[0].c_str(), "/usr/bin/msmtp");
    assert_string_equal((*argv)[3].c_str(), "'a");
    assert_string_equal((*argv)[5].c_str(), "$(id)");
    assert_false(split_command("").ok());
    assert_false(split_command("sendmail -t").ok());  // relative: refused
}

}  // namespace

int main() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_reaches_command_stdin),
        cmocka_unit_test(test_failing_command_is_reported_with_its_status),
        cmocka_unit_test(test_missing_command_is_reported),
        cmocka_unit_test(test_overstaying_command_is_killed),
        cmocka_unit_test(test_command_is_split_on_whitespace_without_a_shell),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
