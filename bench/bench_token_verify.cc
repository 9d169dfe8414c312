// Verification throughput of a full grant token (GrantVerifier::verify: split,
// base64url, footer and kid lookup, Ed25519, claims parsing and every policy
// check) against bare crypto_sign_verify_detached over the same PAE message,
// measured in the same run. The ratio is what matters; the target is >= 0.9.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <sodium.h>

#include "base64url.h"
#include "grant_verifier.h"
#include "paseto.h"

using namespace lockbox;

namespace {

GrantClaims bench_claims(usec_t now) {
    GrantClaims c;
    c.iss = "approval.example.com";
    c.sub = "alice";
    c.aud = "contoso";
    c.jti = "0f8fad5b-d9cb-469f-a165-70867728950e";
    c.iat = c.nbf = now / USEC_PER_SEC * USEC_PER_SEC;
    c.exp = c.nbf + 2 * 3600 * USEC_PER_SEC;
    c.hosts = {"db01", "db02", "web01.contoso.example"};
    c.ticket = "INC-12345";
    c.reason = "Replication lag on db01, investigate and restart the replica";
    c.ssh_keys = {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOQKkv+/BXTyW+VFVdbkhKDnbi0e3Lcm/yMDtNfpjDMn eng@example"};
    c.approved_by = {{"manager", "mgr", c.iat}, {"approver", "carol", c.iat}};
    return c;
}

// Runs both in alternating batches of 50 until `seconds` have passed, so load
// from other processes and frequency changes fall on both sides alike.
template <typename Raw, typename Full>
std::pair<double, double> interleaved_rates(Raw&& raw, Full&& full, double seconds) {
    using clock = std::chrono::steady_clock;
    constexpr int BATCH = 50;
    double raw_time = 0, full_time = 0;
    long batches = 0;
    const auto start = clock::now();
    while (std::chrono::duration<double>(clock::now() - start).count() < seconds) {
        auto t0 = clock::now();
        for (int i = 0; i < BATCH; ++i)
            raw();
        auto t1 = clock::now();
        for (int i = 0; i < BATCH; ++i)
            full();
        auto t2 = clock::now();
        raw_time += std::chrono::duration<double>(t1 - t0).count();
        full_time += std::chrono::duration<double>(t2 - t1).count();
        ++batches;
    }
    const double n = static_cast<double>(batches * BATCH);
    return {n / raw_time, n / full_time};
}

}  // namespace

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
    ensure_sodium_initialized();
    const SecretKey key = generate_secret_key();
    const PublicKey pk = key.public_key();
    const FakeClock clock(system_clock().now());
    TrustedKeys keys;
    keys.by_kid.emplace(paserk_pid(pk), pk);
    const GrantVerifier verifier(keys, VerifierPolicy{"contoso", "db01", 4 * 3600 * USEC_PER_SEC, 30 * USEC_PER_SEC},
                                 clock);
    const std::string token = sign_grant(key, bench_claims(clock.now()));
    if (verifier.verify(token).verdict != GrantVerdict::Allow) {
        std::fprintf(stderr, "bench: the benchmark grant does not verify\n");
        return 1;
    }

    // The exact message the full path verifies: PAE(header, payload, footer, "").
    const std::string footer = *paseto_v4_untrusted_footer(token);
    const size_t dot = token.find('.', 10);
    const auto body = *base64url_decode(std::string_view(token).substr(10, dot - 10));
    const std::string payload(body.begin(), body.end() - crypto_sign_BYTES);
    const std::string m2 = paseto_pae({"v4.public.", payload, footer, ""});
    const unsigned char* sig = body.data() + payload.size();

    volatile int sink = 0;
    const auto [raw, full] = interleaved_rates(
        [&] {
            sink = sink + crypto_sign_verify_detached(sig, reinterpret_cast<const unsigned char*>(m2.data()), m2.size(),
                                                      pk.bytes.data());
        },
        [&] { sink = sink + static_cast<int>(verifier.verify(token).verdict); }, seconds);
    std::printf("token bytes:                         %zu\n", token.size());
    std::printf("crypto_sign_verify_detached (raw):   %.0f verifications/s\n", raw);
    std::printf("GrantVerifier::verify (full token):  %.0f verifications/s\n", full);
    std::printf("ratio full/raw:                      %.3f (target >= 0.9)\n", full / raw);
    return 0;
}
