// lockboxctl key generate --out DIR | key id FILE: local key handling, no bus.
#include <cstdio>
#include <memory>

#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "key_file.h"

namespace lockboxctl {
namespace {

struct KeyArgs {
    std::string out_dir;
    std::string file;
};

int run_generate(const KeyArgs& args) {
    auto kid = lockbox::generate_key_pair(args.out_dir);
    if (!kid)
        return fail(kid.error());
    std::printf("%s\n", kid->c_str());
    return EXIT_OK;
}

int run_id(const KeyArgs& args) {
    // Key files belong to root in production; a user may also inspect a key
    // file of their own (e.g. one just generated into their home directory).
    // Any other owner is refused by the loader with the owner named.
    struct stat st {};
    uid_t owner = ::geteuid();
    if (::lstat(args.file.c_str(), &st) == 0 && st.st_uid == 0)
        owner = 0;
    auto kid = lockbox::key_id_of_file(args.file, owner);
    if (!kid)
        return fail(kid.error());
    std::printf("%s\n", kid->c_str());
    return EXIT_OK;
}

}  // namespace

void register_key_verbs(CLI::App& app, Context& /*ctx*/, int& exit_code) {
    auto args = std::make_shared<KeyArgs>();
    auto* key = app.add_subcommand("key", "Create signing keys and show key ids");
    key->require_subcommand(1);

    auto* generate = key->add_subcommand(
        "generate", "Write DIR/signing.secret (0600) and DIR/signing.public (0644), print the key id");
    generate->add_option("--out", args->out_dir, "directory for the key pair (created 0700 if missing)")->required();
    generate->callback([args, &exit_code] { exit_code = run_generate(*args); });

    auto* id = key->add_subcommand("id", "Print the key id (k4.pid.…) of a public or secret key file");
    id->add_option("FILE", args->file, "k4.public or k4.secret key file")->required();
    id->callback([args, &exit_code] { exit_code = run_id(*args); });
}

}  // namespace lockboxctl
