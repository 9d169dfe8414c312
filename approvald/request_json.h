// The one JSON shape of a request (docs/design.md §5 and docs/bus-api.md), shared by
// GetRequest, ListRequests and therefore `lockboxctl --json`. The token is not
// part of it: ExportGrant hands that out on its own.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "request.h"

namespace lockbox::approval {

nlohmann::json request_to_json(const Request& r, usec_t now);
// As many of rs, in their order, as fit max_bytes (a JSON array);
// *left_out, if given, says how many did not.
std::string requests_to_json(const std::vector<Request>& rs, usec_t now, size_t max_bytes, size_t* left_out = nullptr);

}  // namespace lockbox::approval
