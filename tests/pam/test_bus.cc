#include "test_bus.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>

namespace lockbox::test {
namespace {

constexpr int READY_FD = 3;

long monotonic_ms() {
    struct timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

}  // namespace

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        stop();
        pid_ = other.pid_;
        other.pid_ = -1;
    }
    return *this;
}

void ChildProcess::stop() {
    if (pid_ <= 0)
        return;
    kill(pid_, SIGKILL);
    // SIGKILL cannot be blocked, so this wait ends.
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
}

ChildProcess spawn_with_ready_line(const std::vector<std::string>& argv_in, const std::vector<std::string>& env_in,
                                   int timeout_ms, std::string* line) {
    std::vector<std::string> argv_s = argv_in;
    std::vector<std::string> env_s = env_in;
    auto argv = pointers(argv_s);
    auto envp = pointers(env_s);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return ChildProcess();
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return ChildProcess();
    }
    if (pid == 0) {
        // Only async-signal-safe calls until exec: the parent may be threaded
        // and is running under LD_PRELOADed wrappers.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (dup2(fds[1], READY_FD) < 0)
            _exit(127);  // dup2 clears O_CLOEXEC
        execve(argv[0], argv.data(), envp.data());
        _exit(127);
    }
    close(fds[1]);
    ChildProcess child(pid);
    line->clear();
    long deadline = monotonic_ms() + timeout_ms;
    bool done = false;
    while (!done) {
        long left = deadline - monotonic_ms();
        if (left <= 0)
            break;
        struct pollfd p = {fds[0], POLLIN, 0};
        int r = poll(&p, 1, static_cast<int>(left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        char buf[256];
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0)
            break;  // EOF: the child exited or closed without a line
        for (ssize_t i = 0; i < n; ++i) {
            if (buf[i] == '\n') {
                done = true;
                break;
            }
            line->push_back(buf[i]);
        }
    }
    close(fds[0]);
    if (!done) {
        fprintf(stderr, "test_bus: %s did not become ready\n", argv_in[0].c_str());
        return ChildProcess();  // child's destructor kills it
    }
    return child;
}

ScratchDir::ScratchDir() {
    char tmpl[] = "/tmp/pam-lockbox-test.XXXXXX";
    if (mkdtemp(tmpl) != nullptr)
        path_ = tmpl;
}

ScratchDir::~ScratchDir() {
    if (path_.empty())
        return;
    // Flat directory: the tests create files and sockets here, never subdirectories.
    if (DIR* d = opendir(path_.c_str())) {
        while (struct dirent* e = readdir(d)) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            unlink((path_ + "/" + e->d_name).c_str());
        }
        closedir(d);
    }
    rmdir(path_.c_str());
}

bool PrivateBus::start(const std::string& dir) {
    std::string config = dir + "/bus.conf";
    {
        std::ofstream out(config);
        out << "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
               " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
               "<busconfig>\n"
               "  <type>custom</type>\n"
               "  <listen>unix:path="
            << dir
            << "/bus</listen>\n"
               "  <auth>EXTERNAL</auth>\n"
               "  <policy context=\"default\">\n"
               "    <allow user=\"*\"/>\n"
               "    <allow own=\"*\"/>\n"
               "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
               "    <allow receive_sender=\"*\"/>\n"
               "    <allow eavesdrop=\"true\"/>\n"
               "  </policy>\n"
               "</busconfig>\n";
        if (!out)
            return false;
    }
    std::string line;
    process_ = spawn_with_ready_line({"/usr/bin/dbus-daemon", "--config-file=" + config, "--nofork", "--nopidfile",
                                      "--print-address=" + std::to_string(READY_FD)},
                                     {"PATH=/usr/bin:/bin"}, 10000, &line);
    if (process_.pid() <= 0)
        return false;
    address_ = line;
    return !address_.empty();
}

bool start_stub_enforcer(ChildProcess* out, const std::string& stub_path, const std::string& bus_address,
                         const std::string& mode, const std::string& record_path) {
    std::vector<std::string> argv = {stub_path, "--mode=" + mode, "--ready-fd=" + std::to_string(READY_FD)};
    if (!record_path.empty())
        argv.push_back("--record=" + record_path);
    std::string line;
    *out = spawn_with_ready_line(argv, {"DBUS_SYSTEM_BUS_ADDRESS=" + bus_address}, 10000, &line);
    return out->pid() > 0 && line == "READY";
}

}  // namespace lockbox::test
