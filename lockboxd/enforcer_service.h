// org.lockbox.Enforcer1 on the bus: argument validation, the root check on top
// of the bus policy, then a call into the Enforcer and a named error or reply.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>

#include "enforcer.h"
#include "result.h"
#include "sd_handles.h"

namespace lockboxd {

class EnforcerService {
public:
    EnforcerService(Enforcer& enforcer, sd_bus* bus);
    lockbox::Status start();

    void emit_grant_changed(const std::string& jti, const char* state);
    void emit_session_killed(const std::string& session_id, const std::string& jti);

    std::function<bool()> approval_reachable;

    Enforcer& enforcer() { return enforcer_; }
    // The caller's effective uid. dbus-daemon does not attach credentials to
    // messages, so sd-bus asks it; unique names are never reused on a bus, so
    // the answer is cached until the name disconnects.
    lockbox::Result<uid_t> sender_euid(sd_bus_message* m);
    std::string actor_of(uid_t uid) const;

private:
    static int on_name_lost(sd_bus_message* m, void* userdata, sd_bus_error* error);

    Enforcer& enforcer_;
    sd_bus* bus_;
    lockbox::BusSlotPtr vtable_slot_;
    lockbox::BusSlotPtr name_lost_match_;
    std::unordered_map<std::string, uid_t> euid_cache_;
};

}  // namespace lockboxd
