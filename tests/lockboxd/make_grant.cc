// Test signer: prints a grant token signed with a key made by
// `lockboxctl key generate`. Times are offsets in seconds from now (negative
// allowed) so integration tests get windows of a few seconds.
//   make_grant --key SECRET --sub NAME [--tenant T] [--host H]... [--nbf S] [--exp S]
//              [--jti UUID] [--ticket T] [--ssh-key LINE]... [--key-owner UID]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/random.h>
#include <vector>

#include "clock.h"
#include "grant_verifier.h"
#include "key_file.h"

namespace {

std::string random_uuid() {
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != sizeof b)
        std::abort();
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    char out[37];
    std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                  b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::string key_path, sub, tenant = "contoso", jti = random_uuid(), ticket = "INC-1";
    std::vector<std::string> hosts, ssh_keys;
    double nbf = -1, exp = 60;
    uid_t owner = 0;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "make_grant: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--key")
            key_path = next();
        else if (a == "--sub")
            sub = next();
        else if (a == "--tenant")
            tenant = next();
        else if (a == "--host")
            hosts.push_back(next());
        else if (a == "--nbf")
            nbf = std::atof(next().c_str());
        else if (a == "--exp")
            exp = std::atof(next().c_str());
        else if (a == "--jti")
            jti = next();
        else if (a == "--ticket")
            ticket = next();
        else if (a == "--ssh-key")
            ssh_keys.push_back(next());
        else if (a == "--key-owner")
            owner = static_cast<uid_t>(std::atoi(next().c_str()));
        else {
            std::fprintf(stderr, "make_grant: unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    if (key_path.empty() || sub.empty()) {
        std::fprintf(stderr, "make_grant: --key and --sub are required\n");
        return 2;
    }
    if (hosts.empty())
        hosts.push_back("db01");
    if (ssh_keys.empty())
        ssh_keys.push_back(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@lockbox");
    auto key = lockbox::load_secret_key_file(key_path, owner);
    if (!key) {
        std::fprintf(stderr, "make_grant: %s\n", key.error().message.c_str());
        return 1;
    }
    lockbox::usec_t now = lockbox::system_clock().now();
    lockbox::GrantClaims c;
    c.iss = "test-approvald";
    c.sub = sub;
    c.aud = tenant;
    c.jti = jti;
    c.nbf = now + static_cast<lockbox::usec_t>(nbf * lockbox::USEC_PER_SEC);
    c.iat = std::min(now, c.nbf);  // never after nbf, as approvald writes it
    c.exp = now + static_cast<lockbox::usec_t>(exp * lockbox::USEC_PER_SEC);
    c.hosts = hosts;
    c.ticket = ticket;
    c.reason = "integration test";
    c.ssh_keys = ssh_keys;
    c.approved_by = {{"manager", "mallory", c.iat}, {"approver", "alice", c.iat}};
    std::printf("%s\n", lockbox::sign_grant(*key, c).c_str());
    return 0;
}
