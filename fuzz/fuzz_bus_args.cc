// libFuzzer target for the approval service's bus argument validators: the
// first thing every Approval1 method does with what an unprivileged caller sent.
// The input is split on NUL bytes into the method's string arguments.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "names.h"
#include "request_validation.h"

using namespace lockbox;
using namespace lockbox::approval;

static std::vector<std::string> split_fields(const uint8_t* data, size_t size) {
    std::vector<std::string> out;
    std::string cur;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == 0) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(static_cast<char>(data[i]));
        }
    }
    out.push_back(cur);
    while (out.size() < 8)
        out.emplace_back();
    return out;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 65536)
        return 0;
    auto f = split_fields(data, size);
    NewRequest req;
    req.tenant = f[0];
    req.ticket = f[1];
    req.hosts = {f[2], f[3]};
    req.duration_sec = f[4].size() >= 8 ? 0 : f[4].size() * 1800;
    req.reason = f[5];
    req.ssh_keys = {f[6]};
    req.engineer = f[7];
    auto st = validate_new_request(req, "contoso", 4LL * 3600 * USEC_PER_SEC);
    if (st.ok()) {
        // Whatever passes must satisfy the core rules the token parser enforces.
        if (!is_valid_ticket(req.ticket) || !is_valid_host_name(req.hosts[0]) ||
            !is_valid_ssh_public_key(req.ssh_keys[0]))
            __builtin_trap();
    }
    (void)validate_request_id(f[0]);
    (void)validate_text("comment", f[1], MAX_COMMENT, true);
    (void)validate_state_filter(f[2]);
    (void)validate_duration(static_cast<uint64_t>(size) * 97, 4LL * 3600 * USEC_PER_SEC);
    (void)is_valid_user_name(f[3]);
    (void)is_valid_uuid(f[4]);
    return 0;
}
