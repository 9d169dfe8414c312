// Stand-in for systemd-logind in lockboxd's integration tests.
//
// It tests lockboxd's logind client (lockboxd/logind_client.cc: which calls
// lockboxd makes, with which arguments and signatures, from which process),
// NOT logind: it owns org.freedesktop.login1 on the test's private bus, accepts
// Manager.TerminateSession(s session_id) and Manager.KillUser(u uid,
// i signal_number) with the signatures of logind's D-Bus API (a call with any
// other signature is refused by sd-bus and never recorded), records each call
// and does nothing else. No session ends and no process is signalled here, so
// a test that still sees the engineer's processes gone proves that lockboxd's
// uid sweep does not depend on logind.
//
//   fake_logind --log FILE
//     appends one line per call to FILE, flushed before the reply:
//       TerminateSession <session_id> caller_uid=<euid> caller_pid=<pid>
//       KillUser <uid> <signal_number> caller_uid=<euid> caller_pid=<pid>
//     prints "ready" on stdout once the name is owned; ends on SIGTERM.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "sd_handles.h"

namespace {

struct FileClose {
    void operator()(FILE* f) const { std::fclose(f); }
};

std::unique_ptr<FILE, FileClose> g_log;

constexpr const char* PATH = "/org/freedesktop/login1";
constexpr const char* IFACE = "org.freedesktop.login1.Manager";

// " caller_uid=U caller_pid=P" from the bus daemon's view of the sender.
std::string caller_of(sd_bus_message* m) {
    sd_bus_creds* raw = nullptr;
    if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID, &raw) < 0)
        return " caller_uid=? caller_pid=?";
    lockbox::BusCredsPtr creds(raw);
    uid_t uid = 0;
    pid_t pid = 0;
    std::string out = " caller_uid=";
    out += sd_bus_creds_get_euid(raw, &uid) >= 0 ? std::to_string(uid) : "?";
    out += " caller_pid=";
    out += sd_bus_creds_get_pid(raw, &pid) >= 0 ? std::to_string(pid) : "?";
    return out;
}

void record(const std::string& line) {
    std::fprintf(g_log.get(), "%s\n", line.c_str());
    std::fflush(g_log.get());
}

int terminate_session(sd_bus_message* m, void* /*userdata*/, sd_bus_error* /*e*/) {
    const char* id = nullptr;
    int r = sd_bus_message_read(m, "s", &id);
    if (r < 0)
        return r;
    record(std::string("TerminateSession ") + id + caller_of(m));
    return sd_bus_reply_method_return(m, "");
}

int kill_user(sd_bus_message* m, void* /*userdata*/, sd_bus_error* /*e*/) {
    uint32_t uid = 0;
    int32_t sig = 0;
    int r = sd_bus_message_read(m, "ui", &uid, &sig);
    if (r < 0)
        return r;
    record("KillUser " + std::to_string(uid) + " " + std::to_string(sig) + caller_of(m));
    return sd_bus_reply_method_return(m, "");
}

const sd_bus_vtable vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("TerminateSession", "s", "", terminate_session, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("KillUser", "ui", "", kill_user, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 || std::strcmp(argv[1], "--log") != 0) {
        std::fprintf(stderr, "usage: fake_logind --log FILE\n");
        return 2;
    }
    g_log.reset(std::fopen(argv[2], "ae"));
    if (!g_log) {
        std::fprintf(stderr, "fake_logind: cannot open %s: %s\n", argv[2], std::strerror(errno));
        return 1;
    }
    sd_event* e = nullptr;
    if (sd_event_default(&e) < 0)
        return 1;
    lockbox::EventPtr event(e);
    sd_bus* raw = nullptr;
    if (sd_bus_open_system(&raw) < 0)
        return 1;
    lockbox::BusPtr bus(raw);
    sd_bus_attach_event(bus.get(), e, 0);
    if (sd_bus_add_object_vtable(bus.get(), nullptr, PATH, IFACE, vtable, nullptr) < 0)
        return 1;
    if (sd_bus_request_name(bus.get(), "org.freedesktop.login1", 0) < 0) {
        std::fprintf(stderr, "fake_logind: cannot own org.freedesktop.login1\n");
        return 1;
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    sd_event_add_signal(e, nullptr, SIGTERM, nullptr, nullptr);
    std::printf("ready\n");
    std::fflush(stdout);
    return sd_event_loop(e) < 0 ? 1 : 0;
}
