// A stand-in for both daemons that exercises only the bus policy: it owns
// names, answers every method call with an empty reply and reports the
// org.lockbox.* signals that the bus lets through. test_bus_policy.py runs it
// as root and as unprivileged uids against a private dbus-daemon.
//
//   policy_probe serve NAME...              own the names, answer calls, print
//                                           "ready", then one line per signal:
//                                           "signal IFACE MEMBER TOKEN"; exits
//                                           when stdin closes or after 120 s
//   policy_probe own NAME                   exit 0 owned, 1 refused by the bus
//   policy_probe call DEST PATH IFACE MEMBER   IFACE "-" = none; prints "ok" or
//                                           the error name; exit 0 ok, 1 error
//   policy_probe emit PATH IFACE MEMBER TOKEN  broadcast a signal, then a round
//                                           trip to the bus so it has routed it
// The bus address comes from DBUS_SYSTEM_BUS_ADDRESS. Exit 2 = probe failure.
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include "sd_handles.h"

namespace {

using Bus = lockbox::BusPtr;
using Message = lockbox::BusMessagePtr;
using Event = lockbox::EventPtr;
using Slot = lockbox::BusSlotPtr;
using Source = lockbox::EventSourcePtr;

// Owns an sd_bus_error for its whole life so no exit path leaks it.
struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    BusError() = default;
    BusError(const BusError&) = delete;
    BusError& operator=(const BusError&) = delete;
    ~BusError() { sd_bus_error_free(&e); }
};

constexpr int EXIT_PROBE_FAILED = 2;
constexpr uint64_t CALL_TIMEOUT_USEC = 10ULL * 1000 * 1000;
constexpr uint64_t SERVE_LIMIT_USEC = 120ULL * 1000 * 1000;

Bus connect_bus() {
    const char* address = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");
    if (!address || !*address) {
        std::fprintf(stderr, "policy_probe: DBUS_SYSTEM_BUS_ADDRESS is not set\n");
        return nullptr;
    }
    sd_bus* raw = nullptr;
    if (sd_bus_new(&raw) < 0)
        return nullptr;
    Bus bus(raw);
    int r = sd_bus_set_address(bus.get(), address);
    if (r >= 0)
        r = sd_bus_set_bus_client(bus.get(), 1);
    if (r >= 0)
        r = sd_bus_start(bus.get());
    if (r < 0) {
        std::fprintf(stderr, "policy_probe: connecting to %s: %s\n", address, std::strerror(-r));
        return nullptr;
    }
    return bus;
}

// Every method call addressed to us gets an empty reply, so a caller sees
// either "ok" (the bus let it through) or the bus's own error.
int on_message(sd_bus_message* m, void* /*userdata*/, sd_bus_error* /*error*/) {
    uint8_t type = 0;
    if (sd_bus_message_get_type(m, &type) < 0)
        return 0;
    if (type == SD_BUS_MESSAGE_METHOD_CALL) {
        sd_bus_reply_method_return(m, nullptr);
        return 1;
    }
    if (type == SD_BUS_MESSAGE_SIGNAL) {
        const char* iface = sd_bus_message_get_interface(m);
        if (!iface || std::string_view(iface).rfind("org.lockbox.", 0) != 0)
            return 0;
        const char* token = "";
        if (sd_bus_message_read(m, "s", &token) < 0)
            token = "?";
        std::printf("signal %s %s %s\n", iface, sd_bus_message_get_member(m), token);
        std::fflush(stdout);
        return 1;
    }
    return 0;
}

// Matches only make the bus route the broadcasts to us; on_message reports them.
int on_match(sd_bus_message* /*m*/, void* /*userdata*/, sd_bus_error* /*error*/) { return 0; }

int on_stdin(sd_event_source* s, int /*fd*/, uint32_t /*revents*/, void* /*userdata*/) {
    char buf[64];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0 && !(n < 0 && errno == EINTR))
        return sd_event_exit(sd_event_source_get_event(s), 0);
    return 0;
}

