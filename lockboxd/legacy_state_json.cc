#include "legacy_state_json.h"

#include <limits>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "names.h"

namespace lockboxd {

namespace {

constexpr size_t MAX_ID = 128;

}  // namespace

lockbox::Result<PersistedGrants> parse_legacy_grants(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    auto bad = [](const std::string& what) {
        return lockbox::make_error(lockbox::Errc::Malformed, "grant state file: " + what);
    };
    if (j.is_discarded() || !j.is_object())
        return bad("not a JSON object");
    PersistedGrants out;
    if (j.contains("grants")) {
        if (!j["grants"].is_array())
            return bad("\"grants\" is not an array");
        for (const auto& e : j["grants"]) {
            if (!e.is_object() || !e.contains("token") || !e["token"].is_string() || !e.contains("state") ||
                !e["state"].is_string())
                return bad("a grant entry lacks token or state");
            auto st = parse_grant_state(e["state"].get<std::string>());
            if (!st)
                return bad("unknown grant state");
            // Every release wrote the jti; it is the key of the imported row.
            if (!e.contains("jti") || !e["jti"].is_string() || e["jti"].get<std::string>().empty() ||
                e["jti"].get<std::string>().size() > MAX_ID)
                return bad("a grant entry lacks its jti");
            PersistedGrant p;
            p.token = e["token"].get<std::string>();
            p.state = *st;
            p.jti = e["jti"].get<std::string>();
            if (e.contains("installed_at") && e["installed_at"].is_number_integer())
                p.installed_at = e["installed_at"].get<usec_t>();
            if (e.contains("ended_at") && e["ended_at"].is_number_integer())
                p.ended_at = e["ended_at"].get<usec_t>();
            if (e.contains("sub") && e["sub"].is_string() && lockbox::is_valid_user_name(e["sub"].get<std::string>()))
                p.sub = e["sub"].get<std::string>();
            if (e.contains("exp") && e["exp"].is_number_integer())
                p.exp = e["exp"].get<usec_t>();
            out.grants.push_back(std::move(p));
        }
    }
    if (j.contains("revoked")) {
        if (!j["revoked"].is_array())
            return bad("\"revoked\" is not an array");
        for (const auto& r : j["revoked"]) {
            if (!r.is_string() || r.get<std::string>().size() > MAX_ID)
                return bad("a revoked id is not a short string");
            out.revoked.push_back(r.get<std::string>());
        }
    }
    return out;
}

lockbox::Result<std::vector<std::pair<std::string, uint32_t>>> parse_legacy_uids(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("uids") || !j["uids"].is_object())
        return lockbox::make_error(lockbox::Errc::Malformed, "the uid map is not a JSON object with \"uids\"");
    std::vector<std::pair<std::string, uint32_t>> out;
    std::unordered_set<uint64_t> seen;
    for (const auto& [name, value] : j["uids"].items()) {
        if (!lockbox::is_valid_user_name(name) || !value.is_number_unsigned() ||
            value.get<uint64_t>() > std::numeric_limits<uint32_t>::max())
            return lockbox::make_error(lockbox::Errc::Malformed, "bad uid map entry for \"" + name + "\"");
        auto uid = value.get<uint64_t>();
        if (!seen.insert(uid).second)
            return lockbox::make_error(lockbox::Errc::Malformed, "uid " + std::to_string(uid) + " appears twice");
        out.emplace_back(name, static_cast<uint32_t>(uid));
    }
    return out;
}

lockbox::Result<std::vector<Session>> parse_legacy_sessions(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("sessions") || !j["sessions"].is_array())
        return lockbox::make_error(lockbox::Errc::Malformed, "session state file is not an object with \"sessions\"");
    std::vector<Session> out;
    for (const auto& e : j["sessions"]) {
        Session s;
        try {
            s.id = e.at("id").get<std::string>();
            s.user = e.at("user").get<std::string>();
            s.uid = e.at("uid").get<uint32_t>();
            s.pid = e.at("pid").get<int32_t>();
            s.tty = e.at("tty").get<std::string>();
            s.rhost = e.at("rhost").get<std::string>();
            s.logind_session = e.at("logind_session").get<std::string>();
            s.grant_id = e.at("grant_id").get<std::string>();
            s.audit_session = e.at("audit_session").get<uint32_t>();
            s.opened_at = e.at("opened_at").get<lockbox::usec_t>();
        } catch (const nlohmann::json::exception&) {
            return lockbox::make_error(lockbox::Errc::Malformed, "a session entry lacks a field or has the wrong type");
        }
        if (!is_valid_session(s))
            return lockbox::make_error(lockbox::Errc::Malformed, "a session entry has a bad id or user");
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace lockboxd
