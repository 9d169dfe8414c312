#include "enforcer_client.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "bus_api.h"
#include "names.h"

namespace lockbox::pam {
namespace {

constexpr const char* DEFAULT_SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket";
constexpr size_t MAX_REASON_CODE = 64;
constexpr size_t MAX_SESSION_ID = 128;

using MessagePtr = BusMessagePtr;

// Owns an sd_bus_error so no path forgets sd_bus_error_free.
struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    BusError() = default;
    BusError(const BusError&) = delete;
    BusError& operator=(const BusError&) = delete;
    ~BusError() { sd_bus_error_free(&e); }
};

usec_t monotonic_now() {
    struct timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<usec_t>(ts.tv_sec) * USEC_PER_SEC + ts.tv_nsec / 1000;
}

std::string errno_text(int negative_errno) {
    char buf[128];
    // GNU strerror_r returns the string, which may or may not be buf.
    return strerror_r(-negative_errno, buf, sizeof buf);
}

Error timeout_error(const char* what) {
    return make_error(Errc::Timeout, std::string("lockboxd did not answer ") + what + " within the timeout");
}

Error call_error(const char* method, int r, const sd_bus_error* e) {
    if (r == -ETIMEDOUT || sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT) ||
        sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY))
        return timeout_error(method);
    if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
        sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER) || sd_bus_error_has_name(e, SD_BUS_ERROR_DISCONNECTED))
        return make_error(Errc::Unavailable,
                          std::string("lockboxd is not running (") + printable(e->name, MAX_SHOWN_TEXT) + ")");
    if (sd_bus_error_is_set(e))
        return make_error(Errc::Refused, std::string("lockboxd refused ") + method + ": " +
                                             printable(e->name, MAX_SHOWN_TEXT) + ": " +
                                             printable(e->message ? e->message : "", MAX_SHOWN_TEXT));
    return make_error(Errc::Unavailable, std::string(method) + " failed: " + errno_text(r));
}

// [a-z-]: the reason codes of docs/bus-api.md; anything else is not a reason.
bool is_reason_code(const char* s) {
    size_t n = strnlen(s, MAX_REASON_CODE + 1);
    if (n == 0 || n > MAX_REASON_CODE)
        return false;
    for (size_t i = 0; i < n; ++i)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
            return false;
    return true;
}

bool is_session_id(const char* s) {
    size_t n = strnlen(s, MAX_SESSION_ID + 1);
    if (n == 0 || n > MAX_SESSION_ID)
        return false;
    for (size_t i = 0; i < n; ++i) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  c == '.' || c == ':';
        if (!ok)
            return false;
    }
    return true;
}

Error malformed(const char* method, const std::string& what) {
    return make_error(Errc::Malformed, std::string("malformed ") + method + " reply: " + what);
}

// The reply must carry exactly the contract's signature: a daemon that answers
// something else is not one we can trust to have decided anything.
Status expect_signature(sd_bus_message* reply, const char* method, const char* expected) {
    const char* sig = sd_bus_message_get_signature(reply, 1);
    if (sig == nullptr || strcmp(sig, expected) != 0)
        return malformed(method,
                         std::string("signature '") + printable(sig ? sig : "", 64) + "', expected '" + expected + "'");
    return {};
}

Result<MessagePtr> new_call(sd_bus* bus, const char* method) {
    sd_bus_message* raw = nullptr;
    int r =
        sd_bus_message_new_method_call(bus, &raw, bus::ENFORCER_NAME, bus::ENFORCER_PATH, bus::ENFORCER_IFACE, method);
    if (r < 0)
        return make_error(Errc::Unavailable, std::string(method) + ": " + errno_text(r));
    return MessagePtr(raw);
}

Result<MessagePtr> invoke(sd_bus* bus, usec_t deadline, sd_bus_message* call, const char* method) {
    usec_t remaining = deadline - monotonic_now();
    if (remaining <= 0)
        return timeout_error(method);
    BusError error;
    sd_bus_message* reply = nullptr;
    // usec 0 would mean sd-bus's 25 s default, hence the check above.
    int r = sd_bus_call(bus, call, static_cast<uint64_t>(remaining), &error.e, &reply);
    if (r < 0)
        return call_error(method, r, &error.e);
    return MessagePtr(reply);
}

}  // namespace

