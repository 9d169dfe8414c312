// bench_approvald: requests created and fully approved per second through the
// bus (CreateRequest + manager ApproveRequest + approver ApproveRequest, each a
// committed SQLite transaction with its audit records forwarded to journald and
// the final one signing a grant), against a bare org.freedesktop.DBus.Peer.Ping
// to lockbox-approvald in the same run.
// Runs as root; re-executes itself in a private mount+network namespace with its
// own dbus-daemon, journald (volatile) and account files. Usage: bench_approvald [N]
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>
#include <vector>

namespace {

using Steady = std::chrono::steady_clock;
std::vector<pid_t> g_children;
std::string g_dir;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "bench_approvald: %s\n", what.c_str());
    for (pid_t p : g_children)
        kill(p, SIGKILL);
    std::exit(1);
}

pid_t spawn(const std::vector<std::string>& argv, int out_fd = -1) {
    pid_t pid = fork();
    if (pid == 0) {
        std::vector<char*> a;
        for (const auto& s : argv)
            a.push_back(const_cast<char*>(s.c_str()));
        a.push_back(nullptr);
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(out_fd >= 0 ? out_fd : devnull, 1);
        dup2(devnull, 2);
        execv(a[0], a.data());
        _exit(127);
    }
    if (pid < 0)
        die("fork failed");
    return pid;
}

