#include "session_registry.h"

#include <sys/random.h>

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
    changes_.written.insert(id);
    return id;
}

std::optional<Session> SessionRegistry::remove(const std::string& id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end())
        return std::nullopt;
    Session s = std::move(it->second);
    by_id_.erase(it);
    changes_.written.erase(id);
    changes_.removed.insert(id);
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

bool is_valid_session(const Session& s) {
    return s.id.size() == 32 && s.id.find_first_not_of("0123456789abcdef") == std::string::npos &&
           lockbox::is_valid_user_name(s.user);
}

std::vector<std::string> SessionRegistry::restore(std::vector<Session> sessions) {
    std::vector<std::string> problems;
    by_id_.clear();
    changes_ = {};
    for (auto& s : sessions) {
        if (!is_valid_session(s)) {
            problems.push_back("session \"" + s.id + "\" of \"" + s.user + "\" has a bad id or user; dropped");
            changes_.removed.insert(s.id);
            continue;
        }
        std::string id = s.id;
        by_id_.emplace(std::move(id), std::move(s));
    }
    return problems;
}

}  // namespace lockboxd
