#include "grant_claims.h"

#include <algorithm>
#include <array>
#include <exception>
#include <vector>

#include <nlohmann/json.hpp>

#include "access_level.h"
#include "names.h"
#include "time_format.h"

namespace lockbox {
namespace {

using nlohmann::json;

// Access is the one optional claim: a token without it (a peer issuer, a grant
// signed before levels existed) gets the host's least privileged level.
enum class Claim { Iss, Sub, Aud, Jti, Iat, Nbf, Exp, Hosts, Ticket, Reason, SshKeys, ApprovedBy, Access, Count };

constexpr std::array<std::string_view, static_cast<size_t>(Claim::Count)> CLAIM_NAMES = {
    "iss", "sub", "aud", "jti", "iat", "nbf", "exp", "hosts", "ticket", "reason", "ssh_keys", "approved_by", "access"};

constexpr size_t MAX_TIME_TEXT = 64;

Error malformed(std::string message) { return make_error(Errc::Malformed, std::move(message)); }

std::string quoted(Claim c) { return "claim '" + std::string(CLAIM_NAMES[static_cast<size_t>(c)]) + "'"; }

bool is_list(Claim c) { return c == Claim::Hosts || c == Claim::SshKeys || c == Claim::ApprovedBy; }

size_t max_length(Claim c) {
    switch (c) {
    case Claim::Iss:
        return MAX_HOST_NAME;
    case Claim::Sub:
        return MAX_USER_NAME;
    case Claim::Aud:
        return MAX_TENANT_NAME;
    case Claim::Jti:
        return 36;
    case Claim::Hosts:
        return MAX_HOST_NAME;
    case Claim::Ticket:
        return MAX_TICKET;
    case Claim::Reason:
        return MAX_REASON;
    case Claim::SshKeys:
        return MAX_SSH_KEY;
    case Claim::Access:
        return MAX_ACCESS_LEVEL;
    default:
        return MAX_TIME_TEXT;
    }
}

// `what` names the claim in the message; built only on failure, since every
// login pays for this parse.
template <typename What>
Result<usec_t> parse_time(std::string_view text, What&& what) {
    auto t = parse_rfc3339(text);
    if (!t)
        return malformed(what() + " is not an RFC 3339 UTC time: " + t.error().message);
    // Whole seconds only, so the claims read back exactly as they were written.
    if (*t % USEC_PER_SEC != 0)
        return malformed(what() + " has a fraction of a second");
    return *t;
}

// Reads the claims straight from the parser's events into GrantClaims: no
// document tree, each value checked for type and size as it arrives. The
// shape is fixed (object of scalars and lists; approved_by a list of
// objects), so anything else, including repeated keys that a tree would
// silently collapse, is refused.
class ClaimsReader final : public json::json_sax_t {
public:
    GrantClaims claims;
    std::string problem;

    bool null() override { return wrong_type(); }
    bool boolean(bool) override { return wrong_type(); }
    bool number_integer(number_integer_t) override { return wrong_type(); }
    bool number_unsigned(number_unsigned_t) override { return wrong_type(); }
    bool number_float(number_float_t, const string_t&) override { return wrong_type(); }
    bool binary(binary_t&) override { return wrong_type(); }

    bool string(string_t& val) override {
        if (depth_ == 1)
            return top_string(val);
        if (depth_ == 2 && current_ != Claim::ApprovedBy)
            return list_string(val);
        if (depth_ == 3)
            return approval_string(val);
        return wrong_type();
    }

    bool start_object(std::size_t) override {
        if (depth_ == 0) {
            depth_ = 1;
            return true;
        }
        if (depth_ == 2 && current_ == Claim::ApprovedBy) {
            if (claims.approved_by.size() >= MAX_APPROVALS)
                return fail(quoted(current_) + " has more than " + std::to_string(MAX_APPROVALS) + " entries");
            claims.approved_by.emplace_back();
            approval_seen_ = 0;
            depth_ = 3;
            return true;
        }
        return wrong_type();
    }

    bool key(string_t& val) override {
        if (depth_ == 1) {
            for (size_t i = 0; i < CLAIM_NAMES.size(); ++i) {
                if (CLAIM_NAMES[i] == val) {
                    if (seen_ & (1u << i))
                        return fail("claims repeat the key '" + val + "'");
                    seen_ |= 1u << i;
                    current_ = static_cast<Claim>(i);
                    return true;
                }
            }
            // A verifier that silently ignored a claim it does not understand
            // could honour a grant its issuer meant to restrict.
            return fail("unknown claim '" + val.substr(0, 64) + "'");
        }
        static constexpr std::array<std::string_view, 3> APPROVAL_KEYS = {"role", "user", "at"};
        for (size_t i = 0; i < APPROVAL_KEYS.size(); ++i) {
            if (APPROVAL_KEYS[i] == val) {
                if (approval_seen_ & (1u << i))
                    return fail(quoted(Claim::ApprovedBy) + " entry repeats the key '" + val + "'");
                approval_seen_ |= 1u << i;
                approval_key_ = i;
                return true;
            }
        }
        return fail(quoted(Claim::ApprovedBy) + " entries must be objects with exactly role, user and at");
    }

