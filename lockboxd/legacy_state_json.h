// The JSON files lockboxd kept its state in before enforcer.db: grants.json,
// uids.json and sessions.json, each rewritten whole on every change. Only the
// one-time import in EnforcerStore reads them; nothing writes them any more.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "grant_registry.h"
#include "result.h"
#include "session_registry.h"

namespace lockboxd {

// {"version":1,"grants":[{token,state,installed_at,ended_at,sub,jti,exp}...],"revoked":[...]}
lockbox::Result<PersistedGrants> parse_legacy_grants(std::string_view text);
// {"version":1,"uids":{"name":uid,...}}; names valid, uids distinct (the range is
// checked where the map is loaded, against the configuration of that start).
lockbox::Result<std::vector<std::pair<std::string, uint32_t>>> parse_legacy_uids(std::string_view text);
// {"version":1,"sessions":[{id,user,uid,pid,tty,rhost,logind_session,grant_id,audit_session,opened_at}...]}
lockbox::Result<std::vector<Session>> parse_legacy_sessions(std::string_view text);

}  // namespace lockboxd
