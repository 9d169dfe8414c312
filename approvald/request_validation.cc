#include "request_validation.h"

#include <set>

#include "names.h"
#include "printable_text.h"
#include "request.h"
#include "time_format.h"

namespace lockbox::approval {

namespace {
Error invalid(std::string message) { return make_error(Errc::InvalidArgument, std::move(message)); }
}  // namespace

Status validate_duration(uint64_t duration_sec, usec_t max_grant) {
    if (duration_sec == 0)
        return invalid("duration: must be at least 1 second");
    const uint64_t max_sec = static_cast<uint64_t>(max_grant / USEC_PER_SEC);
    if (duration_sec > max_sec)
        return invalid("duration: " + std::to_string(duration_sec) + " s exceeds the maximum grant of " +
                       format_duration(max_grant));
    return {};
}

Status validate_request_id(const std::string& id) {
    if (!is_valid_uuid(id))
        return invalid("id: expected a request id (lowercase UUID), got '" + id.substr(0, 64) + "'");
    return {};
}

Status validate_text(const char* what, const std::string& text, size_t max, bool required) {
    if (required && text.empty())
        return invalid(std::string(what) + ": must not be empty");
    if (text.size() > max)
        return invalid(std::string(what) + ": longer than " + std::to_string(max) + " bytes");
    if (!is_printable(text))
        return invalid(std::string(what) + ": must be printable text without control characters");
    return {};
}

Status validate_state_filter(const std::string& state) {
    if (!state.empty() && !parse_state(state))
        return invalid("state: unknown state '" + state.substr(0, 64) + "'");
    return {};
}

Status validate_new_request(const NewRequest& req, const std::string& served_tenant, usec_t max_grant) {
    if (req.tenant.empty() || req.tenant.size() > MAX_TENANT_NAME || !is_valid_tenant_name(req.tenant))
        return invalid("tenant: expected a tenant name ([a-z0-9][a-z0-9._-]*, at most " +
                       std::to_string(MAX_TENANT_NAME) + " characters)");
    if (req.tenant != served_tenant)
        return invalid("tenant: unknown tenant '" + req.tenant + "' (this service serves '" + served_tenant + "')");
    if (req.ticket.empty() || req.ticket.size() > MAX_TICKET || !is_valid_ticket(req.ticket))
        return invalid("ticket: expected printable ASCII without spaces, 1.." + std::to_string(MAX_TICKET) +
                       " characters");
    if (req.hosts.empty())
        return invalid("hosts: at least one host is required");
    if (req.hosts.size() > MAX_HOSTS)
        return invalid("hosts: at most " + std::to_string(MAX_HOSTS) + " hosts");
    std::set<std::string> seen;
    for (const auto& h : req.hosts) {
        if (h.empty() || h.size() > MAX_HOST_NAME || !is_valid_host_target(h))
            return invalid("hosts: '" + h.substr(0, 64) + "' is neither a host name nor an @group");
        if (!seen.insert(h).second)
            return invalid("hosts: '" + h + "' is listed twice");
    }
    if (auto s = validate_duration(req.duration_sec, max_grant); !s)
        return s;
    if (auto s = validate_text("reason", req.reason, MAX_REASON, true); !s)
        return s;
    if (req.ssh_keys.empty())
        return invalid("ssh_keys: at least one OpenSSH public key is required");
    if (req.ssh_keys.size() > MAX_SSH_KEYS)
        return invalid("ssh_keys: at most " + std::to_string(MAX_SSH_KEYS) + " keys");
    for (size_t i = 0; i < req.ssh_keys.size(); ++i) {
        const auto& k = req.ssh_keys[i];
        if (k.size() > MAX_SSH_KEY || !is_valid_ssh_public_key(k))
            return invalid("ssh_keys: key " + std::to_string(i + 1) +
                           " is not an OpenSSH public key (\"ssh-ed25519 AAAA… [comment]\")");
    }
    if (!req.engineer.empty() && (req.engineer.size() > MAX_USER_NAME || !is_valid_user_name(req.engineer)))
        return invalid("engineer: '" + req.engineer.substr(0, 64) + "' is not a valid login name");
    return {};
}

}  // namespace lockbox::approval