    bool end_object() override {
        if (depth_ == 3) {
            if (approval_seen_ != 7)
                return fail(quoted(Claim::ApprovedBy) + " entries must be objects with exactly role, user and at");
            depth_ = 2;
            return true;
        }
        depth_ = 0;
        for (size_t i = 0; i < CLAIM_NAMES.size(); ++i)
            if (!(seen_ & (1u << i)) && static_cast<Claim>(i) != Claim::Access)
                return fail(quoted(static_cast<Claim>(i)) + " is missing");
        return true;
    }

    bool start_array(std::size_t) override {
        if (depth_ == 1 && is_list(current_)) {
            depth_ = 2;
            return true;
        }
        if (depth_ >= 2)
            return fail(quoted(current_) + " nests deeper than its shape allows");
        return wrong_type();
    }

    bool end_array() override {
        depth_ = 1;
        return true;
    }

    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        if (problem.empty())
            problem = "claims are not valid JSON";
        return false;
    }

private:
    int depth_ = 0;  // 0 outside, 1 in the claims object, 2 in a list, 3 in an approval
    Claim current_ = Claim::Count;
    uint32_t seen_ = 0;
    uint32_t approval_seen_ = 0;
    size_t approval_key_ = 0;

    bool fail(std::string why) {
        if (problem.empty())
            problem = std::move(why);
        return false;
    }

    bool wrong_type() {
        if (depth_ == 0)
            return fail("claims are not a JSON object");
        if (depth_ == 1)
            return fail(quoted(current_) + (is_list(current_) ? " is not a list" : " is not a string"));
        if (depth_ == 2 && current_ == Claim::ApprovedBy)
            return fail(quoted(current_) + " entries must be objects with exactly role, user and at");
        if (depth_ == 2)
            return fail(quoted(current_) + " has an entry that is not a string");
        return fail(quoted(Claim::ApprovedBy) + " entries hold only strings");
    }

    bool too_long(Claim c, size_t max) { return fail(quoted(c) + " is longer than " + std::to_string(max) + " bytes"); }

    bool top_string(string_t& val) {
        if (is_list(current_))
            return wrong_type();
        if (val.size() > max_length(current_))
            return too_long(current_, max_length(current_));
        switch (current_) {
        case Claim::Iss:
            claims.iss = std::move(val);
            break;
        case Claim::Sub:
            claims.sub = std::move(val);
            break;
        case Claim::Aud:
            claims.aud = std::move(val);
            break;
        case Claim::Jti:
            claims.jti = std::move(val);
            break;
        case Claim::Ticket:
            claims.ticket = std::move(val);
            break;
        case Claim::Reason:
            claims.reason = std::move(val);
            break;
        case Claim::Access:
            // Present means stated: an empty level would read as "the default".
            if (val.empty())
                return fail(quoted(current_) + " is empty");
            claims.access = std::move(val);
            break;
        case Claim::Iat:
        case Claim::Nbf:
        case Claim::Exp: {
            auto t = parse_time(val, [this] { return quoted(current_); });
            if (!t)
                return fail(t.error().message);
            (current_ == Claim::Iat ? claims.iat : current_ == Claim::Nbf ? claims.nbf : claims.exp) = *t;
            break;
        }
        default:
            return wrong_type();
        }
        return true;
    }

    bool list_string(string_t& val) {
        auto& list = current_ == Claim::Hosts ? claims.hosts : claims.ssh_keys;
        const size_t max_count = current_ == Claim::Hosts ? MAX_HOSTS : MAX_SSH_KEYS;
        if (list.size() >= max_count)
            return fail(quoted(current_) + " has more than " + std::to_string(max_count) + " entries");
        if (val.size() > max_length(current_))
            return fail(quoted(current_) + " has an entry longer than " + std::to_string(max_length(current_)) +
                        " bytes");
        list.push_back(std::move(val));
        return true;
    }

