#include "printable_text.h"

#include <algorithm>
#include <cstdint>

namespace lockbox {

namespace {

// Decodes one UTF-8 sequence at text[i]; returns its length, or 0 if it is not
// well-formed (overlong forms, surrogates and code points above U+10FFFF are
// refused, so one string cannot have two spellings).
size_t utf8_sequence(std::string_view text, size_t i, uint32_t& cp) {
    auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
    uint8_t b0 = byte(i);
    size_t len;
    uint32_t min;
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    } else if ((b0 & 0xe0) == 0xc0) {
        len = 2, cp = b0 & 0x1f, min = 0x80;
    } else if ((b0 & 0xf0) == 0xe0) {
        len = 3, cp = b0 & 0x0f, min = 0x800;
    } else if ((b0 & 0xf8) == 0xf0) {
        len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > text.size())
        return 0;
    for (size_t k = 1; k < len; k++) {
        uint8_t b = byte(i + k);
        if ((b & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

// Length of the printable character at text[i], 0 if there is none.
size_t printable_sequence(std::string_view text, size_t i) {
    uint32_t cp = 0;
    size_t len = utf8_sequence(text, i, cp);
    if (len == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
        return 0;
    return len;
}

}  // namespace

bool is_printable(std::string_view text) {
    for (size_t i = 0; i < text.size();) {
        size_t len = printable_sequence(text, i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

std::string printable(std::string_view text, size_t max, char replacement) {
    std::string out;
    out.reserve(std::min(text.size(), max) + 3);
    for (size_t i = 0; i < text.size();) {
        size_t len = printable_sequence(text, i);
        if (out.size() + (len ? len : 1) > max) {
            out += "...";
            break;
        }
        if (len == 0) {
            out += replacement;
            i++;
        } else {
            out.append(text, i, len);
            i += len;
        }
    }
    return out;
}

}  // namespace lockbox
