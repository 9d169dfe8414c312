// bench_pam_check: one PAM account check through pam_lockbox.so (libpam, the
// real module, its bus round trip to a stub Enforcer1 on a private dbus-daemon)
// against a bare org.freedesktop.DBus.Peer.Ping to the same stub, same run.
//
// Needs the build tree: pam_lockbox/pam_lockbox.so and tests/pam/stub_enforcer
// next to bench/. libpam is loaded with dlopen (pam_start_confdir, so no
// /etc/pam.d file and no pam_wrapper are involved). The managed user is
// "nobody", made managed by a config whose UID range starts at its uid.
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include <systemd/sd-bus.h>

namespace {

// libpam's ABI, declared here so the bench needs no PAM headers at build time.
struct pam_message_abi {
    int msg_style;
    const char* msg;
};
struct pam_response_abi {
    char* resp;
    int resp_retcode;
};
struct pam_conv_abi {
    int (*conv)(int, const pam_message_abi**, pam_response_abi**, void*);
    void* appdata_ptr;
};
using pam_start_confdir_fn = int (*)(const char*, const char*, const pam_conv_abi*, const char*, void**);
using pam_acct_mgmt_fn = int (*)(void*, int);
using pam_end_fn = int (*)(void*, int);
using pam_set_item_fn = int (*)(void*, int, const void*);
constexpr int PAM_SUCCESS_ABI = 0;
constexpr int PAM_RHOST_ABI = 4;
constexpr int PAM_SILENT_ABI = 0x8000;

bool show_messages = true;  // during warm-up, so a failing setup explains itself

int quiet_conv(int n, const pam_message_abi** msg, pam_response_abi** resp, void*) {
    for (int i = 0; show_messages && i < n; ++i)
        fprintf(stderr, "pam: %s\n", msg[i]->msg);
    *resp = static_cast<pam_response_abi*>(calloc(static_cast<size_t>(n), sizeof **resp));
    return *resp ? 0 : 5;
}

struct Child {
    pid_t pid = -1;
    ~Child() {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    }
};

// Spawns argv with env; reads one line from its fd 3 within 10 s.
bool spawn(Child* child, std::vector<std::string> argv, std::vector<std::string> env, std::string* line) {
    std::vector<char*> a, e;
    for (auto& s : argv)
        a.push_back(s.data());
    a.push_back(nullptr);
    for (auto& s : env)
        e.push_back(s.data());
    e.push_back(nullptr);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return false;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(fds[1], 3);
        execve(a[0], a.data(), e.data());
        _exit(127);
    }
    close(fds[1]);
    child->pid = pid;
    if (pid < 0)
        return false;
    line->clear();
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0)
            break;
        char c;
        if (read(fds[0], &c, 1) != 1)
            break;
        if (c == '\n') {
            close(fds[0]);
            return true;
        }
        line->push_back(c);
    }
    close(fds[0]);
    return false;
}

std::string build_root() {
    char exe[PATH_MAX] = {};
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return ".";
    std::string path(exe, static_cast<size_t>(n));
    path = path.substr(0, path.rfind('/'));  // .../bench
    return path.substr(0, path.rfind('/'));
}

// Median of runs of dlopen_probe (one dlopen in a fresh C process), in us;
// 0 when the probe is missing or fails.
double dlopen_us(const std::string& probe, const std::string& module, bool sshd_like) {
    std::vector<double> runs;
    std::string cmd = probe + (sshd_like ? " --sshd " : " ") + module;
    for (int i = 0; i < 21; ++i) {
        FILE* p = popen(cmd.c_str(), "r");  // our own build paths, no user data
        if (!p)
            return 0;
        double us = 0;
        bool ok = fscanf(p, "%lf", &us) == 1;
        if (pclose(p) != 0 || !ok)
            return 0;
        runs.push_back(us);
    }
    std::sort(runs.begin(), runs.end());
    return runs[runs.size() / 2];
}

