// Boundary checks for everything a caller sends. Each failure is an Error with
// code "invalid-argument" whose message names the argument and what is expected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "clock.h"
#include "result.h"

namespace lockbox::approval {

struct NewRequest {
    std::string tenant;
    std::string ticket;
    std::vector<std::string> hosts;
    uint64_t duration_sec = 0;
    std::string reason;
    std::vector<std::string> ssh_keys;
    std::string engineer;     // "" = the caller
    uint64_t start_usec = 0;  // a later start (maintenance window); 0 = at the final approval
    std::string access;       // "" = the least privileged level (access_level.h)
};

constexpr size_t MAX_COMMENT = 1024;
// How far ahead a request may ask its window to start (request create --start).
constexpr usec_t MAX_START_AHEAD = 7 * 24 * 3600 * USEC_PER_SEC;

// tenant must be the one this service serves; duration 1 s .. max_grant.
Status validate_new_request(const NewRequest& req, const std::string& served_tenant, usec_t max_grant);
// A duration in seconds from the bus, 1 .. max_grant.
Status validate_duration(uint64_t duration_sec, usec_t max_grant);
Status validate_request_id(const std::string& id);
// Free text (comments, deny and revoke reasons): printable, bounded; required = non-empty.
Status validate_text(const char* what, const std::string& text, size_t max, bool required);
// "" (= all) or a state name.
Status validate_state_filter(const std::string& state);

}  // namespace lockbox::approval
