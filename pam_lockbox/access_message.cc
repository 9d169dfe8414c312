#include "access_message.h"

#include <ctime>

namespace lockbox::pam {
namespace {

std::string target_phrase(const Target& t) {
    std::string tenant = t.tenant.empty() ? "(unknown tenant)" : t.tenant;
    std::string host = t.host.empty() ? "(unknown host)" : t.host;
    return "an approved Lockbox request for tenant " + tenant + " on host " + host;
}

}  // namespace

std::string reason_text(const std::string& reason) {
    if (reason == "no-grant")
        return "there is no approved grant for you on this host";
    if (reason == "not-yet-valid")
        return "your grant is not valid yet";
    if (reason == "expired")
        return "your grant has expired";
    if (reason == "revoked")
        return "your grant was revoked";
    if (reason == "wrong-host")
        return "your grant does not include this host";
    if (reason == "not-managed")
        return "lockboxd does not manage this account";
    if (reason == "name-conflict")
        return "this name belongs to another account on this host";
    return "access refused (" + reason + ")";
}

std::string denied_message(const Target& t, const std::string& reason) {
    return "Lockbox: access for " + t.user + " needs " + target_phrase(t) + ". No grant: " + reason_text(reason) +
           " (reason: " + reason + ").";
}

std::string unavailable_message(const Target& t) {
    return "Lockbox: access for " + t.user + " needs " + target_phrase(t) +
           ", but Lockbox is unavailable on this host (lockboxd not reachable). "
           "Access is refused until it is back.";
}

std::string misconfigured_message(const Target& t) {
    return "Lockbox: access for " + t.user + " needs " + target_phrase(t) +
           ", but Lockbox is misconfigured on this host. Access is refused.";
}

std::string session_refused_message(const Target& t) {
    return "Lockbox: access for " + t.user + " needs " + target_phrase(t) +
           ", and the session could not be registered (lockboxd not reachable or "
           "refused it). The session is refused.";
}

std::string format_local_and_utc(usec_t t) {
    time_t secs = static_cast<time_t>(t / USEC_PER_SEC);
    struct tm local {};
    struct tm utc {};
    if (localtime_r(&secs, &local) == nullptr || gmtime_r(&secs, &utc) == nullptr)
        return "(time out of range)";
    char local_text[64];
    char utc_text[64];
    // Literal formats so -Wformat-nonliteral can check them.
    size_t nl = strftime(local_text, sizeof local_text, "%Y-%m-%d %H:%M:%S %Z", &local);
    size_t nu = strftime(utc_text, sizeof utc_text, "%Y-%m-%d %H:%M:%S UTC", &utc);
    return std::string(local_text, nl) + " (" + std::string(utc_text, nu) + ")";
}

std::string session_opened_message(const std::string& request_id, const std::string& ticket, usec_t expires) {
    return "Lockbox: access granted by request " + request_id + " (ticket " + ticket + "). Access ends at " +
           format_local_and_utc(expires) + "; your sessions are closed then.";
}

}  // namespace lockbox::pam