double now_us() {
    using namespace std::chrono;
    return duration<double, std::micro>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
    int iterations = argc > 1 ? atoi(argv[1]) : 500;
    if (iterations <= 0)
        iterations = 500;
    std::string root = build_root();
    std::string module = root + "/pam_lockbox/pam_lockbox.so";
    std::string stub = root + "/tests/pam/stub_enforcer";
    if (access(module.c_str(), R_OK) != 0 || access(stub.c_str(), X_OK) != 0) {
        fprintf(stderr, "bench_pam_check: needs %s and %s (build with -Dtests=true)\n", module.c_str(), stub.c_str());
        return 77;
    }
    struct passwd* nobody = getpwnam("nobody");
    if (nobody == nullptr) {
        fprintf(stderr, "bench_pam_check: no user 'nobody'\n");
        return 77;
    }

    char tmpl[] = "/tmp/bench-pam-check.XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
        return 1;
    std::string dir = tmpl;
    std::ofstream(dir + "/bus.conf")
        << "<busconfig><type>custom</type><listen>unix:path=" << dir
        << "/bus</listen>"
           "<auth>EXTERNAL</auth><policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/>"
           "<allow send_destination=\"*\"/><allow receive_sender=\"*\"/></policy></busconfig>\n";
    std::ofstream(dir + "/lockbox.conf") << "[Host]\nTenant=bench\nName=bench-host\n[Accounts]\nUIDMin="
                                         << nobody->pw_uid << "\nUIDMax=" << nobody->pw_uid + 1 << "\n";
    // The same libpam work (pam_start, one stack, pam_end) without Lockbox.
    std::ofstream(dir + "/permit-bench") << "account required pam_permit.so\n";
    std::ofstream(dir + "/lockbox-bench") << "account required " << module << " config=" << dir << "/lockbox.conf\n";

    int rc = 1;
    {
        Child bus, enforcer;
        std::string address, ready;
        if (!spawn(&bus,
                   {"/usr/bin/dbus-daemon", "--config-file=" + dir + "/bus.conf", "--nofork", "--nopidfile",
                    "--print-address=3"},
                   {"PATH=/usr/bin:/bin"}, &address) ||
            !spawn(&enforcer, {stub, "--mode=allow", "--ready-fd=3"}, {"DBUS_SYSTEM_BUS_ADDRESS=" + address}, &ready)) {
            fprintf(stderr, "bench_pam_check: cannot start the private bus and stub\n");
        } else {
            setenv("DBUS_SYSTEM_BUS_ADDRESS", address.c_str(), 1);
            void* libpam = dlopen("libpam.so.0", RTLD_NOW);
            auto start = libpam ? reinterpret_cast<pam_start_confdir_fn>(dlsym(libpam, "pam_start_confdir")) : nullptr;
            auto acct = libpam ? reinterpret_cast<pam_acct_mgmt_fn>(dlsym(libpam, "pam_acct_mgmt")) : nullptr;
            auto end = libpam ? reinterpret_cast<pam_end_fn>(dlsym(libpam, "pam_end")) : nullptr;
            auto set_item = libpam ? reinterpret_cast<pam_set_item_fn>(dlsym(libpam, "pam_set_item")) : nullptr;

            sd_bus* raw = nullptr;
            if (!start || !acct || !end || !set_item) {
                fprintf(stderr, "bench_pam_check: libpam.so.0 without pam_start_confdir\n");
            } else if (sd_bus_open_system(&raw) < 0) {
                fprintf(stderr, "bench_pam_check: cannot connect to the private bus\n");
            } else {
                pam_conv_abi conv = {quiet_conv, nullptr};
                auto pam_stack = [&](const char* service) {
                    void* ph = nullptr;
                    int r = start(service, nobody->pw_name, &conv, dir.c_str(), &ph);
                    if (r == PAM_SUCCESS_ABI) {
                        set_item(ph, PAM_RHOST_ABI, "198.51.100.7");
                        r = acct(ph, show_messages ? 0 : PAM_SILENT_ABI);
                    }
                    if (ph)
                        end(ph, r);
                    return r;
                };
                auto pam_check = [&]() { return pam_stack("lockbox-bench"); };
                auto pam_permit = [&]() { return pam_stack("permit-bench"); };
                auto ping = [&]() {
                    sd_bus_error error = SD_BUS_ERROR_NULL;
                    int r = sd_bus_call_method(raw, "org.lockbox.Enforcer1", "/org/lockbox/Enforcer1",
                                               "org.freedesktop.DBus.Peer", "Ping", &error, nullptr, "");
                    sd_bus_error_free(&error);
                    return r;
                };
                auto fresh_ping = [&]() {
                    sd_bus* b = nullptr;
                    int r = sd_bus_open_system(&b);
                    if (r >= 0) {
                        sd_bus_error error = SD_BUS_ERROR_NULL;
                        r = sd_bus_call_method(b, "org.lockbox.Enforcer1", "/org/lockbox/Enforcer1",
                                               "org.freedesktop.DBus.Peer", "Ping", &error, nullptr, "");
                        sd_bus_error_free(&error);
                    }
                    sd_bus_close_unref(b);
                    return r;
                };
                if (pam_check() != PAM_SUCCESS_ABI || ping() < 0 || fresh_ping() < 0) {
                    fprintf(stderr, "bench_pam_check: warm-up failed (pam %d)\n", pam_check());
                } else {
                    show_messages = false;
                    auto measure = [&](auto&& fn) {
                        for (int i = 0; i < iterations / 10; ++i)
                            fn();
                        double t0 = now_us();
                        for (int i = 0; i < iterations; ++i)
                            fn();
                        return (now_us() - t0) / iterations;
                    };
                    double ping_us = measure(ping);
                    double fresh_us = measure(fresh_ping);
                    double permit_us = measure(pam_permit);
                    double pam_us = measure(pam_check);
                    // libpam dlopens and dlcloses the module with every handle
                    // (sshd: once per connection). Holding one reference of our
                    // own leaves only the module's work: options, config, NSS,
                    // the bus round trip on a fresh connection.
                    void* pinned = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
                    double resident_us = pinned ? measure(pam_check) : 0;
                    printf("bench_pam_check: %d iterations each\n", iterations);
                    printf("  Peer.Ping, open connection          %8.1f us  (baseline 1.00x)\n", ping_us);
                    printf("  Peer.Ping, fresh connection         %8.1f us  (%.2fx)\n", fresh_us, fresh_us / ping_us);
                    printf("  pam_acct_mgmt, pam_permit only      %8.1f us  (%.2fx)\n", permit_us, permit_us / ping_us);
                    printf("  pam_acct_mgmt via pam_lockbox.so    %8.1f us  (%.2fx)\n", pam_us, pam_us / ping_us);
                    printf("  same, module kept loaded            %8.1f us  (%.2fx; %.2fx connect + Ping)\n",
                           resident_us, resident_us / ping_us, resident_us / fresh_us);
                    // What every login pays before the check: sshd's monitor is a
                    // new process per connection, so libpam's dlopen of the
                    // module (and of whatever it links that sshd does not) is
                    // never amortized. login and su do not have libsystemd.
                    std::string probe = root + "/bench/dlopen_probe";
                    double sshd_dl = dlopen_us(probe, module, true), login_dl = dlopen_us(probe, module, false);
                    printf(
                        "  dlopen of pam_lockbox.so, sshd-like  %8.1f us  (%.2fx connect + Ping)  (fresh process, "
                        "libsystemd loaded)\n",
                        sshd_dl, sshd_dl / fresh_us);
                    printf("  dlopen of pam_lockbox.so, login-like %8.1f us  (%.2fx connect + Ping)  (fresh process)\n",
                           login_dl, login_dl / fresh_us);
                    printf(
                        "  pam_lockbox's own share (minus pam_permit stack) %.1f us = %.2fx ping,"
                        " %.1f us = %.2fx ping when kept loaded\n",
                        pam_us - permit_us, (pam_us - permit_us) / ping_us, resident_us - permit_us,
                        (resident_us - permit_us) / ping_us);
                    if (pinned)
                        dlclose(pinned);
                    printf("  ratio pam_check / ping = %.2f; pam_check / fresh-connection ping = %.2f\n",
                           pam_us / ping_us, pam_us / fresh_us);
                    rc = 0;
                }
                sd_bus_flush_close_unref(raw);
            }
        }
    }
    for (const char* f : {"/bus.conf", "/lockbox.conf", "/lockbox-bench", "/permit-bench", "/bus"})
        unlink((dir + f).c_str());
    rmdir(dir.c_str());
    return rc;
}