int run(const std::vector<std::string>& argv) {
    int status = 0;
    waitpid(spawn(argv), &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Puts entries (lines "name:...") into an account file, dropping the file's own
// entries of those names first: where the package is installed the host has
// lockbox-managers already, and a line appended after it would be shadowed.
void put_entries(const std::string& path, const std::vector<std::string>& entries) {
    std::ifstream in(path);
    std::string kept, line;
    while (std::getline(in, line)) {
        const std::string name = line.substr(0, line.find(':'));
        bool replaced = false;
        for (const auto& e : entries)
            replaced = replaced || e.substr(0, e.find(':')) == name;
        if (!line.empty() && !replaced)
            kept += line + "\n";
    }
    in.close();
    for (const auto& e : entries)
        kept += e + "\n";
    write_file(path, kept);
}

void bind_copy(const std::string& file) {
    const std::string copy = g_dir + "/" + std::to_string(std::hash<std::string>{}(file));
    run({"/bin/cp", "-p", file, copy});
    if (mount(copy.c_str(), file.c_str(), nullptr, MS_BIND, nullptr) < 0)
        die("bind mount " + file);
}

void tmpfs(const std::string& dir) {
    mkdir(dir.c_str(), 0755);
    if (mount("tmpfs", dir.c_str(), "tmpfs", 0, "mode=0755") < 0)
        die("tmpfs " + dir);
}

std::string start_dbus(const std::string& source_root) {
    tmpfs("/run/dbus");
    const std::string conf = g_dir + "/bus.conf";
    write_file(conf,
               "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n"
               " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig>\n"
               "<include>/usr/share/dbus-1/system.conf</include>\n<include>" +
                   source_root + "/systemd/org.lockbox.Approval1.conf</include>\n</busconfig>\n");
    int p[2];
    if (pipe(p) < 0)
        die("pipe");
    g_children.push_back(
        spawn({"/usr/bin/dbus-daemon", "--config-file=" + conf, "--nofork", "--nopidfile", "--print-address=1"}, p[1]));
    close(p[1]);
    std::string address;
    char buf[512];
    ssize_t n;
    while (address.find('\n') == std::string::npos && (n = read(p[0], buf, sizeof buf)) > 0)
        address.append(buf, static_cast<size_t>(n));
    close(p[0]);
    if (address.empty())
        die("dbus-daemon did not start");
    address.erase(address.find('\n'));
    setenv("DBUS_SYSTEM_BUS_ADDRESS", address.c_str(), 1);
    return address;
}

void start_journald() {
    tmpfs("/run/systemd/journal");
    tmpfs("/run/log/journal");
    // Never read or write the host's persistent journal.
    if (access("/var/log/journal", F_OK) == 0)
        tmpfs("/var/log/journal");
    const std::string conf = g_dir + "/journald.conf";
    write_file(conf, "[Journal]\nStorage=volatile\nRateLimitIntervalSec=0\nRateLimitBurst=0\nForwardToSyslog=no\n");
    if (access("/etc/systemd/journald.conf", F_OK) == 0)
        mount(conf.c_str(), "/etc/systemd/journald.conf", nullptr, MS_BIND, nullptr);
    g_children.push_back(spawn({"/lib/systemd/systemd-journald"}));
    for (int i = 0; i < 200 && access("/run/systemd/journal/socket", F_OK) != 0; ++i)
        usleep(50000);
}

// A connection authenticated as uid: the bus takes the peer credentials at
// connect time, so switch the effective uid around the whole handshake.
sd_bus* connect_as(uid_t uid) {
    if (uid != 0 && seteuid(uid) < 0)
        die("seteuid");
    sd_bus* bus = nullptr;
    const char* unique = nullptr;
    if (sd_bus_open_system(&bus) < 0 || sd_bus_get_unique_name(bus, &unique) < 0)
        die("cannot connect to the private bus as uid " + std::to_string(uid));
    if (uid != 0 && seteuid(0) < 0)
        die("seteuid back");
    return bus;
}

std::string approve(sd_bus* bus, const std::string& id) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    if (sd_bus_call_method(bus, "org.lockbox.Approval1", "/org/lockbox/Approval1", "org.lockbox.Approval1",
                           "ApproveRequest", &e, &reply, "stss", id.c_str(), uint64_t{0}, "", "") < 0)
        die(std::string("ApproveRequest: ") + (e.message ? e.message : "failed"));
    const char* s = nullptr;
    sd_bus_message_read(reply, "s", &s);
    std::string out = s ? s : "";
    sd_bus_message_unref(reply);
    return out;
}

std::string create(sd_bus* bus) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    static const char* key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl eve@laptop";
    if (sd_bus_call_method(bus, "org.lockbox.Approval1", "/org/lockbox/Approval1", "org.lockbox.Approval1",
                           "CreateRequest", &e, &reply, "ssastsassts", "contoso", "INC-1", 1, "db01", uint64_t{3600},
                           "benchmark", 1, key, "eve", uint64_t{0}, "") < 0)
        die(std::string("CreateRequest: ") + (e.message ? e.message : "failed"));
    const char* s = nullptr;
    sd_bus_message_read(reply, "s", &s);
    std::string out = s ? s : "";
    sd_bus_message_unref(reply);
    return out;
}

double seconds_since(Steady::time_point t0) { return std::chrono::duration<double>(Steady::now() - t0).count(); }

