#include "logind_client.h"

#include <unistd.h>

#include "sd_handles.h"

namespace lockboxd {

namespace {
constexpr const char* LOGIN1_NAME = "org.freedesktop.login1";
constexpr const char* LOGIN1_PATH = "/org/freedesktop/login1";
constexpr const char* LOGIN1_IFACE = "org.freedesktop.login1.Manager";

// A new message to logind that never bus-activates it: lockboxd only asks a
// running logind, and its own uid sweep does not depend on the answer.
lockbox::BusMessagePtr new_call(sd_bus* bus, const char* method) {
    sd_bus_message* raw = nullptr;
    if (sd_bus_message_new_method_call(bus, &raw, LOGIN1_NAME, LOGIN1_PATH, LOGIN1_IFACE, method) < 0)
        return nullptr;
    lockbox::BusMessagePtr m(raw);
    sd_bus_message_set_auto_start(raw, 0);
    return m;
}

// NULL slot: the call floats and its reply is dropped by sd-bus.
void send_floating(sd_bus* bus, sd_bus_message* m) { sd_bus_call_async(bus, nullptr, m, nullptr, nullptr, 0); }

}  // namespace

bool LogindClient::logind_running() { return ::access("/run/systemd/seats", F_OK) == 0; }

void LogindClient::terminate_session(const std::string& logind_session) const {
    if (!bus_ || logind_session.empty() || !logind_running())
        return;
    lockbox::BusMessagePtr m = new_call(bus_, "TerminateSession");
    if (m && sd_bus_message_append(m.get(), "s", logind_session.c_str()) >= 0)
        send_floating(bus_, m.get());
}

void LogindClient::kill_user(uid_t uid, int sig) const {
    if (!bus_ || !logind_running())
        return;
    lockbox::BusMessagePtr m = new_call(bus_, "KillUser");
    if (m && sd_bus_message_append(m.get(), "ui", static_cast<uint32_t>(uid), static_cast<int32_t>(sig)) >= 0)
        send_floating(bus_, m.get());
}

}  // namespace lockboxd
