#include "session_registry.h"

#include <sys/random.h>

#include <nlohmann/json.hpp>

#include "names.h"

namespace lockboxd {

std::string random_session_id() {
    unsigned char bytes[16] = {};
    size_t done = 0;
    while (done < sizeof bytes) {
        ssize_t n = getrandom(bytes + done, sizeof bytes - done, 0);
        if (n > 0)
            done += static_cast<size_t>(n);
    }
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

std::string SessionRegistry::add(Session session) {
    std::string id;
    do {
        id = random_session_id();
    } while (by_id_.count(id));
    session.id = id;
    by_id_.emplace(id, std::move(session));
    return id;
}

std::optional<Session> SessionRegistry::remove(const std::string& id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end())
        return std::nullopt;
    Session s = std::move(it->second);
    by_id_.erase(it);
    return s;
}

const Session* SessionRegistry::find(const std::string& id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &it->second;
}

std::vector<Session> SessionRegistry::of_user(const std::string& user) const {
    std::vector<Session> out;
    for (const auto& [_, s] : by_id_)
        if (s.user == user)
            out.push_back(s);
    return out;
}

std::string SessionRegistry::to_json() const {
    nlohmann::json j;
    j["version"] = 1;
    j["sessions"] = nlohmann::json::array();
    for (const auto& [id, s] : by_id_)
        j["sessions"].push_back({{"id", id},
                                 {"user", s.user},
                                 {"uid", s.uid},
                                 {"pid", s.pid},
                                 {"tty", s.tty},
                                 {"rhost", s.rhost},
                                 {"logind_session", s.logind_session},
                                 {"grant_id", s.grant_id},
                                 {"audit_session", s.audit_session},
                                 {"opened_at", s.opened_at}});
    return j.dump(1);
}

lockbox::Status SessionRegistry::load_json(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("sessions") || !j["sessions"].is_array())
        return lockbox::make_error("malformed", "session state file is not an object with \"sessions\"");
    std::map<std::string, Session> loaded;
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
            return lockbox::make_error("malformed", "a session entry lacks a field or has the wrong type");
        }
        if (s.id.size() != 32 || !lockbox::is_valid_user_name(s.user))
            return lockbox::make_error("malformed", "a session entry has a bad id or user");
        std::string id = s.id;
        loaded.emplace(id, std::move(s));
    }
    by_id_ = std::move(loaded);
    return {};
}

}  // namespace lockboxd
