// Unpadded base64url (RFC 4648 §5) as PASETO and PASERK use it. Decoding refuses
// padding, characters outside the alphabet and non-canonical trailing bits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace lockbox {

std::string base64url_encode(const uint8_t* data, size_t len);
std::string base64url_encode(std::string_view data);
Result<std::vector<uint8_t>> base64url_decode(std::string_view text);

}  // namespace lockbox
