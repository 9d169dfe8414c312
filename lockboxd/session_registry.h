// Sessions pam_lockbox opened and has not closed yet. Persisted so that a
// restarted lockboxd still knows which terminals to warn and which logind
// sessions to end.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clock.h"
#include "result.h"

namespace lockboxd {

struct Session {
    std::string id;
    std::string user;
    uint32_t uid = 0;
    int32_t pid = 0;
    std::string tty;
    std::string rhost;
    std::string logind_session;
    std::string grant_id;
    uint32_t audit_session = UINT32_MAX;  // kernel audit session id; UINT32_MAX: unset
    lockbox::usec_t opened_at = 0;
};

class SessionRegistry {
public:
    // Stores the session under a fresh random id and returns it.
    std::string add(Session session);
    std::optional<Session> remove(const std::string& id);
    const Session* find(const std::string& id) const;
    std::vector<Session> of_user(const std::string& user) const;
    const std::map<std::string, Session>& all() const { return by_id_; }
    size_t size() const { return by_id_.size(); }

    std::string to_json() const;
    lockbox::Status load_json(std::string_view text);

private:
    std::map<std::string, Session> by_id_;
};

// 128 random bits as 32 lowercase hex digits.
std::string random_session_id();

}  // namespace lockboxd
