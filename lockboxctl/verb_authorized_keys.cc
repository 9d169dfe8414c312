// lockboxctl authorized-keys USER, for sshd's AuthorizedKeysCommand. sshd waits
// for it on every login attempt, so the bus call has a 1 s timeout, and a user
// without a grant (or with a name lockbox would never manage) gets nothing and
// exit 0, as sshd expects for "no keys".
#include <cstdio>

#include "enforcer_client.h"
#include "names.h"

namespace lockboxctl {

namespace {

constexpr uint64_t AUTHORIZED_KEYS_TIMEOUT_USEC = 1'000'000;

int authorized_keys(Context& ctx, const std::string& user) {
    if (!lockbox::is_valid_user_name(user))
        return EXIT_OK;
    auto bus = ctx.system_bus();
    if (!bus)
        return fail(bus.error());
    CallFailure f;
    auto lines = call_for_string(
        bus->get(), ENFORCER, "AuthorizedKeys",
        [&user](sd_bus_message* m) { return sd_bus_message_append(m, "s", user.c_str()); },
        AUTHORIZED_KEYS_TIMEOUT_USEC, &f);
    if (!lines)
        return fail(lines.error());
    std::fputs(lines->c_str(), stdout);
    return EXIT_OK;
}

}  // namespace

void register_authorized_keys_verb(CLI::App& app, Context& ctx, int& exit_code) {
    static std::string user;
    auto* cmd = app.add_subcommand("authorized-keys", "Print USER's SSH keys of active grants (for sshd)");
    cmd->add_option("USER", user, "login name")->required();
    cmd->callback([&ctx, &exit_code] { exit_code = authorized_keys(ctx, user); });
}

}  // namespace lockboxctl