int serve(const std::vector<std::string>& names) {
    Bus bus = connect_bus();
    if (!bus)
        return EXIT_PROBE_FAILED;
    for (const auto& name : names) {
        int r = sd_bus_request_name(bus.get(), name.c_str(), 0);
        if (r < 0) {
            std::fprintf(stderr, "policy_probe: cannot own %s: %s\n", name.c_str(), std::strerror(-r));
            return EXIT_PROBE_FAILED;
        }
    }
    sd_bus_slot* raw_slot = nullptr;
    if (sd_bus_add_filter(bus.get(), &raw_slot, on_message, nullptr) < 0)
        return EXIT_PROBE_FAILED;
    Slot filter(raw_slot);
    std::vector<Slot> matches;
    for (const char* iface : {"org.lockbox.Approval1", "org.lockbox.Enforcer1"}) {
        std::string rule = std::string("type='signal',interface='") + iface + "'";
        if (sd_bus_add_match(bus.get(), &raw_slot, rule.c_str(), on_match, nullptr) < 0)
            return EXIT_PROBE_FAILED;
        matches.emplace_back(raw_slot);
    }
    sd_event* raw_event = nullptr;
    if (sd_event_new(&raw_event) < 0)
        return EXIT_PROBE_FAILED;
    Event event(raw_event);
    if (sd_bus_attach_event(bus.get(), event.get(), 0) < 0)
        return EXIT_PROBE_FAILED;
    sd_event_source* raw_source = nullptr;
    if (sd_event_add_io(event.get(), &raw_source, STDIN_FILENO, EPOLLIN, on_stdin, nullptr) < 0)
        return EXIT_PROBE_FAILED;
    Source stdin_source(raw_source);
    uint64_t now = 0;
    sd_event_now(event.get(), CLOCK_MONOTONIC, &now);
    if (sd_event_add_time(event.get(), &raw_source, CLOCK_MONOTONIC, now + SERVE_LIMIT_USEC, 0, nullptr, nullptr) <
        0)  // NULL handler: exit the loop
        return EXIT_PROBE_FAILED;
    Source limit(raw_source);
    std::printf("ready\n");
    std::fflush(stdout);
    int r = sd_event_loop(event.get());
    sd_bus_detach_event(bus.get());
    return r < 0 ? EXIT_PROBE_FAILED : 0;
}

int own(const char* name) {
    Bus bus = connect_bus();
    if (!bus)
        return EXIT_PROBE_FAILED;
    int r = sd_bus_request_name(bus.get(), name, 0);
    if (r >= 0) {
        std::printf("owned\n");
        return 0;
    }
    std::printf("refused %s\n", std::strerror(-r));
    return r == -EACCES || r == -EPERM ? 1 : EXIT_PROBE_FAILED;
}

int call(const char* dest, const char* path, const char* iface, const char* member) {
    Bus bus = connect_bus();
    if (!bus)
        return EXIT_PROBE_FAILED;
    sd_bus_message* raw = nullptr;
    const char* interface = std::strcmp(iface, "-") == 0 ? nullptr : iface;
    if (sd_bus_message_new_method_call(bus.get(), &raw, dest, path, interface, member) < 0)
        return EXIT_PROBE_FAILED;
    Message msg(raw);
    BusError error;
    sd_bus_message* raw_reply = nullptr;
    int r = sd_bus_call(bus.get(), msg.get(), CALL_TIMEOUT_USEC, &error.e, &raw_reply);
    Message reply(raw_reply);
    if (r >= 0) {
        std::printf("ok\n");
        return 0;
    }
    std::printf("%s\n", error.e.name ? error.e.name : std::strerror(-r));
    return 1;
}

int emit(const char* path, const char* iface, const char* member, const char* token) {
    Bus bus = connect_bus();
    if (!bus)
        return EXIT_PROBE_FAILED;
    if (sd_bus_emit_signal(bus.get(), path, iface, member, "s", token) < 0)
        return EXIT_PROBE_FAILED;
    // The bus handles one connection's messages in order: once this reply is
    // back, the signal has been routed (or dropped by the policy).
    BusError error;
    sd_bus_message* raw_reply = nullptr;
    int r = sd_bus_call_method(bus.get(), "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetId", &error.e, &raw_reply, "");
    Message reply(raw_reply);
    if (r < 0)
        return EXIT_PROBE_FAILED;
    std::printf("sent\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "serve" && args.size() >= 2)
        return serve(std::vector<std::string>(args.begin() + 1, args.end()));
    if (args.size() == 2 && args[0] == "own")
        return own(argv[2]);
    if (args.size() == 5 && args[0] == "call")
        return call(argv[2], argv[3], argv[4], argv[5]);
    if (args.size() == 5 && args[0] == "emit")
        return emit(argv[2], argv[3], argv[4], argv[5]);
    std::fprintf(stderr,
                 "usage: policy_probe serve NAME... | own NAME | call DEST PATH IFACE MEMBER | "
                 "emit PATH IFACE MEMBER TOKEN\n");
    return EXIT_PROBE_FAILED;
}
