#include "bus_args.h"

#include <cstring>

namespace lockbox {

namespace {
Error bad(const char* what, const std::string& why) {
    return make_error(Errc::InvalidArgument, std::string(what) + ": " + why);
}
}  // namespace

Result<std::string> read_string_arg(sd_bus_message* m, const char* what, size_t max) {
    const char* s = nullptr;
    int r = sd_bus_message_read_basic(m, 's', &s);
    if (r <= 0 || !s)
        return bad(what, "missing or not a string");
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return bad(what, "longer than " + std::to_string(max) + " bytes");
    return std::string(s, n);
}

Result<std::vector<std::string>> read_string_array_arg(sd_bus_message* m, const char* what, size_t max_items,
                                                       size_t max_len) {
    int r = sd_bus_message_enter_container(m, 'a', "s");
    if (r <= 0)
        return bad(what, "missing or not a string array");
    std::vector<std::string> out;
    for (;;) {
        const char* s = nullptr;
        r = sd_bus_message_read_basic(m, 's', &s);
        if (r < 0)
            return bad(what, "malformed array");
        if (r == 0)
            break;
        if (out.size() >= max_items)
            return bad(what, "more than " + std::to_string(max_items) + " items");
        size_t n = strnlen(s, max_len + 1);
        if (n > max_len)
            return bad(what, "item longer than " + std::to_string(max_len) + " bytes");
        out.emplace_back(s, n);
    }
    if (sd_bus_message_exit_container(m) < 0)
        return bad(what, "malformed array");
    return out;
}

Result<uint64_t> read_u64_arg(sd_bus_message* m, const char* what) {
    uint64_t v = 0;
    if (sd_bus_message_read_basic(m, 't', &v) <= 0)
        return bad(what, "missing or not an unsigned 64-bit integer");
    return v;
}

Result<uint32_t> read_u32_arg(sd_bus_message* m, const char* what) {
    uint32_t v = 0;
    if (sd_bus_message_read_basic(m, 'u', &v) <= 0)
        return bad(what, "missing or not an unsigned 32-bit integer");
    return v;
}

std::string ArgReader::str(const char* what, size_t max) {
    if (!ok_)
        return {};
    auto r = read_string_arg(m_, what, max);
    if (!r) {
        ok_ = false;
        error_ = r.error();
        return {};
    }
    return std::move(*r);
}

std::vector<std::string> ArgReader::strv(const char* what, size_t max_items, size_t max_len) {
    if (!ok_)
        return {};
    auto r = read_string_array_arg(m_, what, max_items, max_len);
    if (!r) {
        ok_ = false;
        error_ = r.error();
        return {};
    }
    return std::move(*r);
}

uint64_t ArgReader::u64(const char* what) {
    if (!ok_)
        return 0;
    auto r = read_u64_arg(m_, what);
    if (!r) {
        ok_ = false;
        error_ = r.error();
        return 0;
    }
    return *r;
}

uint32_t ArgReader::u32(const char* what) {
    if (!ok_)
        return 0;
    auto r = read_u32_arg(m_, what);
    if (!r) {
        ok_ = false;
        error_ = r.error();
        return 0;
    }
    return *r;
}

}  // namespace lockbox
