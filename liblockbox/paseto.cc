#include "paseto.h"

#include <vector>

#include <sodium.h>

#include "base64url.h"

namespace lockbox {
namespace {

constexpr std::string_view HEADER = "v4.public.";
constexpr size_t SIG_BYTES = crypto_sign_BYTES;

void append_le64(std::string& out, uint64_t n) {
    // PAE clears the top bit so the length is also a valid signed 64-bit integer.
    n &= ~(uint64_t{1} << 63);
    for (int i = 0; i < 8; ++i) {
        out.push_back(static_cast<char>(n & 0xff));
        n >>= 8;
    }
}

struct Segments {
    std::string_view body;  // base64url text, not yet decoded
    std::string footer;     // decoded
};

// The only accepted shape is "v4.public." body ["." footer], both unpadded
// canonical base64url; the footer segment is present only when non-empty,
// exactly as the signer emits it. The body is decoded by the caller that
// needs it, so reading the footer does not pay for the whole token.
Result<Segments> split_token(std::string_view token) {
    if (token.size() > MAX_TOKEN_LENGTH)
        return make_error(Errc::Malformed, "token is longer than " + std::to_string(MAX_TOKEN_LENGTH) + " bytes");
    if (token.substr(0, HEADER.size()) != HEADER) {
        if (token.substr(0, 9) == "v4.local.")
            return make_error(Errc::Malformed, "token is v4.local, only v4.public is accepted");
        return make_error(Errc::Malformed, "token is not PASETO v4.public");
    }
    std::string_view rest = token.substr(HEADER.size());
    Segments seg;
    seg.body = rest;
    std::string_view footer_text;
    const size_t dot = rest.find('.');
    if (dot != std::string_view::npos) {
        seg.body = rest.substr(0, dot);
        footer_text = rest.substr(dot + 1);
        if (footer_text.empty())
            return make_error(Errc::Malformed, "token ends with a '.' but has no footer");
        if (footer_text.find('.') != std::string_view::npos)
            return make_error(Errc::Malformed, "token has more than four segments");
    }
    if (seg.body.empty())
        return make_error(Errc::Malformed, "token has an empty body");
    // 64 signature bytes take at least 86 characters.
    if (seg.body.size() < (SIG_BYTES * 4 + 2) / 3)
        return make_error(Errc::Malformed, "token body is shorter than a signature");
    if (!footer_text.empty()) {
        auto footer = base64url_decode(footer_text);
        if (!footer)
            return make_error(Errc::Malformed, "token footer: " + footer.error().message);
        seg.footer.assign(footer->begin(), footer->end());
    }
    return seg;
}

std::string pae_for(std::string_view message, std::string_view footer, std::string_view implicit) {
    return paseto_pae({HEADER, message, footer, implicit});
}

}  // namespace

std::string paseto_pae(std::initializer_list<std::string_view> pieces) {
    size_t total = 8;
    for (auto p : pieces)
        total += 8 + p.size();
    std::string out;
    out.reserve(total);
    append_le64(out, pieces.size());
    for (auto p : pieces) {
        append_le64(out, p.size());
        out.append(p);
    }
    return out;
}

std::string paseto_v4_sign(const SecretKey& key, std::string_view payload, std::string_view footer,
                           std::string_view implicit) {
    ensure_sodium_initialized();
    const std::string m2 = pae_for(payload, footer, implicit);
    std::string body(payload);
    body.resize(payload.size() + SIG_BYTES);
    crypto_sign_detached(reinterpret_cast<unsigned char*>(body.data()) + payload.size(), nullptr,
                         reinterpret_cast<const unsigned char*>(m2.data()), m2.size(), key.bytes.data());
    std::string token(HEADER);
    token += base64url_encode(body);
    if (!footer.empty()) {
        token += '.';
        token += base64url_encode(footer);
    }
    return token;
}

Result<std::string> paseto_v4_untrusted_footer(std::string_view token) {
    auto seg = split_token(token);
    if (!seg)
        return seg.error();
    return std::move(seg->footer);
}

namespace {

// The decoded body (message, then signature) of a token's segments.
Result<std::vector<uint8_t>> signed_body(std::string_view body_b64) {
    auto body = base64url_decode(body_b64);
    if (!body)
        return make_error(Errc::Malformed, "token body: " + body.error().message);
    if (body->size() < SIG_BYTES)
        return make_error(Errc::Malformed, "token body is shorter than a signature");
    return body;
}

}  // namespace

Result<PasetoMessage> paseto_v4_verify(const PublicKey& key, std::string_view token, std::string_view implicit) {
    ensure_sodium_initialized();
    auto seg = split_token(token);
    if (!seg)
        return seg.error();
    auto body = signed_body(seg->body);
    if (!body)
        return body.error();
    const size_t msg_len = body->size() - SIG_BYTES;
    std::string_view message(reinterpret_cast<const char*>(body->data()), msg_len);
    const std::string m2 = pae_for(message, seg->footer, implicit);
    if (crypto_sign_verify_detached(body->data() + msg_len, reinterpret_cast<const unsigned char*>(m2.data()),
                                    m2.size(), key.bytes.data()) != 0)
        return make_error(Errc::BadSignature, "token signature does not verify with the key");
    PasetoMessage out;
    out.payload.assign(message);
    out.footer = std::move(seg->footer);
    return out;
}

Result<PasetoMessage> paseto_v4_unverified(std::string_view token) {
    auto seg = split_token(token);
    if (!seg)
        return seg.error();
    auto body = signed_body(seg->body);
    if (!body)
        return body.error();
    PasetoMessage out;
    out.payload.assign(reinterpret_cast<const char*>(body->data()), body->size() - SIG_BYTES);
    out.footer = std::move(seg->footer);
    return out;
}

}  // namespace lockbox
