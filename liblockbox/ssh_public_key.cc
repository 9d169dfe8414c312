// is_valid_ssh_public_key (names.h): apart from the other names because it
// decodes base64 with libsodium, which the PAM module, that uses the names
// but not this, must not load at every login.
#include "names.h"

#include <array>
#include <cstdint>
#include <vector>

#include <sodium.h>

namespace lockbox {
namespace {

struct KeyTypeSpec {
    std::string_view name;
    size_t fields;           // SSH strings after the type name
    bool ed25519;            // first field is a 32-byte public key
    std::string_view curve;  // first field names the curve
};

// Security-key types carry the FIDO application string as their last field.
constexpr std::array<KeyTypeSpec, 7> SSH_KEY_TYPES = {{
    {"ssh-ed25519", 1, true, ""},
    {"ssh-rsa", 2, false, ""},  // e, n
    {"ecdsa-sha2-nistp256", 2, false, "nistp256"},
    {"ecdsa-sha2-nistp384", 2, false, "nistp384"},
    {"ecdsa-sha2-nistp521", 2, false, "nistp521"},
    {"sk-ssh-ed25519@openssh.com", 2, true, ""},
    {"sk-ecdsa-sha2-nistp256@openssh.com", 3, false, "nistp256"},
}};

const KeyTypeSpec* key_type_spec(std::string_view type) {
    for (const auto& t : SSH_KEY_TYPES)
        if (t.name == type)
            return &t;
    return nullptr;
}

}  // namespace

bool is_valid_ssh_public_key(std::string_view line) {
    if (line.empty() || line.size() > MAX_SSH_KEY)
        return false;
    size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos)
        return false;
    std::string_view type = line.substr(0, sp1);
    if (!key_type_spec(type))
        return false;
    std::string_view rest = line.substr(sp1 + 1);
    size_t sp2 = rest.find(' ');
    std::string_view body = rest.substr(0, sp2);
    if (sp2 != std::string_view::npos) {
        // May be empty: ssh-keygen -C '' writes "type body " with a trailing space.
        std::string_view comment = rest.substr(sp2 + 1);
        for (char c : comment)
            if (c < 0x20 || c > 0x7e)
                return false;
    }
    if (body.empty() || body.size() % 4 != 0)
        return false;

    // Standard base64 with padding, as OpenSSH writes it; libsodium refuses
    // characters outside the alphabet and misplaced padding.
    std::vector<uint8_t> blob(body.size() / 4 * 3);
    size_t blob_len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(blob.data(), blob.size(), body.data(), body.size(), nullptr, &blob_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != body.data() + body.size())
        return false;
    // The blob is a sequence of SSH strings (uint32 length, bytes): the key type,
    // which must be the type the line claims, then the type's key fields, and
    // nothing after them, so a truncated or padded key is refused here rather
    // than by sshd later.
    std::vector<std::string_view> parts;
    for (size_t at = 0; at < blob_len;) {
        if (blob_len - at < 4 || parts.size() == 4)
            return false;
        uint32_t n =
            (uint32_t{blob[at]} << 24) | (uint32_t{blob[at + 1]} << 16) | (uint32_t{blob[at + 2]} << 8) | blob[at + 3];
        at += 4;
        if (n > blob_len - at)
            return false;
        parts.emplace_back(reinterpret_cast<const char*>(blob.data() + at), n);
        at += n;
    }
    if (parts.empty() || parts[0] != type)
        return false;
    const auto* spec = key_type_spec(type);
    if (parts.size() != 1 + spec->fields)
        return false;
    for (size_t i = 1; i < parts.size(); i++)
        if (parts[i].empty())
            return false;
    if (spec->ed25519 && parts[1].size() != 32)
        return false;
    if (!spec->curve.empty() && parts[1] != spec->curve)
        return false;
    return true;
}

}  // namespace lockbox
