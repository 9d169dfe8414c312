#include "module_options.h"

#include <cstdlib>
#include <string_view>

#include "lockbox_build_config.h"

namespace lockbox::pam {
namespace {

Result<usec_t> parse_timeout(std::string_view value) {
    // Whole seconds only: "2", not "2s" or "1.5", so a typo cannot become a
    // different budget than the administrator meant.
    if (value.empty() || value.size() > 3)
        return make_error(Errc::BadConfig, "timeout= expects whole seconds between " + std::to_string(MIN_TIMEOUT_SEC) +
                                               " and " + std::to_string(MAX_TIMEOUT_SEC));
    long seconds = 0;
    for (char c : value) {
        if (c < '0' || c > '9')
            return make_error(Errc::BadConfig, "timeout= expects whole seconds, got '" + std::string(value) + "'");
        seconds = seconds * 10 + (c - '0');
    }
    if (seconds < MIN_TIMEOUT_SEC || seconds > MAX_TIMEOUT_SEC)
        return make_error(Errc::BadConfig, "timeout=" + std::string(value) + " is outside " +
                                               std::to_string(MIN_TIMEOUT_SEC) + ".." +
                                               std::to_string(MAX_TIMEOUT_SEC) + " seconds");
    return seconds * USEC_PER_SEC;
}

// Local group names as groupadd accepts them, plus upper case and dots that
// directory-backed groups use; nothing that could split a log line.
bool is_valid_group_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() == '-')
        return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                  c == '.';
        if (!ok)
            return false;
    }
    return true;
}

}  // namespace

Result<ModuleOptions> parse_module_options(int argc, const char** argv) {
    ModuleOptions options;
    for (int i = 0; i < argc; ++i) {
        if (argv == nullptr || argv[i] == nullptr)
            continue;
        std::string_view arg(argv[i]);
        if (arg.size() > MAX_OPTION_VALUE)
            return make_error(Errc::BadConfig, "option longer than " + std::to_string(MAX_OPTION_VALUE) + " bytes");
        if (arg == "debug") {
            options.debug = true;
        } else if (arg.starts_with("timeout=")) {
            auto timeout = parse_timeout(arg.substr(8));
            if (!timeout)
                return timeout.error();
            options.timeout = *timeout;
        } else if (arg.starts_with("config=")) {
            std::string_view path = arg.substr(7);
            if (path.empty() || path.front() != '/')
                return make_error(Errc::BadConfig, "config= expects an absolute path, got '" + std::string(path) + "'");
            options.config_path = std::string(path);
        } else if (arg.starts_with("gate_group=")) {
            std::string_view group = arg.substr(11);
            if (!is_valid_group_name(group))
                return make_error(Errc::BadConfig,
                                  "gate_group= expects a group name, got '" + std::string(group) + "'");
            options.gate_group = std::string(group);
        } else {
            options.unknown.emplace_back(arg);
        }
    }
    return options;
}

std::string resolve_config_path(const ModuleOptions& options) {
    if (!options.config_path.empty())
        return options.config_path;
    const char* env = secure_getenv("LOCKBOX_CONFIG");
    if (env != nullptr && env[0] == '/')
        return env;
    return LOCKBOX_CONFIG_PATH;
}

}  // namespace lockbox::pam
