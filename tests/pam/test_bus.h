// Processes a pam_lockbox test needs around it: a private dbus-daemon and the
// stub Enforcer1. Each is killed (SIGKILL, then reaped) when its owner goes out
// of scope, and dies with the test process if that crashes (PR_SET_PDEATHSIG).
// Every wait for readiness is bounded.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace lockbox::test {

class ChildProcess {
public:
    ChildProcess() = default;
    explicit ChildProcess(pid_t pid) : pid_(pid) {}
    ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess() { stop(); }

    void stop();
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
};

// Starts argv[0] with exactly env; its write end of a pipe is passed as fd 3.
// Reads from the pipe until a newline or the timeout; returns the first line in
// *line. On failure the process is killed and pid() is -1.
ChildProcess spawn_with_ready_line(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                   int timeout_ms, std::string* line);

// A scratch directory removed (files inside it, then itself) on destruction.
class ScratchDir {
public:
    ScratchDir();
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::string& path() const { return path_; }
    bool ok() const { return !path_.empty(); }

private:
    std::string path_;
};

// dbus-daemon with a policy allowing everything, listening in dir.
class PrivateBus {
public:
    bool start(const std::string& dir);
    const std::string& address() const { return address_; }
    void stop() { process_.stop(); }

private:
    ChildProcess process_;
    std::string address_;
};

// tests/pam/stub_enforcer on the given bus, owning org.lockbox.Enforcer1.
bool start_stub_enforcer(ChildProcess* out, const std::string& stub_path, const std::string& bus_address,
                         const std::string& mode, const std::string& record_path);

}  // namespace lockbox::test
