// Key material that is wiped (sodium_memzero) when it goes out of scope.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include <sodium.h>

namespace lockbox {

template <size_t N>
class SecretBytes {
public:
    SecretBytes() { bytes_.fill(0); }
    ~SecretBytes() { sodium_memzero(bytes_.data(), N); }
    SecretBytes(const SecretBytes& other) : bytes_(other.bytes_) {}
    SecretBytes& operator=(const SecretBytes& other) {
        bytes_ = other.bytes_;
        return *this;
    }
    uint8_t* data() { return bytes_.data(); }
    const uint8_t* data() const { return bytes_.data(); }
    static constexpr size_t size() { return N; }

private:
    std::array<uint8_t, N> bytes_;
};

}  // namespace lockbox
