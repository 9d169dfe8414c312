#include "base64url.h"

#include <array>

namespace lockbox {
namespace {

constexpr char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> make_decode_table() {
    std::array<int8_t, 256> table{};
    for (auto& v : table)
        v = -1;
    for (int i = 0; i < 64; ++i)
        table[static_cast<uint8_t>(ALPHABET[i])] = static_cast<int8_t>(i);
    return table;
}

constexpr std::array<int8_t, 256> DECODE = make_decode_table();

}  // namespace

std::string base64url_encode(const uint8_t* data, size_t len) {
    std::string out;
    out.reserve((len * 4 + 2) / 3);
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
        out.push_back(ALPHABET[(v >> 18) & 63]);
        out.push_back(ALPHABET[(v >> 12) & 63]);
        out.push_back(ALPHABET[(v >> 6) & 63]);
        out.push_back(ALPHABET[v & 63]);
    }
    const size_t rest = len - i;
    if (rest == 1) {
        uint32_t v = uint32_t{data[i]} << 16;
        out.push_back(ALPHABET[(v >> 18) & 63]);
        out.push_back(ALPHABET[(v >> 12) & 63]);
    } else if (rest == 2) {
        uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
        out.push_back(ALPHABET[(v >> 18) & 63]);
        out.push_back(ALPHABET[(v >> 12) & 63]);
        out.push_back(ALPHABET[(v >> 6) & 63]);
    }
    return out;
}

std::string base64url_encode(std::string_view data) {
    return base64url_encode(reinterpret_cast<const uint8_t*>(data.data()), data.size());
}

Result<std::vector<uint8_t>> base64url_decode(std::string_view text) {
    const size_t groups = text.size() / 4;
    const size_t rest = text.size() % 4;
    // A length of 1 mod 4 cannot come from any byte string.
    if (rest == 1)
        return make_error(Errc::Malformed, "base64url text has an impossible length");
    std::vector<uint8_t> out(groups * 3 + (rest ? rest - 1 : 0));
    const auto* in = reinterpret_cast<const uint8_t*>(text.data());
    uint8_t* o = out.data();
    // Whole groups first, four characters at a time: tokens are verified on
    // every login, and this loop is most of what verification adds to Ed25519.
    int8_t bad = 0;
    for (size_t g = 0; g < groups; ++g, in += 4, o += 3) {
        const int8_t a = DECODE[in[0]], b = DECODE[in[1]], c = DECODE[in[2]], d = DECODE[in[3]];
        bad = static_cast<int8_t>(bad | a | b | c | d);
        const uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                           (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(d);
        o[0] = static_cast<uint8_t>(v >> 16);
        o[1] = static_cast<uint8_t>(v >> 8);
        o[2] = static_cast<uint8_t>(v);
    }
    uint32_t leftover = 0;
    if (rest >= 2) {
        const int8_t a = DECODE[in[0]], b = DECODE[in[1]];
        const int8_t c = rest == 3 ? DECODE[in[2]] : 0;
        bad = static_cast<int8_t>(bad | a | b | c);
        const uint32_t v =
            (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) | (static_cast<uint32_t>(c) << 6);
        o[0] = static_cast<uint8_t>(v >> 16);
        if (rest == 3)
            o[1] = static_cast<uint8_t>(v >> 8);
        leftover = rest == 2 ? (v & 0xffff) : (v & 0xff);
    }
    if (bad < 0)
        return make_error(Errc::Malformed, "base64url text contains a character outside the alphabet");
    // Leftover bits must be zero: otherwise two texts would decode to the same
    // bytes, and a signed token could be altered without touching its signature.
    if (leftover != 0)
        return make_error(Errc::Malformed, "base64url text has non-canonical trailing bits");
    return out;
}

}  // namespace lockbox
