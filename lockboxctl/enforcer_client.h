// Calls from lockboxctl to org.lockbox.Enforcer1 (and the few Approval1 calls
// the grant verbs make): one place that builds the call, applies the context's
// timeout and turns a bus error into the sentence ctl.h's describe_bus_error gives.
// Header-only so the verb files share it without a build change.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <systemd/sd-bus.h>

#include "bus_api.h"
#include "ctl.h"

namespace lockboxctl {

using ReplyPtr = lockbox::BusMessagePtr;

struct BusTarget {
    const char* name;
    const char* path;
    const char* iface;
    const char* label;  // for messages: "lockboxd", "lockbox-approvald"
};

inline constexpr BusTarget ENFORCER{lockbox::bus::ENFORCER_NAME, lockbox::bus::ENFORCER_PATH,
                                    lockbox::bus::ENFORCER_IFACE, "lockboxd"};
inline constexpr BusTarget APPROVAL{lockbox::bus::APPROVAL_NAME, lockbox::bus::APPROVAL_PATH,
                                    lockbox::bus::APPROVAL_IFACE, "lockbox-approvald"};

struct CallFailure {
    std::string message;
    std::string error_name;  // D-Bus error name, "" when the call never got an answer
};

// Returns the reply, or fills *failure. append may be empty for no arguments.
inline ReplyPtr call_method(sd_bus* bus, const BusTarget& target, const char* method,
                            const std::function<int(sd_bus_message*)>& append, uint64_t timeout_usec,
                            CallFailure* failure) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus, &raw, target.name, target.path, target.iface, method);
    ReplyPtr call(raw);
    if (r >= 0 && append)
        r = append(call.get());
    if (r < 0) {
        failure->message = std::string("cannot build the call to ") + target.label;
        return nullptr;
    }
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    r = sd_bus_call(bus, call.get(), timeout_usec, &error, &reply);
    if (r < 0) {
        failure->message = describe_bus_error(&error, r, target.label);
        failure->error_name = sd_bus_error_is_set(&error) ? error.name : "";
        sd_bus_error_free(&error);
        return nullptr;
    }
    return ReplyPtr(reply);
}

// The many methods that answer one string.
inline lockbox::Result<std::string> call_for_string(sd_bus* bus, const BusTarget& target, const char* method,
                                                    const std::function<int(sd_bus_message*)>& append,
                                                    uint64_t timeout_usec, CallFailure* failure) {
    ReplyPtr reply = call_method(bus, target, method, append, timeout_usec, failure);
    if (!reply)
        return lockbox::make_error(failure->error_name.empty() ? lockbox::Errc::Unavailable : lockbox::Errc::Refused,
                                   failure->message);
    const char* s = nullptr;
    if (sd_bus_message_read(reply.get(), "s", &s) < 0)
        return lockbox::make_error(lockbox::Errc::Malformed, std::string("malformed reply from ") + target.label);
    return std::string(s);
}

inline bool service_missing(const CallFailure& f) {
    return f.error_name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
           f.error_name == "org.freedesktop.DBus.Error.NameHasNoOwner";
}

inline lockbox::Result<nlohmann::json> parse_json_reply(const std::string& text, const char* label) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded())
        return lockbox::make_error(lockbox::Errc::Malformed, std::string("malformed JSON from ") + label);
    return j;
}

inline std::string json_str(const nlohmann::json& j, const char* key) {
    if (!j.contains(key))
        return "";
    const auto& v = j[key];
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_array()) {
        std::string out;
        for (const auto& e : v)
            out += (out.empty() ? "" : ",") + (e.is_string() ? e.get<std::string>() : e.dump());
        return out;
    }
    return v.dump();
}

}  // namespace lockboxctl