Result<EnforcerClient> EnforcerClient::connect(usec_t budget) {
    usec_t deadline = monotonic_now() + budget;
    sd_bus* raw = nullptr;
    int r = sd_bus_new(&raw);
    if (r < 0)
        return make_error(Errc::Unavailable, "cannot allocate a bus connection: " + errno_text(r));
    BusPtr bus(raw);

    // Same source as sd_bus_open_system(): tests point it at a private bus.
    const char* address = secure_getenv(bus::BUS_ADDRESS_ENV);
    if (address == nullptr || address[0] == '\0')
        address = DEFAULT_SYSTEM_BUS;
    r = sd_bus_set_address(bus.get(), address);
    if (r >= 0)
        r = sd_bus_set_bus_client(bus.get(), 1);
    if (r >= 0)
        r = sd_bus_set_description(bus.get(), "pam_lockbox");
    if (r >= 0)
        r = sd_bus_set_method_call_timeout(bus.get(), static_cast<uint64_t>(budget));
    if (r < 0)
        return make_error(Errc::Unavailable, "cannot set up the bus connection: " + errno_text(r));
    r = sd_bus_start(bus.get());
    if (r < 0)
        return make_error(Errc::Unavailable, "cannot connect to the system bus (" + printable(address, MAX_SHOWN_TEXT) +
                                                 "): " + errno_text(r));

    // sd_bus_call would finish the handshake itself, but waiting on sd-bus's own
    // 25 s authentication timeout; a wedged dbus-daemon must cost us no more
    // than our budget.
    for (;;) {
        r = sd_bus_is_ready(bus.get());
        if (r > 0)
            break;
        if (r < 0)
            return make_error(Errc::Unavailable, "system bus connection failed: " + errno_text(r));
        r = sd_bus_process(bus.get(), nullptr);
        if (r < 0)
            return make_error(Errc::Unavailable, "system bus connection failed: " + errno_text(r));
        if (r > 0)
            continue;
        if (sd_bus_is_open(bus.get()) <= 0)
            return make_error(Errc::Unavailable, "system bus closed the connection");
        usec_t remaining = deadline - monotonic_now();
        if (remaining <= 0)
            return timeout_error("the bus handshake");
        r = sd_bus_wait(bus.get(), static_cast<uint64_t>(remaining));
        if (r < 0 && r != -EINTR)
            return make_error(Errc::Unavailable, "system bus connection failed: " + errno_text(r));
    }
    return EnforcerClient(std::move(bus), deadline);
}

Result<AccessVerdict> EnforcerClient::check_access(const std::string& user, const std::string& service,
                                                   const std::string& rhost, const std::string& tty) {
    constexpr const char* method = "CheckAccess";
    auto call = new_call(bus_.get(), method);
    if (!call)
        return call.error();
    int r = sd_bus_message_append(call->get(), "ssss", user.c_str(), service.c_str(), rhost.c_str(), tty.c_str());
    if (r < 0)
        return make_error(Errc::Unavailable, std::string(method) + ": " + errno_text(r));
    auto reply = invoke(bus_.get(), deadline_, call->get(), method);
    if (!reply)
        return reply.error();
    if (auto sig = expect_signature(reply->get(), method, "bsst"); !sig)
        return sig.error();

    int allowed = 0;
    const char* reason = nullptr;
    const char* grant_id = nullptr;
    uint64_t expires = 0;
    r = sd_bus_message_read(reply->get(), "bsst", &allowed, &reason, &grant_id, &expires);
    if (r < 0)
        return malformed(method, errno_text(r));
    if (!is_reason_code(reason))
        return malformed(method, "reason '" + printable(reason, 64) + "'");
    if (grant_id[0] != '\0' && !is_valid_uuid(grant_id))
        return malformed(method, "grant id '" + printable(grant_id, 64) + "'");
    if (expires > static_cast<uint64_t>(INT64_MAX))
        return malformed(method, "expiry out of range");

    AccessVerdict verdict;
    verdict.allowed = allowed != 0;
    verdict.reason = reason;
    verdict.grant_id = grant_id;
    verdict.expires = static_cast<usec_t>(expires);
    // An allow must name what allows it; anything less is not an explicit allow.
    if (verdict.allowed && (verdict.grant_id.empty() || verdict.expires == 0))
        return malformed(method, "allowed without a grant id and expiry");
    return verdict;
}

Result<SessionTicket> EnforcerClient::open_session(const SessionInfo& session) {
    constexpr const char* method = "OpenSession";
    auto call = new_call(bus_.get(), method);
    if (!call)
        return call.error();
    int r = sd_bus_message_append(call->get(), "susss", session.user.c_str(), session.pid, session.tty.c_str(),
                                  session.rhost.c_str(), session.logind_session.c_str());
    if (r < 0)
        return make_error(Errc::Unavailable, std::string(method) + ": " + errno_text(r));
    auto reply = invoke(bus_.get(), deadline_, call->get(), method);
    if (!reply)
        return reply.error();
    if (auto sig = expect_signature(reply->get(), method, "ssst"); !sig)
        return sig.error();

    const char* session_id = nullptr;
    const char* grant_id = nullptr;
    const char* ticket = nullptr;
    uint64_t expires = 0;
    r = sd_bus_message_read(reply->get(), "ssst", &session_id, &grant_id, &ticket, &expires);
    if (r < 0)
        return malformed(method, errno_text(r));
    if (!is_session_id(session_id))
        return malformed(method, "session id '" + printable(session_id, 64) + "'");
    if (!is_valid_uuid(grant_id))
        return malformed(method, "grant id '" + printable(grant_id, 64) + "'");
    if (!is_valid_ticket(ticket))
        return malformed(method, "ticket '" + printable(ticket, 64) + "'");
    if (expires == 0 || expires > static_cast<uint64_t>(INT64_MAX))
        return malformed(method, "expiry out of range");
    return SessionTicket{session_id, grant_id, ticket, static_cast<usec_t>(expires)};
}

Status EnforcerClient::close_session(const std::string& session_id) {
    constexpr const char* method = "CloseSession";
    auto call = new_call(bus_.get(), method);
    if (!call)
        return call.error();
    int r = sd_bus_message_append(call->get(), "s", session_id.c_str());
    if (r < 0)
        return make_error(Errc::Unavailable, std::string(method) + ": " + errno_text(r));
    auto reply = invoke(bus_.get(), deadline_, call->get(), method);
    if (!reply)
        return reply.error();
    return {};
}

}  // namespace lockbox::pam
