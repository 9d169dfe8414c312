#include "logind_client.h"

#include <unistd.h>

namespace lockboxd {

namespace {
constexpr const char* LOGIN1_NAME = "org.freedesktop.login1";
constexpr const char* LOGIN1_PATH = "/org/freedesktop/login1";
constexpr const char* LOGIN1_IFACE = "org.freedesktop.login1.Manager";
}  // namespace

bool LogindClient::logind_running() { return ::access("/run/systemd/seats", F_OK) == 0; }

void LogindClient::terminate_session(const std::string& logind_session) const {
    if (!bus_ || logind_session.empty() || !logind_running())
        return;
    // NULL slot: the call floats and its reply is dropped by sd-bus.
    sd_bus_call_method_async(bus_, nullptr, LOGIN1_NAME, LOGIN1_PATH, LOGIN1_IFACE, "TerminateSession",
                             nullptr, nullptr, "s", logind_session.c_str());
}

void LogindClient::kill_user(uid_t uid, int sig) const {
    if (!bus_ || !logind_running())
        return;
    sd_bus_call_method_async(bus_, nullptr, LOGIN1_NAME, LOGIN1_PATH, LOGIN1_IFACE, "KillUser", nullptr,
                             nullptr, "ui", static_cast<uint32_t>(uid), sig);
}

}  // namespace lockboxd
