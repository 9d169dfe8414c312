// A stand-in for lockboxd's org.lockbox.Enforcer1, for testing pam_lockbox
// against every kind of peer: one that allows, one that denies, one that never
// answers, one that answers with the wrong signature, one that cannot open
// sessions. The module under test is real; only its peer is scripted.
//
//   stub_enforcer --mode=allow|deny|hang|malformed|session-error
//                 [--record=FILE] [--ready-fd=N]
//
// Connects to DBUS_SYSTEM_BUS_ADDRESS, owns org.lockbox.Enforcer1, writes
// "READY\n" to the ready fd, appends one line per call to FILE
// ("Method|arg|arg..."), and runs until killed.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <systemd/sd-bus.h>

#include "bus_api.h"
#include "sd_handles.h"

namespace {

constexpr const char* GRANT_ID = "5f0c6b1e-7d7a-4c55-9a51-3c1e2f6d8a90";
constexpr const char* TICKET = "INC-4711";
constexpr const char* SESSION_ID = "stub-session-1";
constexpr uint64_t ONE_HOUR_USEC = 3600ULL * 1000000ULL;

enum class Mode { allow, deny, hang, malformed, session_error };

struct Stub {
    Mode mode = Mode::allow;
    std::string record_path;
    std::vector<sd_bus_message*> unanswered;  // kept so hang mode never replies
};

uint64_t now_usec() {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000ULL + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

void record(const Stub& stub, const std::string& line) {
    if (stub.record_path.empty())
        return;
    int fd = open(stub.record_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    std::string text = line + "\n";
    ssize_t n = write(fd, text.data(), text.size());
    (void)n;
    close(fd);
}

int hang(Stub& stub, sd_bus_message* m) {
    stub.unanswered.push_back(sd_bus_message_ref(m));
    return 1;
}

int check_access(Stub& stub, sd_bus_message* m) {
    const char *user, *service, *rhost, *tty;
    int r = sd_bus_message_read(m, "ssss", &user, &service, &rhost, &tty);
    if (r < 0)
        return r;
    record(stub, std::string("CheckAccess|") + user + "|" + service + "|" + rhost + "|" + tty);
    switch (stub.mode) {
    case Mode::allow:
    case Mode::session_error:
        return sd_bus_reply_method_return(m, "bsst", 1, "allowed", GRANT_ID, now_usec() + ONE_HOUR_USEC);
    case Mode::deny:
        return sd_bus_reply_method_return(m, "bsst", 0, "no-grant", "", static_cast<uint64_t>(0));
    case Mode::hang:
        return hang(stub, m);
    case Mode::malformed:
        // "allowed" as a string where a boolean belongs: must not count as a yes.
        return sd_bus_reply_method_return(m, "ssst", "true", "allowed", GRANT_ID, now_usec() + ONE_HOUR_USEC);
    }
    return -EINVAL;
}

int open_session(Stub& stub, sd_bus_message* m) {
    const char *user, *tty, *rhost, *logind;
    uint32_t pid = 0;
    int r = sd_bus_message_read(m, "susss", &user, &pid, &tty, &rhost, &logind);
    if (r < 0)
        return r;
    record(stub,
           std::string("OpenSession|") + user + "|" + std::to_string(pid) + "|" + tty + "|" + rhost + "|" + logind);
    switch (stub.mode) {
    case Mode::allow:
        return sd_bus_reply_method_return(m, "ssst", SESSION_ID, GRANT_ID, TICKET, now_usec() + ONE_HOUR_USEC);
    case Mode::hang:
        return hang(stub, m);
    case Mode::malformed:
        return sd_bus_reply_method_return(m, "s", SESSION_ID);
    case Mode::deny:
    case Mode::session_error:
        return sd_bus_reply_method_errorf(m, lockbox::bus::ERROR_NOT_FOUND, "no active grant for %s", user);
    }
    return -EINVAL;
}

int close_session(Stub& stub, sd_bus_message* m) {
    const char* id;
    int r = sd_bus_message_read(m, "s", &id);
    if (r < 0)
        return r;
    record(stub, std::string("CloseSession|") + id);
    if (stub.mode == Mode::hang)
        return hang(stub, m);
    return sd_bus_reply_method_return(m, "");
}

int on_message(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto& stub = *static_cast<Stub*>(userdata);
    if (sd_bus_message_is_method_call(m, lockbox::bus::ENFORCER_IFACE, "CheckAccess"))
        return check_access(stub, m);
    if (sd_bus_message_is_method_call(m, lockbox::bus::ENFORCER_IFACE, "OpenSession"))
        return open_session(stub, m);
    if (sd_bus_message_is_method_call(m, lockbox::bus::ENFORCER_IFACE, "CloseSession"))
        return close_session(stub, m);
    return 0;  // let sd-bus answer Peer.Ping, Introspect and unknown methods
}

bool parse_mode(std::string_view s, Mode* mode) {
    if (s == "allow")
        *mode = Mode::allow;
    else if (s == "deny")
        *mode = Mode::deny;
    else if (s == "hang")
        *mode = Mode::hang;
    else if (s == "malformed")
        *mode = Mode::malformed;
    else if (s == "session-error")
        *mode = Mode::session_error;
    else
        return false;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    Stub stub;
    int ready_fd = -1;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg(argv[i]);
        if (arg.starts_with("--mode=")) {
            if (!parse_mode(arg.substr(7), &stub.mode)) {
                fprintf(stderr, "stub_enforcer: unknown mode %s\n", argv[i]);
                return 2;
            }
        } else if (arg.starts_with("--record=")) {
            stub.record_path = std::string(arg.substr(9));
        } else if (arg.starts_with("--ready-fd=")) {
            ready_fd = atoi(argv[i] + 11);
        } else {
            fprintf(stderr, "stub_enforcer: unknown argument %s\n", argv[i]);
            return 2;
        }
    }

    sd_bus* raw = nullptr;
    int r = sd_bus_open_system(&raw);
    if (r < 0) {
        fprintf(stderr, "stub_enforcer: cannot connect: %s\n", strerror(-r));
        return 1;
    }
    lockbox::BusPtr bus(raw);
    r = sd_bus_add_object(bus.get(), nullptr, lockbox::bus::ENFORCER_PATH, on_message, &stub);
    if (r >= 0)
        r = sd_bus_request_name(bus.get(), lockbox::bus::ENFORCER_NAME, 0);
    if (r < 0) {
        fprintf(stderr, "stub_enforcer: cannot serve %s: %s\n", lockbox::bus::ENFORCER_NAME, strerror(-r));
        return 1;
    }
    if (ready_fd >= 0) {
        ssize_t n = write(ready_fd, "READY\n", 6);
        (void)n;
        close(ready_fd);
    }
    for (;;) {
        r = sd_bus_process(bus.get(), nullptr);
        if (r < 0) {
            fprintf(stderr, "stub_enforcer: bus: %s\n", strerror(-r));
            break;
        }
        if (r > 0)
            continue;
        r = sd_bus_wait(bus.get(), UINT64_MAX);  // killed by the test when done
        if (r < 0 && r != -EINTR)
            break;
    }
    for (auto* m : stub.unanswered)
        sd_bus_message_unref(m);
    return 0;
}
