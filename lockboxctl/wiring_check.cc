// The runner of `lockboxctl status --check`: the order of the checks, the line
// each prints, and how the helper programs (sshd -T, systemctl) are run.
#include "wiring_check.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <sstream>

#include "libc_handles.h"
#include "printable_text.h"

namespace lockboxctl {

namespace {

constexpr size_t MAX_PROGRAM_OUTPUT = 1024 * 1024;

[[noreturn]] void exec_child(const std::vector<std::string>& argv, int out_fd) {
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(out_fd, STDOUT_FILENO) < 0 ||
        ::dup2(out_fd, STDERR_FILENO) < 0)
        ::_exit(127);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // A fixed environment: nothing of the caller's (LD_*, a PATH of theirs)
    // reaches a program that runs as root on their behalf.
    char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    char lang_env[] = "LC_ALL=C";
    char* envp[] = {path_env, lang_env, nullptr};
    ::execve(args[0], args.data(), envp);
    ::_exit(127);
}

const char* verdict_word(Verdict v) {
    switch (v) {
    case Verdict::Pass:
        return "PASS";
    case Verdict::Fail:
        return "FAIL";
    case Verdict::Warn:
        return "WARN";
    }
    return "FAIL";
}

}  // namespace

ProgramOutput run_program(const std::vector<std::string>& argv) {
    ProgramOutput result;
    if (argv.empty() || argv[0].empty() || argv[0][0] != '/')
        return result;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0)
        return result;
    lockbox::UniqueFd read_end(fds[0]);
    lockbox::UniqueFd write_end(fds[1]);
    pid_t pid = ::fork();
    if (pid < 0)
        return result;
    if (pid == 0)
        exec_child(argv, write_end.get());
    write_end.reset();
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(read_end.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        // Keep draining past the cap so the child never blocks on a full pipe.
        if (result.output.size() < MAX_PROGRAM_OUTPUT)
            result.output.append(buf, static_cast<size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status))
        result.exit_status = WEXITSTATUS(status);
    return result;
}

std::vector<CheckResult> run_wiring_checks(const WiringPaths& paths, const lockbox::Config& config) {
    std::vector<CheckResult> results;
    results.push_back(check_pam_stack(paths, "account"));
    results.push_back(check_pam_stack(paths, "session"));
    results.push_back(check_pam_loginuid(paths));
    results.push_back(check_nsswitch(paths, "passwd"));
    results.push_back(check_nsswitch(paths, "group"));
    for (auto& r : check_sshd(paths))
        results.push_back(std::move(r));
    for (auto& r : check_units(paths))
        results.push_back(std::move(r));
    results.push_back(check_trusted_keys(config));
    results.push_back(check_uid_range(paths, config));
    results.push_back(check_clock());
    results.push_back(check_recording(config));
    return results;
}

bool print_wiring_results(const std::vector<CheckResult>& results) {
    bool all_hold = true;
    for (const auto& r : results) {
        // detail and fix quote files (PAM lines, sshd output, key problems):
        // printed only through printable() so a file cannot steer the terminal.
        std::string line =
            std::string(verdict_word(r.verdict)) + "  " + r.name + ": " + lockbox::printable(r.detail, 400);
        if (r.verdict == Verdict::Fail) {
            all_hold = false;
            line += " -- fix: " + lockbox::printable(r.fix, 400);
        }
        std::printf("%s\n", line.c_str());
    }
    return all_hold;
}

std::optional<std::vector<std::string>> nsswitch_sources(const std::string& nsswitch_text,
                                                         const std::string& database) {
    std::istringstream in(nsswitch_text);
    std::string line;
    while (std::getline(in, line)) {
        if (auto hash = line.find('#'); hash != std::string::npos)
            line.erase(hash);
        auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        std::istringstream key_in(line.substr(0, colon));
        std::string key;
        key_in >> key;
        if (key != database)
            continue;
        std::vector<std::string> sources;
        std::istringstream words(line.substr(colon + 1));
        std::string word;
        bool in_action = false;
        while (words >> word) {
            if (word[0] == '[')
                in_action = true;
            if (!in_action)
                sources.push_back(word);
            if (word.back() == ']')
                in_action = false;
        }
        return sources;
    }
    return std::nullopt;
}

}  // namespace lockboxctl
