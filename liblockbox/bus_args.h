// Reading method arguments with bounds, for both daemons: a string over its limit
// or an array with too many items is refused as invalid-argument before anything
// parses it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <systemd/sd-bus.h>

#include "result.h"

namespace lockbox {

Result<std::string> read_string_arg(sd_bus_message* m, const char* what, size_t max);
Result<std::vector<std::string>> read_string_array_arg(sd_bus_message* m, const char* what, size_t max_items,
                                                       size_t max_len);
Result<uint64_t> read_u64_arg(sd_bus_message* m, const char* what);
Result<uint32_t> read_u32_arg(sd_bus_message* m, const char* what);

// Reads arguments in order and keeps the first error, so a handler reads all of
// them and checks once.
class ArgReader {
public:
    explicit ArgReader(sd_bus_message* m) : m_(m) {}
    std::string str(const char* what, size_t max);
    std::vector<std::string> strv(const char* what, size_t max_items, size_t max_len);
    uint64_t u64(const char* what);
    uint32_t u32(const char* what);
    bool ok() const { return ok_; }
    const Error& error() const { return error_; }

private:
    sd_bus_message* m_;
    bool ok_ = true;
    Error error_;
};

}  // namespace lockbox
