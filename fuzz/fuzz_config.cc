// libFuzzer entry over the config parser: any bytes must give a Config or an
// Error, never a crash, a hang or an unbounded message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto r = lockbox::parse_config(text, "fuzz.conf");
    if (r) {
        // Invariants every accepted config keeps.
        if (r->uid_min >= r->uid_max || r->max_grant <= 0 || r->state_dir.empty() || r->state_dir[0] != '/')
            std::abort();
    } else if (r.error().message.size() > 64 * 1024) {
        std::abort();  // problem lists are capped
    }
    return 0;
}
