// The attacker's client for test_attack_refused_flood.py: one process that sends
// COUNT calls org.lockbox.Approval1.ApproveRequest that lockbox-approvald must
// refuse (the caller has no role), WINDOW of them in flight at a time, as fast
// as the bus lets it. A loop of busctl processes would spend the test's time in
// fork/exec rather than in the daemon under attack.
//
// Prints "sent N refused N other N" and exits 0 when every call was answered
// with org.freedesktop.DBus.Error.AccessDenied.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <systemd/sd-bus.h>

namespace {

constexpr const char* DENIED = "org.freedesktop.DBus.Error.AccessDenied";

struct Tally {
    unsigned long answered = 0, refused = 0, other = 0;
};

int on_reply(sd_bus_message* m, void* userdata, sd_bus_error* /*e*/) {
    auto* t = static_cast<Tally*>(userdata);
    ++t->answered;
    const sd_bus_error* err = sd_bus_message_get_error(m);
    if (err && err->name && std::strcmp(err->name, DENIED) == 0) {
        ++t->refused;
    } else {
        if (t->other < 5)
            std::fprintf(stderr, "unexpected answer: %s %s\n", err && err->name ? err->name : "(success)",
                         err && err->message ? err->message : "");
        ++t->other;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s COUNT\n", argv[0]);
        return 2;
    }
    const unsigned long count = std::strtoul(argv[1], nullptr, 10);
    constexpr unsigned long WINDOW = 16;
    sd_bus* bus = nullptr;
    int r = sd_bus_open_system(&bus);
    if (r < 0) {
        std::fprintf(stderr, "cannot connect to the system bus: %s\n", std::strerror(-r));
        return 1;
    }
    Tally tally;
    unsigned long sent = 0;
    while (tally.answered < count) {
        while (sent < count && sent - tally.answered < WINDOW) {
            // A well-formed id that names no request: the role check refuses first.
            r = sd_bus_call_method_async(bus, nullptr, "org.lockbox.Approval1", "/org/lockbox/Approval1",
                                         "org.lockbox.Approval1", "ApproveRequest", on_reply, &tally, "stss",
                                         "00000000-0000-4000-8000-000000000000", uint64_t{0}, "", "");
            if (r < 0) {
                std::fprintf(stderr, "call %lu not sent: %s\n", sent, std::strerror(-r));
                sd_bus_flush_close_unref(bus);
                return 1;
            }
            ++sent;
        }
        r = sd_bus_process(bus, nullptr);
        if (r < 0) {
            std::fprintf(stderr, "bus failed after %lu answers: %s\n", tally.answered, std::strerror(-r));
            break;
        }
        if (r == 0 && sd_bus_wait(bus, 30ull * 1000000) < 0)
            break;
    }
    sd_bus_flush_close_unref(bus);
    std::printf("sent %lu refused %lu other %lu\n", sent, tally.refused, tally.other);
    return tally.refused == count ? 0 : 1;
}
