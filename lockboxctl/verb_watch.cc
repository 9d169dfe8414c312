// lockboxctl watch: follows org.lockbox.Approval1's signals live. Signals carry
// ids and states only (docs/design.md §6); `request show ID` fetches the details for
// whoever may read them.
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>

#include <systemd/sd-event.h>

#include "bus_api.h"
#include "ctl.h"
#include "time_format.h"

#include <nlohmann/json.hpp>

namespace lockboxctl {
namespace {

struct WatchState {
    bool json = false;
    long count = 0;  // stop after this many events; 0 = until interrupted
    long seen = 0;
    sd_event* event = nullptr;
};

lockbox::usec_t now_usec() {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<lockbox::usec_t>(ts.tv_sec) * lockbox::USEC_PER_SEC + ts.tv_nsec / 1000;
}

int on_signal(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) noexcept {
    auto* w = static_cast<WatchState*>(userdata);
    const char* member = sd_bus_message_get_member(m);
    const char* id = nullptr;
    const char* state = nullptr;
    if (!member || sd_bus_message_read_basic(m, 's', &id) <= 0 || !id)
        return 0;
    if (sd_bus_message_read_basic(m, 's', &state) <= 0)
        state = nullptr;
    const std::string when = lockbox::format_rfc3339(now_usec());
    try {
        if (w->json) {
            nlohmann::json j{{"time", when}, {"event", member}, {"id", id}};
            if (state)
                j["state"] = state;
            std::printf("%s\n", j.dump().c_str());
        } else {
            std::printf("%s  %-14s  %s  %s\n", when.c_str(), member, id, state ? state : "");
        }
    } catch (...) {
        return 0;
    }
    std::fflush(stdout);
    if (w->count > 0 && ++w->seen >= w->count)
        sd_event_exit(w->event, 0);
    return 0;
}

int run_watch(Context& ctx, WatchState& w) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, nullptr);

    auto bus = ctx.system_bus();
    if (!bus)
        return fail(bus.error());
    sd_event* raw = nullptr;
    if (sd_event_default(&raw) < 0)
        return fail("cannot create an event loop");
    lockbox::EventPtr event(raw);
    w.event = event.get();
    sd_event_add_signal(event.get(), nullptr, SIGINT, nullptr, nullptr);
    sd_event_add_signal(event.get(), nullptr, SIGTERM, nullptr, nullptr);
    if (sd_bus_attach_event(bus->get(), event.get(), SD_EVENT_PRIORITY_NORMAL) < 0)
        return fail("cannot attach to the bus");
    sd_bus_slot* slot = nullptr;
    // The sender match names the well-known name; the bus resolves it to the
    // current owner, so another peer cannot inject events into this stream.
    int r = sd_bus_match_signal(bus->get(), &slot, lockbox::bus::APPROVAL_NAME, lockbox::bus::APPROVAL_PATH,
                                lockbox::bus::APPROVAL_IFACE, nullptr, on_signal, &w);
    lockbox::BusSlotPtr match(slot);
    if (r < 0)
        return fail(std::string("cannot subscribe to ") + lockbox::bus::APPROVAL_NAME + " signals");
    std::fprintf(stderr, "lockboxctl: watching %s (Ctrl-C to stop)\n", lockbox::bus::APPROVAL_NAME);
    r = sd_event_loop(event.get());
    sd_bus_detach_event(bus->get());
    return r < 0 ? fail("event loop failed") : EXIT_OK;
}

}  // namespace

void register_watch_verb(CLI::App& app, Context& ctx, int& exit_code) {
    auto w = std::make_shared<WatchState>();
    auto* cmd = app.add_subcommand("watch", "Follow request events as they happen");
    cmd->add_flag("--json", w->json, "one JSON object per line");
    cmd->add_option("--count", w->count, "stop after N events")->check(CLI::NonNegativeNumber);
    cmd->callback([&ctx, w, &exit_code] { exit_code = run_watch(ctx, *w); });
}

}  // namespace lockboxctl