    bool approval_string(string_t& val) {
        Approval& a = claims.approved_by.back();
        switch (approval_key_) {
        case 0:
            if (val.size() > 16)
                return fail(quoted(Claim::ApprovedBy) + " has an overlong role");
            a.role = std::move(val);
            return true;
        case 1:
            if (val.size() > MAX_USER_NAME)
                return fail(quoted(Claim::ApprovedBy) + " has an overlong user name");
            a.user = std::move(val);
            return true;
        default: {
            if (val.size() > MAX_TIME_TEXT)
                return fail(quoted(Claim::ApprovedBy) + " has an overlong time");
            auto t = parse_time(val, [] { return quoted(Claim::ApprovedBy) + " 'at'"; });
            if (!t)
                return fail(t.error().message);
            a.at = *t;
            return true;
        }
        }
    }
};

Status validate_fields(const GrantClaims& c) {
    if (!is_valid_host_name(c.iss))
        return malformed("claim 'iss' is not a valid host name");
    if (!is_valid_user_name(c.sub))
        return malformed("claim 'sub' is not a valid user name");
    if (!is_valid_tenant_name(c.aud))
        return malformed("claim 'aud' is not a valid tenant name");
    if (!is_valid_uuid(c.jti))
        return malformed("claim 'jti' is not a canonical lowercase UUID");
    // 'nbf' may precede 'iat': issuers backdate it to absorb clock skew
    // (Teleport starts certificates a minute early). The verifier bounds the
    // whole window, backdating included, by exp - nbf <= MaxGrant.
    if (c.nbf >= c.exp)
        return malformed("claim 'exp' is not later than 'nbf'");
    // A token issued at or after its own end can only come from a broken clock.
    if (c.iat >= c.exp)
        return malformed("claim 'iat' is not earlier than 'exp'");
    if (c.hosts.empty() || c.hosts.size() > MAX_HOSTS)
        return malformed("claim 'hosts' must list 1 to " + std::to_string(MAX_HOSTS) + " hosts");
    std::vector<std::string_view> sorted;
    sorted.reserve(c.hosts.size());
    for (const auto& h : c.hosts) {
        if (!is_valid_host_target(h))
            return malformed("claim 'hosts' has an entry that is neither a host name nor an @group");
        sorted.push_back(h);
    }
    std::sort(sorted.begin(), sorted.end());
    if (auto dup = std::adjacent_find(sorted.begin(), sorted.end()); dup != sorted.end())
        return malformed("claim 'hosts' lists '" + std::string(*dup) + "' twice");
    if (!is_valid_ticket(c.ticket))
        return malformed("claim 'ticket' is not a valid ticket number");
    if (!is_valid_reason(c.reason))
        return malformed("claim 'reason' is not valid text (printable, at most " + std::to_string(MAX_REASON) +
                         " bytes)");
    if (c.ssh_keys.empty() || c.ssh_keys.size() > MAX_SSH_KEYS)
        return malformed("claim 'ssh_keys' must list 1 to " + std::to_string(MAX_SSH_KEYS) + " keys");
    for (const auto& k : c.ssh_keys) {
        if (k.size() > MAX_SSH_KEY || !is_valid_ssh_public_key(k))
            return malformed("claim 'ssh_keys' has an entry that is not an OpenSSH public key");
    }
    if (!c.access.empty() && !is_valid_access_level(c.access))
        return malformed("claim 'access' is not a level name ([a-z][a-z0-9_-]*, at most " +
                         std::to_string(MAX_ACCESS_LEVEL) + " characters)");
    if (c.approved_by.size() > MAX_APPROVALS)
        return malformed("claim 'approved_by' has more than " + std::to_string(MAX_APPROVALS) + " entries");
    bool customer_approved = false;
    for (const auto& a : c.approved_by) {
        if (a.role != "manager" && a.role != "approver")
            return malformed("claim 'approved_by' has a role other than manager or approver");
        if (!is_valid_user_name(a.user))
            return malformed("claim 'approved_by' names an invalid user");
        customer_approved = customer_approved || a.role == "approver";
    }
    // docs/design.md §1: no grant exists without the customer's approval.
    if (!customer_approved)
        return malformed("claim 'approved_by' has no customer approver");
    return {};
}

}  // namespace

Status validate_grant_claims(const GrantClaims& c) {
    auto fields = validate_fields(c);
    if (!fields)
        return fields;
    if (grant_claims_to_json(c).size() > MAX_CLAIMS_JSON)
        return malformed("claims are larger than " + std::to_string(MAX_CLAIMS_JSON) + " bytes as JSON");
    return {};
}

std::string grant_claims_to_json(const GrantClaims& c) {
    json approvals = json::array();
    for (const auto& a : c.approved_by)
        approvals.push_back({{"role", a.role}, {"user", a.user}, {"at", format_rfc3339(a.at)}});
    json obj = {
        {"iss", c.iss},
        {"sub", c.sub},
        {"aud", c.aud},
        {"jti", c.jti},
        {"iat", format_rfc3339(c.iat)},
        {"nbf", format_rfc3339(c.nbf)},
        {"exp", format_rfc3339(c.exp)},
        {"hosts", c.hosts},
        {"ticket", c.ticket},
        {"reason", c.reason},
        {"ssh_keys", c.ssh_keys},
        {"approved_by", std::move(approvals)},
    };
    if (!c.access.empty())
        obj["access"] = c.access;
    // replace, not throw: invalid UTF-8 from a caller must not become an exception.
    return obj.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<GrantClaims> parse_grant_claims(std::string_view text) {
    if (text.size() > MAX_CLAIMS_JSON)
        return malformed("claims are larger than " + std::to_string(MAX_CLAIMS_JSON) + " bytes");
    try {
        ClaimsReader reader;
        const bool parsed = json::sax_parse(text.begin(), text.end(), &reader);
        if (!parsed || !reader.problem.empty())
            return malformed(reader.problem.empty() ? "claims are not valid JSON" : reader.problem);
        // The size was checked on the text itself.
        auto valid = validate_fields(reader.claims);
        if (!valid)
            return valid.error();
        return std::move(reader.claims);
    } catch (const std::exception& e) {
        // The reader throws nothing itself; this keeps an allocation failure
        // from leaving the library as an exception.
        return malformed(std::string("claims could not be read: ") + e.what());
    }
}

}  // namespace lockbox
