// A request as the shared store keeps it (docs/fleet.md, "Keys and roles"): every
// field of a Request, times in microseconds, the token included. This is a
// storage format, not the bus's JSON (request_json.h), and it is read back
// from etcd, which other instances write: every field is checked on the way in,
// as a bus argument would be.
#pragma once

#include <string>

#include "request.h"
#include "result.h"

namespace lockbox::approval {

// A record larger than this is refused on read (etcd's own limit is 1.5 MiB).
constexpr size_t MAX_REQUEST_RECORD = 256 * 1024;

std::string request_to_record(const Request& r);
// Error code store-error naming the field when the record is malformed.
Result<Request> request_from_record(const std::string& record);

}  // namespace lockbox::approval
