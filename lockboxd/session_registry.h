// Sessions pam_lockbox opened and has not closed yet. Persisted so that a
// restarted lockboxd still knows which terminals to warn and which logind
// sessions to end.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "clock.h"

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

// A 32-hex-digit id and a valid engineer name: what a persisted session must have.
bool is_valid_session(const Session& s);

// What changed since the last clear_changes(), so that persisting costs the change.
struct SessionChanges {
    std::set<std::string> written;  // added
    std::set<std::string> removed;
    bool empty() const { return written.empty() && removed.empty(); }
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

    // Replaces the sessions with persisted ones. An invalid entry is left out
    // (and counted as removed, so the next persist deletes it); the returned
    // lines say which.
    std::vector<std::string> restore(std::vector<Session> sessions);

    const SessionChanges& changes() const { return changes_; }
    void clear_changes() { changes_ = {}; }

private:
    std::map<std::string, Session> by_id_;
    SessionChanges changes_;
};

// 128 random bits as 32 lowercase hex digits.
std::string random_session_id();

}  // namespace lockboxd
