// Asks systemd-logind to end an engineer's sessions when logind runs. Always
// asynchronous and fire-and-forget: the uid sweep is what guarantees the end,
// logind only makes it tidy (scopes, seats, utmp).
#pragma once

#include <string>
#include <sys/types.h>

#include <systemd/sd-bus.h>

namespace lockboxd {

class LogindClient {
public:
    explicit LogindClient(sd_bus* bus) : bus_(bus) {}
    // logind is considered present when it created /run/systemd/seats.
    static bool logind_running();
    void terminate_session(const std::string& logind_session) const;
    void kill_user(uid_t uid, int sig) const;

private:
    sd_bus* bus_;
};

}  // namespace lockboxd
