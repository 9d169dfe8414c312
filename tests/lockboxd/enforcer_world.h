// The world of the Enforcer unit tests: a temp directory with a trusted key
// and a stranger's, a FakeClock, a configuration pointing inside it, and an
// Enforcer loaded and recovered from it (no bus, no event loop). Include after
// cmocka (it asserts) and errc_assert.h.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "enforcer.h"
#include "key_file.h"
#include "temp_dir.h"

using namespace lockboxd;
using lockbox::USEC_PER_SEC;

namespace {

constexpr usec_t T0 = 1'800'000'000 * USEC_PER_SEC;
const char* SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl eng@laptop";

struct World {
    TempDir dir;
    lockbox::FakeClock clock{T0};
    lockbox::Config config;
    std::unique_ptr<lockbox::SecretKey> key;
    std::unique_ptr<lockbox::SecretKey> stranger;
    int serial = 0;

    World() {
        auto kid = lockbox::generate_key_pair(dir / "keys");
        assert_true(kid.ok());
        auto other = lockbox::generate_key_pair(dir / "other");
        assert_true(other.ok());
        mkdir((dir / "trusted.d").c_str(), 0755);
        assert_int_equal(link((dir / "keys/signing.public").c_str(), (dir / "trusted.d/signing.public").c_str()), 0);
        key = std::make_unique<lockbox::SecretKey>(
            *lockbox::load_secret_key_file(dir / "keys/signing.secret", geteuid()));
        stranger = std::make_unique<lockbox::SecretKey>(
            *lockbox::load_secret_key_file(dir / "other/signing.secret", geteuid()));
        config = lockbox::default_config();
        config.tenant = "contoso";
        config.host_name = "db01";
        config.trusted_dir = dir / "trusted.d";
        config.key_owner = geteuid();
        config.state_dir = dir / "state";
        config.runtime_dir = dir / "run";
        config.home_base = dir / "home";
        config.record = false;
        config.max_grant = 4 * 3600 * USEC_PER_SEC;
        config.kill_grace = 100'000;
    }

    lockbox::GrantClaims claims(const std::string& sub, usec_t nbf, usec_t exp) {
        lockbox::GrantClaims c;
        c.iss = "approvald";
        c.sub = sub;
        c.aud = "contoso";
        char jti[40];
        std::snprintf(jti, sizeof jti, "00000000-0000-4000-8000-%012d", ++serial);
        c.jti = jti;
        c.iat = nbf;
        c.nbf = nbf;
        c.exp = exp;
        c.hosts = {"db01"};
        c.ticket = "INC-7";
        c.reason = "disk full";
        c.ssh_keys = {SSH_KEY};
        c.approved_by = {{"manager", "mallory", nbf}, {"approver", "alice", nbf}};
        return c;
    }
    std::string token(const lockbox::GrantClaims& c) { return lockbox::sign_grant(*key, c); }

    std::unique_ptr<Enforcer> enforcer() {
        auto e = std::make_unique<Enforcer>(config, clock, nullptr);
        e->leftover_places = {{}, "", "", false};
        e->proc_root = dir / "no-proc";  // the range sweep must not reach this machine's processes
        auto st = e->load();
        if (!st.ok())
            fail_msg("load: %s", st.error().message.c_str());
        e->recover();
        return e;
    }
};

void expect_refused(Enforcer& e, const std::string& token, const char* verdict,
                    lockbox::Errc code = lockbox::Errc::GrantRefused) {
    auto r = e.install(token, "root", "test");
    assert_false(r.ok());
    assert_errc(r.error().code, code);
    if (r.error().message.rfind(verdict, 0) != 0)
        fail_msg("expected verdict %s, got: %s", verdict, r.error().message.c_str());
}

}  // namespace
