// Character-set and length rules for every name that crosses a boundary. One
// definition, used by the token parser, the daemons, the modules' writers and the CLI.
// Every predicate refuses the empty string and values over its MAX_* length.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace lockbox {

constexpr size_t MAX_USER_NAME = 32;  // useradd's limit on Debian
constexpr size_t MAX_HOST_NAME = 253;
constexpr size_t MAX_TENANT_NAME = 64;
constexpr size_t MAX_TICKET = 64;
constexpr size_t MAX_REASON = 1024;
constexpr size_t MAX_SSH_KEY = 8192;
constexpr size_t MAX_HOSTS = 256;
constexpr size_t MAX_SSH_KEYS = 16;

// POSIX portable login names as Debian's useradd accepts by default:
// [a-z_][a-z0-9_-]*[$]? without the '$'; no uppercase, no dots.
bool is_valid_user_name(std::string_view name);
// RFC 1123 host names, lowercase letters, digits, '-' and '.'.
bool is_valid_host_name(std::string_view name);
// A grant's target: a host name, or "@group" for every host whose [Host]
// Groups= names group (docs/tokens.md); group as is_valid_user_name.
bool is_valid_host_target(std::string_view target);
// Does a grant for targets cover the host host, member of groups?
bool targets_cover_host(const std::vector<std::string>& targets, std::string_view host,
                        const std::vector<std::string>& groups);
// [a-z0-9][a-z0-9._-]*
bool is_valid_tenant_name(std::string_view name);
// Printable ASCII without spaces: "INC-12345", "SR#991".
bool is_valid_ticket(std::string_view ticket);
// Printable UTF-8 text, no control characters but for none at all, bounded.
bool is_valid_reason(std::string_view text);
// "ssh-ed25519 AAAA... [comment]" and the other OpenSSH public key types; no
// options prefix, no newlines, base64 body that decodes.
bool is_valid_ssh_public_key(std::string_view line);
// Canonical lowercase UUID (8-4-4-4-12 hex).
bool is_valid_uuid(std::string_view id);

}  // namespace lockbox