int inside(int n) {
    const char* build = std::getenv("LOCKBOX_BUILD_ROOT");
    const char* source = std::getenv("LOCKBOX_SOURCE_ROOT");
    if (!build || !source)
        die("set LOCKBOX_BUILD_ROOT and LOCKBOX_SOURCE_ROOT (tools/bench does)");
    char tmpl[] = "/tmp/bench-approvald-XXXXXX";
    g_dir = mkdtemp(tmpl);
    chmod(g_dir.c_str(), 0755);
    run({"/sbin/ip", "link", "set", "lo", "up"});
    for (const char* f : {"/etc/passwd", "/etc/group"})
        bind_copy(f);
    put_entries("/etc/group", {"lockbox-managers:x:2960:benchmgr", "lockbox-approvers:x:2961:benchapr",
                               "benchmgr:x:2950:", "benchapr:x:2951:"});
    put_entries("/etc/passwd",
                {"benchmgr:x:2950:2950::/nonexistent:/bin/sh", "benchapr:x:2951:2951::/nonexistent:/bin/sh"});
    start_journald();
    start_dbus(source);
    const std::string keys = g_dir + "/signing";
    if (run({std::string(build) + "/lockboxctl/lockboxctl", "key", "generate", "--out", keys}) != 0)
        die("lockboxctl key generate failed");
    const std::string conf = g_dir + "/lockbox.conf";
    write_file(conf, "[Host]\nTenant=contoso\nName=db01\n[Keys]\nSigningKey=" + keys +
                         "/signing.secret\nTrustedDir=" + keys +
                         "\nKeyOwner=0\n[Notify]\nCommand=/bin/true\n"
                         "[Paths]\nStateDir=" +
                         g_dir + "/state\nRuntimeDir=" + g_dir + "/run\n");
    mkdir((g_dir + "/state").c_str(), 0755);
    g_children.push_back(spawn({std::string(build) + "/approvald/lockbox-approvald", "--config", conf}));

    sd_bus* root = connect_as(0);
    for (int i = 0;; ++i) {
        int has = 0;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message* reply = nullptr;
        if (sd_bus_call_method(root, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &e, &reply, "s", "org.lockbox.Approval1") >= 0) {
            sd_bus_message_read(reply, "b", &has);
            sd_bus_message_unref(reply);
        }
        sd_bus_error_free(&e);
        if (has)
            break;
        if (i > 200)
            die("lockbox-approvald did not take its name");
        usleep(50000);
    }
    sd_bus* manager = connect_as(2950);
    sd_bus* approver = connect_as(2951);

    // Warm up both paths (page cache, first SQLite pages, journald).
    for (int i = 0; i < 5; ++i) {
        const std::string id = create(root);
        approve(manager, id);
        approve(approver, id);
    }

    const int pings = n * 10;
    auto t0 = Steady::now();
    for (int i = 0; i < pings; ++i) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        if (sd_bus_call_method(root, "org.lockbox.Approval1", "/org/lockbox/Approval1", "org.freedesktop.DBus.Peer",
                               "Ping", &e, nullptr, "") < 0)
            die("Ping failed");
    }
    const double ping_s = seconds_since(t0) / pings;

    t0 = Steady::now();
    for (int i = 0; i < n; ++i) {
        const std::string id = create(root);
        if (approve(manager, id) != "pending-approver" || approve(approver, id) != "approved")
            die("unexpected state for " + id);
    }
    const double cycle_s = seconds_since(t0) / n;

    std::printf("Peer.Ping round trip:                 %8.1f us  (%8.0f /s)\n", ping_s * 1e6, 1 / ping_s);
    std::printf("create + 2 approvals (3 calls):       %8.1f us  (%8.1f requests/s)\n", cycle_s * 1e6, 1 / cycle_s);
    std::printf("per call vs ping:                     %8.1fx\n", cycle_s / 3 / ping_s);
    std::printf("requests: %d, pings: %d\n", n, pings);
    sd_bus_flush_close_unref(manager);
    sd_bus_flush_close_unref(approver);
    sd_bus_flush_close_unref(root);
    for (auto it = g_children.rbegin(); it != g_children.rend(); ++it) {
        kill(*it, SIGTERM);
        waitpid(*it, nullptr, 0);
    }
    run({"/bin/rm", "-rf", g_dir});
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    int n = argc > 1 ? std::atoi(argv[1]) : 200;
    if (n <= 0)
        n = 200;
    if (geteuid() != 0) {
        std::fprintf(stderr, "bench_approvald: needs root (namespaces, private bus); skipping\n");
        return 77;
    }
    if (!std::getenv("BENCH_APPROVALD_INSIDE")) {
        setenv("BENCH_APPROVALD_INSIDE", "1", 1);
        char self[4096] = "";
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        if (len <= 0)
            die("cannot find my own binary");
        self[len] = '\0';
        execl("/usr/bin/unshare", "unshare", "--mount", "--net", "--fork", "--kill-child", "--propagation", "private",
              self, std::to_string(n).c_str(), static_cast<char*>(nullptr));
        die("cannot exec unshare");
    }
    return inside(n);
}
